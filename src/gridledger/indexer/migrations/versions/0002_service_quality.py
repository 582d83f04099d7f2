"""service quality reports of GridManagement

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07 06:11:50.814032
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import gridledger.indexer.schema

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "grid_service_quality_reported",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("zone_id", sa.BigInteger(), nullable=True),
        sa.Column("day_start", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.Column("bus_minutes_outside5_percent", sa.BigInteger(), nullable=True),
        sa.Column("bus_minutes_outside10_percent", sa.BigInteger(), nullable=True),
        sa.Column("interruptions", sa.BigInteger(), nullable=True),
        sa.Column("interruption_minutes", sa.BigInteger(), nullable=True),
        sa.Column(
            "customer_minutes_interrupted",
            gridledger.indexer.schema.Uint(precision=78, scale=0),
            nullable=True,
        ),
        sa.PrimaryKeyConstraint("block_number", "log_index", name=op.f("pk_grid_service_quality_reported")),
    )
    with op.batch_alter_table("grid_service_quality_reported", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_grid_service_quality_reported_block_time"), ["block_time"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_grid_service_quality_reported_day_start"), ["day_start"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_grid_service_quality_reported_zone_id"), ["zone_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("grid_service_quality_reported", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_grid_service_quality_reported_zone_id"))
        batch_op.drop_index(batch_op.f("ix_grid_service_quality_reported_day_start"))
        batch_op.drop_index(batch_op.f("ix_grid_service_quality_reported_block_time"))

    op.drop_table("grid_service_quality_reported")
