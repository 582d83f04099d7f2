"""Alembic's environment for the index: migrations run on the connection `db.migrate` hands
over (`config.attributes["connection"]`), against the tables of `gridledger.indexer.schema`."""

from __future__ import annotations

from alembic import context

from gridledger.indexer.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
