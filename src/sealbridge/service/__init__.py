"""The platform around the core: persistence, audit trail, workflow, API."""
