"""The validation report: a typed model, rendered to JSON and HTML."""
