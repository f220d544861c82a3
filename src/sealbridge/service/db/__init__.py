"""Persistence: SQLAlchemy models, the store and its migrations."""
