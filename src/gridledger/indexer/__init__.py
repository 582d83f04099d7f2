"""Chain events → SQL tables (SQLAlchemy 2 + Alembic), reorg-safe and idempotent."""
