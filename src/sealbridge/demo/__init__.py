"""The end-to-end cross-border demo: the mission in one command."""
