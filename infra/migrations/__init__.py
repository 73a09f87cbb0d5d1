"""Alembic migrations of the ledger database (SQLite and PostgreSQL)."""
