"""Alembic migrations of the index (`gridledger.indexer.db.migrate` runs them)."""
