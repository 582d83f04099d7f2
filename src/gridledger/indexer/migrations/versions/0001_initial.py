"""the index: a table per event of every contract, fills, blocks and state

Revision ID: 0001
Revises:
Create Date: 2026-12-06 23:38:18.053170
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import gridledger.indexer.schema

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "carbon_approval_for_all",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("account", sa.String(length=42), nullable=True),
        sa.Column("operator", sa.String(length=42), nullable=True),
        sa.Column("approved", sa.Boolean(), nullable=True),
        sa.PrimaryKeyConstraint("block_number", "log_index", name=op.f("pk_carbon_approval_for_all")),
    )
    with op.batch_alter_table("carbon_approval_for_all", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_carbon_approval_for_all_account"), ["account"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_carbon_approval_for_all_block_time"), ["block_time"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_carbon_approval_for_all_operator"), ["operator"], unique=False)

    op.create_table(
        "carbon_authority_updated",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("authority", sa.String(length=42), nullable=True),
        sa.PrimaryKeyConstraint("block_number", "log_index", name=op.f("pk_carbon_authority_updated")),
    )
    with op.batch_alter_table("carbon_authority_updated", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_carbon_authority_updated_block_time"), ["block_time"], unique=False
        )

    op.create_table(
        "carbon_certificate_issued",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("certificate_id", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.Column("generator", sa.String(length=42), nullable=True),
        sa.Column("device_id", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.Column("previous_sequence", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.Column("last_sequence", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.Column("vintage_start", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.Column("vintage_end", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.Column("energy_wh", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.Column("co2e_grams", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.Column("expires_at", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.PrimaryKeyConstraint("block_number", "log_index", name=op.f("pk_carbon_certificate_issued")),
    )
    with op.batch_alter_table("carbon_certificate_issued", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_carbon_certificate_issued_block_time"), ["block_time"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_carbon_certificate_issued_certificate_id"), ["certificate_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_carbon_certificate_issued_device_id"), ["device_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_carbon_certificate_issued_generator"), ["generator"], unique=False
        )

    op.create_table(
        "carbon_certificate_terms",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("certificate_id", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.Column("region", sa.BigInteger(), nullable=True),
        sa.Column("energy_source", sa.BigInteger(), nullable=True),
        sa.Column(
            "emission_factor_grams_per_kwh",
            gridledger.indexer.schema.Uint(precision=78, scale=0),
            nullable=True,
        ),
        sa.Column("methodology", sa.String(length=66), nullable=True),
        sa.Column("document_hash", sa.String(length=66), nullable=True),
        sa.Column("document_uri", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("block_number", "log_index", name=op.f("pk_carbon_certificate_terms")),
    )
    with op.batch_alter_table("carbon_certificate_terms", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_carbon_certificate_terms_block_time"), ["block_time"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_carbon_certificate_terms_certificate_id"), ["certificate_id"], unique=False
        )

    op.create_table(
        "carbon_credit_lifetime_set",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("lifetime_seconds", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.PrimaryKeyConstraint("block_number", "log_index", name=op.f("pk_carbon_credit_lifetime_set")),
    )
    with op.batch_alter_table("carbon_credit_lifetime_set", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_carbon_credit_lifetime_set_block_time"), ["block_time"], unique=False
        )

    op.create_table(
        "carbon_credits_expired",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("certificate_id", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.Column("outstanding_grams", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.Column("expires_at", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.PrimaryKeyConstraint("block_number", "log_index", name=op.f("pk_carbon_credits_expired")),
    )
    with op.batch_alter_table("carbon_credits_expired", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_carbon_credits_expired_block_time"), ["block_time"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_carbon_credits_expired_certificate_id"), ["certificate_id"], unique=False
        )

    op.create_table(
        "carbon_credits_retired",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("retirement_id", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.Column("certificate_id", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.Column("retiree", sa.String(length=42), nullable=True),
        sa.Column("beneficiary", sa.String(length=42), nullable=True),
        sa.Column("co2e_grams", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.Column("retired_at", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.Column("purpose", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("block_number", "log_index", name=op.f("pk_carbon_credits_retired")),
    )
    with op.batch_alter_table("carbon_credits_retired", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_carbon_credits_retired_block_time"), ["block_time"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_carbon_credits_retired_certificate_id"), ["certificate_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_carbon_credits_retired_retiree"), ["retiree"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_carbon_credits_retired_retirement_id"), ["retirement_id"], unique=False
        )

    op.create_table(
        "carbon_emission_factor_set",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("region", sa.BigInteger(), nullable=True),
        sa.Column("grams_per_kwh", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.PrimaryKeyConstraint("block_number", "log_index", name=op.f("pk_carbon_emission_factor_set")),
    )
    with op.batch_alter_table("carbon_emission_factor_set", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_carbon_emission_factor_set_block_time"), ["block_time"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_carbon_emission_factor_set_region"), ["region"], unique=False)

    op.create_table(
        "carbon_exchange_authority_updated",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("authority", sa.String(length=42), nullable=True),
        sa.PrimaryKeyConstraint(
            "block_number", "log_index", name=op.f("pk_carbon_exchange_authority_updated")
        ),
    )
    with op.batch_alter_table("carbon_exchange_authority_updated", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_carbon_exchange_authority_updated_block_time"), ["block_time"], unique=False
        )

    op.create_table(
        "carbon_exchange_bought",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("offer_id", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.Column("buyer", sa.String(length=42), nullable=True),
        sa.Column("seller", sa.String(length=42), nullable=True),
        sa.Column("certificate_id", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.Column("co2e_grams", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.Column("payment_units", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.PrimaryKeyConstraint("block_number", "log_index", name=op.f("pk_carbon_exchange_bought")),
    )
    with op.batch_alter_table("carbon_exchange_bought", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_carbon_exchange_bought_block_time"), ["block_time"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_carbon_exchange_bought_buyer"), ["buyer"], unique=False)
        batch_op.create_index(batch_op.f("ix_carbon_exchange_bought_offer_id"), ["offer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_carbon_exchange_bought_seller"), ["seller"], unique=False)

    op.create_table(
        "carbon_exchange_cancelled",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("offer_id", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.Column("returned_grams", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.Column("expired", sa.Boolean(), nullable=True),
        sa.PrimaryKeyConstraint("block_number", "log_index", name=op.f("pk_carbon_exchange_cancelled")),
    )
    with op.batch_alter_table("carbon_exchange_cancelled", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_carbon_exchange_cancelled_block_time"), ["block_time"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_carbon_exchange_cancelled_offer_id"), ["offer_id"], unique=False)

    op.create_table(
        "carbon_exchange_offered",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("offer_id", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.Column("seller", sa.String(length=42), nullable=True),
        sa.Column("certificate_id", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.Column("co2e_grams", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.Column("price_per_tonne", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.PrimaryKeyConstraint("block_number", "log_index", name=op.f("pk_carbon_exchange_offered")),
    )
    with op.batch_alter_table("carbon_exchange_offered", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_carbon_exchange_offered_block_time"), ["block_time"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_carbon_exchange_offered_certificate_id"), ["certificate_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_carbon_exchange_offered_offer_id"), ["offer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_carbon_exchange_offered_seller"), ["seller"], unique=False)

    op.create_table(
        "carbon_exchange_paused",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("account", sa.String(length=42), nullable=True),
        sa.PrimaryKeyConstraint("block_number", "log_index", name=op.f("pk_carbon_exchange_paused")),
    )
    with op.batch_alter_table("carbon_exchange_paused", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_carbon_exchange_paused_block_time"), ["block_time"], unique=False
        )

    op.create_table(
        "carbon_exchange_unpaused",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("account", sa.String(length=42), nullable=True),
        sa.PrimaryKeyConstraint("block_number", "log_index", name=op.f("pk_carbon_exchange_unpaused")),
    )
    with op.batch_alter_table("carbon_exchange_unpaused", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_carbon_exchange_unpaused_block_time"), ["block_time"], unique=False
        )

    op.create_table(
        "carbon_paused",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("account", sa.String(length=42), nullable=True),
        sa.PrimaryKeyConstraint("block_number", "log_index", name=op.f("pk_carbon_paused")),
    )
    with op.batch_alter_table("carbon_paused", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_carbon_paused_block_time"), ["block_time"], unique=False)

    op.create_table(
        "carbon_pool_approval",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("owner", sa.String(length=42), nullable=True),
        sa.Column("spender", sa.String(length=42), nullable=True),
        sa.Column("value", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.PrimaryKeyConstraint("block_number", "log_index", name=op.f("pk_carbon_pool_approval")),
    )
    with op.batch_alter_table("carbon_pool_approval", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_carbon_pool_approval_block_time"), ["block_time"], unique=False)
        batch_op.create_index(batch_op.f("ix_carbon_pool_approval_owner"), ["owner"], unique=False)
        batch_op.create_index(batch_op.f("ix_carbon_pool_approval_spender"), ["spender"], unique=False)

    op.create_table(
        "carbon_pool_deposited",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("depositor", sa.String(length=42), nullable=True),
        sa.Column("certificate_id", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.Column("co2e_grams", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.PrimaryKeyConstraint("block_number", "log_index", name=op.f("pk_carbon_pool_deposited")),
    )
    with op.batch_alter_table("carbon_pool_deposited", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_carbon_pool_deposited_block_time"), ["block_time"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_carbon_pool_deposited_certificate_id"), ["certificate_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_carbon_pool_deposited_depositor"), ["depositor"], unique=False)

    op.create_table(
        "carbon_pool_expired_written_off",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("certificate_id", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.Column("co2e_grams", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.PrimaryKeyConstraint("block_number", "log_index", name=op.f("pk_carbon_pool_expired_written_off")),
    )
    with op.batch_alter_table("carbon_pool_expired_written_off", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_carbon_pool_expired_written_off_block_time"), ["block_time"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_carbon_pool_expired_written_off_certificate_id"), ["certificate_id"], unique=False
        )

    op.create_table(
        "carbon_pool_redeemed",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("redeemer", sa.String(length=42), nullable=True),
        sa.Column("certificate_id", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.Column("co2e_grams", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.Column("fee_grams", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.PrimaryKeyConstraint("block_number", "log_index", name=op.f("pk_carbon_pool_redeemed")),
    )
    with op.batch_alter_table("carbon_pool_redeemed", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_carbon_pool_redeemed_block_time"), ["block_time"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_carbon_pool_redeemed_certificate_id"), ["certificate_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_carbon_pool_redeemed_redeemer"), ["redeemer"], unique=False)

    op.create_table(
        "carbon_pool_retired_from_pool",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("holder", sa.String(length=42), nullable=True),
        sa.Column("certificate_id", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.Column("retirement_id", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.Column("co2e_grams", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.PrimaryKeyConstraint("block_number", "log_index", name=op.f("pk_carbon_pool_retired_from_pool")),
    )
    with op.batch_alter_table("carbon_pool_retired_from_pool", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_carbon_pool_retired_from_pool_block_time"), ["block_time"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_carbon_pool_retired_from_pool_certificate_id"), ["certificate_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_carbon_pool_retired_from_pool_holder"), ["holder"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_carbon_pool_retired_from_pool_retirement_id"), ["retirement_id"], unique=False
        )

    op.create_table(
        "carbon_pool_transfer",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("from", sa.String(length=42), nullable=True),
        sa.Column("to", sa.String(length=42), nullable=True),
        sa.Column("value", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.PrimaryKeyConstraint("block_number", "log_index", name=op.f("pk_carbon_pool_transfer")),
    )
    with op.batch_alter_table("carbon_pool_transfer", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_carbon_pool_transfer_block_time"), ["block_time"], unique=False)
        batch_op.create_index(batch_op.f("ix_carbon_pool_transfer_from"), ["from"], unique=False)
        batch_op.create_index(batch_op.f("ix_carbon_pool_transfer_to"), ["to"], unique=False)

    op.create_table(
        "carbon_transfer_batch",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("operator", sa.String(length=42), nullable=True),
        sa.Column("from", sa.String(length=42), nullable=True),
        sa.Column("to", sa.String(length=42), nullable=True),
        sa.Column("ids", sa.JSON(), nullable=True),
        sa.Column("values", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("block_number", "log_index", name=op.f("pk_carbon_transfer_batch")),
    )
    with op.batch_alter_table("carbon_transfer_batch", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_carbon_transfer_batch_block_time"), ["block_time"], unique=False)
        batch_op.create_index(batch_op.f("ix_carbon_transfer_batch_from"), ["from"], unique=False)
        batch_op.create_index(batch_op.f("ix_carbon_transfer_batch_operator"), ["operator"], unique=False)
        batch_op.create_index(batch_op.f("ix_carbon_transfer_batch_to"), ["to"], unique=False)

    op.create_table(
        "carbon_transfer_single",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("operator", sa.String(length=42), nullable=True),
        sa.Column("from", sa.String(length=42), nullable=True),
        sa.Column("to", sa.String(length=42), nullable=True),
        sa.Column("id", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.Column("value", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.PrimaryKeyConstraint("block_number", "log_index", name=op.f("pk_carbon_transfer_single")),
    )
    with op.batch_alter_table("carbon_transfer_single", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_carbon_transfer_single_block_time"), ["block_time"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_carbon_transfer_single_from"), ["from"], unique=False)
        batch_op.create_index(batch_op.f("ix_carbon_transfer_single_operator"), ["operator"], unique=False)
        batch_op.create_index(batch_op.f("ix_carbon_transfer_single_to"), ["to"], unique=False)

    op.create_table(
        "carbon_unpaused",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("account", sa.String(length=42), nullable=True),
        sa.PrimaryKeyConstraint("block_number", "log_index", name=op.f("pk_carbon_unpaused")),
    )
    with op.batch_alter_table("carbon_unpaused", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_carbon_unpaused_block_time"), ["block_time"], unique=False)

    op.create_table(
        "carbon_uri",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("value", sa.Text(), nullable=True),
        sa.Column("id", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.PrimaryKeyConstraint("block_number", "log_index", name=op.f("pk_carbon_uri")),
    )
    with op.batch_alter_table("carbon_uri", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_carbon_uri_block_time"), ["block_time"], unique=False)
        batch_op.create_index(batch_op.f("ix_carbon_uri_id"), ["id"], unique=False)

    op.create_table(
        "events",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("contract", sa.String(length=32), nullable=False),
        sa.Column("event", sa.String(length=64), nullable=True),
        sa.Column("table_name", sa.String(length=64), nullable=True),
        sa.Column("raw", sa.Text(), nullable=True),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("block_number", "log_index", name=op.f("pk_events")),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_events_confirmed_block_number"), ["confirmed", "block_number"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_events_event"), ["event"], unique=False)

    op.create_table(
        "grid_authority_updated",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("authority", sa.String(length=42), nullable=True),
        sa.PrimaryKeyConstraint("block_number", "log_index", name=op.f("pk_grid_authority_updated")),
    )
    with op.batch_alter_table("grid_authority_updated", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_grid_authority_updated_block_time"), ["block_time"], unique=False
        )

    op.create_table(
        "grid_connection_capacity_set",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("node_id", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.Column("capacity_w", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("block_number", "log_index", name=op.f("pk_grid_connection_capacity_set")),
    )
    with op.batch_alter_table("grid_connection_capacity_set", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_grid_connection_capacity_set_block_time"), ["block_time"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_grid_connection_capacity_set_node_id"), ["node_id"], unique=False
        )

    op.create_table(
        "grid_energy_transfer_rejected",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("from_node", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.Column("to_node", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.Column("interval_start", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.Column("energy_wh", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.Column("reason", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("block_number", "log_index", name=op.f("pk_grid_energy_transfer_rejected")),
    )
    with op.batch_alter_table("grid_energy_transfer_rejected", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_grid_energy_transfer_rejected_block_time"), ["block_time"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_grid_energy_transfer_rejected_from_node"), ["from_node"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_grid_energy_transfer_rejected_interval_start"), ["interval_start"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_grid_energy_transfer_rejected_to_node"), ["to_node"], unique=False
        )

    op.create_table(
        "grid_energy_transfer_reserved",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("from_node", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.Column("to_node", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.Column("interval_start", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.Column("energy_wh", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.Column("fee_units", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.PrimaryKeyConstraint("block_number", "log_index", name=op.f("pk_grid_energy_transfer_reserved")),
    )
    with op.batch_alter_table("grid_energy_transfer_reserved", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_grid_energy_transfer_reserved_block_time"), ["block_time"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_grid_energy_transfer_reserved_from_node"), ["from_node"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_grid_energy_transfer_reserved_interval_start"), ["interval_start"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_grid_energy_transfer_reserved_to_node"), ["to_node"], unique=False
        )

    op.create_table(
        "grid_load_updated",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("node_id", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.Column("zone_id", sa.BigInteger(), nullable=True),
        sa.Column("load_w", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.Column("zone_load_w", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.PrimaryKeyConstraint("block_number", "log_index", name=op.f("pk_grid_load_updated")),
    )
    with op.batch_alter_table("grid_load_updated", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_grid_load_updated_block_time"), ["block_time"], unique=False)
        batch_op.create_index(batch_op.f("ix_grid_load_updated_node_id"), ["node_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_grid_load_updated_zone_id"), ["zone_id"], unique=False)

    op.create_table(
        "grid_losses_reported",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("zone_id", sa.BigInteger(), nullable=True),
        sa.Column("interval_start", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.Column("losses_wh", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.PrimaryKeyConstraint("block_number", "log_index", name=op.f("pk_grid_losses_reported")),
    )
    with op.batch_alter_table("grid_losses_reported", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_grid_losses_reported_block_time"), ["block_time"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_grid_losses_reported_interval_start"), ["interval_start"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_grid_losses_reported_zone_id"), ["zone_id"], unique=False)

    op.create_table(
        "grid_node_assigned",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("node_id", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.Column("zone_id", sa.BigInteger(), nullable=True),
        sa.Column("meter_device_id", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.PrimaryKeyConstraint("block_number", "log_index", name=op.f("pk_grid_node_assigned")),
    )
    with op.batch_alter_table("grid_node_assigned", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_grid_node_assigned_block_time"), ["block_time"], unique=False)
        batch_op.create_index(batch_op.f("ix_grid_node_assigned_node_id"), ["node_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_grid_node_assigned_zone_id"), ["zone_id"], unique=False)

    op.create_table(
        "grid_node_registered",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("node_id", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.Column("node", sa.String(length=42), nullable=True),
        sa.Column("node_type", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("block_number", "log_index", name=op.f("pk_grid_node_registered")),
    )
    with op.batch_alter_table("grid_node_registered", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_grid_node_registered_block_time"), ["block_time"], unique=False)
        batch_op.create_index(batch_op.f("ix_grid_node_registered_node"), ["node"], unique=False)
        batch_op.create_index(batch_op.f("ix_grid_node_registered_node_id"), ["node_id"], unique=False)

    op.create_table(
        "grid_paused",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("account", sa.String(length=42), nullable=True),
        sa.PrimaryKeyConstraint("block_number", "log_index", name=op.f("pk_grid_paused")),
    )
    with op.batch_alter_table("grid_paused", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_grid_paused_block_time"), ["block_time"], unique=False)

    op.create_table(
        "grid_peak_parameters_set",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("peak_node_cap_wh", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.Column("normal_fee_per_kwh", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.Column("peak_fee_per_kwh", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.PrimaryKeyConstraint("block_number", "log_index", name=op.f("pk_grid_peak_parameters_set")),
    )
    with op.batch_alter_table("grid_peak_parameters_set", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_grid_peak_parameters_set_block_time"), ["block_time"], unique=False
        )

    op.create_table(
        "grid_unpaused",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("account", sa.String(length=42), nullable=True),
        sa.PrimaryKeyConstraint("block_number", "log_index", name=op.f("pk_grid_unpaused")),
    )
    with op.batch_alter_table("grid_unpaused", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_grid_unpaused_block_time"), ["block_time"], unique=False)

    op.create_table(
        "grid_zone_capacity_set",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("zone_id", sa.BigInteger(), nullable=True),
        sa.Column("capacity_wh", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.PrimaryKeyConstraint("block_number", "log_index", name=op.f("pk_grid_zone_capacity_set")),
    )
    with op.batch_alter_table("grid_zone_capacity_set", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_grid_zone_capacity_set_block_time"), ["block_time"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_grid_zone_capacity_set_zone_id"), ["zone_id"], unique=False)

    op.create_table(
        "grid_zone_created",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("zone_id", sa.BigInteger(), nullable=True),
        sa.Column("parent_zone_id", sa.BigInteger(), nullable=True),
        sa.Column("capacity_wh", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.PrimaryKeyConstraint("block_number", "log_index", name=op.f("pk_grid_zone_created")),
    )
    with op.batch_alter_table("grid_zone_created", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_grid_zone_created_block_time"), ["block_time"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_grid_zone_created_parent_zone_id"), ["parent_zone_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_grid_zone_created_zone_id"), ["zone_id"], unique=False)

    op.create_table(
        "grid_zone_state_changed",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("zone_id", sa.BigInteger(), nullable=True),
        sa.Column("from", sa.BigInteger(), nullable=True),
        sa.Column("to", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("block_number", "log_index", name=op.f("pk_grid_zone_state_changed")),
    )
    with op.batch_alter_table("grid_zone_state_changed", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_grid_zone_state_changed_block_time"), ["block_time"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_grid_zone_state_changed_zone_id"), ["zone_id"], unique=False)

    op.create_table(
        "indexed_blocks",
        sa.Column("number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.String(length=66), nullable=False),
        sa.Column("parent_hash", sa.String(length=66), nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.Column("log_count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("number", name=op.f("pk_indexed_blocks")),
    )
    op.create_table(
        "indexer_state",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("chain_id", sa.BigInteger(), nullable=False),
        sa.Column("deployment", sa.JSON(), nullable=False),
        sa.Column("start_block", sa.BigInteger(), nullable=False),
        sa.Column("cursor_block", sa.BigInteger(), nullable=False),
        sa.Column("head_block", sa.BigInteger(), nullable=False),
        sa.Column("confirmed_block", sa.BigInteger(), nullable=False),
        sa.Column("confirmation_depth", sa.Integer(), nullable=False),
        sa.Column("reorgs", sa.Integer(), nullable=False),
        sa.Column("deepest_reorg", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_indexer_state")),
    )
    op.create_table(
        "manager_operation_canceled",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("operation_id", sa.String(length=66), nullable=True),
        sa.Column("nonce", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("block_number", "log_index", name=op.f("pk_manager_operation_canceled")),
    )
    with op.batch_alter_table("manager_operation_canceled", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_manager_operation_canceled_block_time"), ["block_time"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_manager_operation_canceled_nonce"), ["nonce"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_manager_operation_canceled_operation_id"), ["operation_id"], unique=False
        )

    op.create_table(
        "manager_operation_executed",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("operation_id", sa.String(length=66), nullable=True),
        sa.Column("nonce", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("block_number", "log_index", name=op.f("pk_manager_operation_executed")),
    )
    with op.batch_alter_table("manager_operation_executed", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_manager_operation_executed_block_time"), ["block_time"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_manager_operation_executed_nonce"), ["nonce"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_manager_operation_executed_operation_id"), ["operation_id"], unique=False
        )

    op.create_table(
        "manager_operation_scheduled",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("operation_id", sa.String(length=66), nullable=True),
        sa.Column("nonce", sa.BigInteger(), nullable=True),
        sa.Column("schedule", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.Column("caller", sa.String(length=42), nullable=True),
        sa.Column("target", sa.String(length=42), nullable=True),
        sa.Column("data", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("block_number", "log_index", name=op.f("pk_manager_operation_scheduled")),
    )
    with op.batch_alter_table("manager_operation_scheduled", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_manager_operation_scheduled_block_time"), ["block_time"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_manager_operation_scheduled_nonce"), ["nonce"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_manager_operation_scheduled_operation_id"), ["operation_id"], unique=False
        )

    op.create_table(
        "manager_role_admin_changed",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("role_id", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.Column("admin", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.PrimaryKeyConstraint("block_number", "log_index", name=op.f("pk_manager_role_admin_changed")),
    )
    with op.batch_alter_table("manager_role_admin_changed", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_manager_role_admin_changed_admin"), ["admin"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_manager_role_admin_changed_block_time"), ["block_time"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_manager_role_admin_changed_role_id"), ["role_id"], unique=False)

    op.create_table(
        "manager_role_grant_delay_changed",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("role_id", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.Column("delay", sa.BigInteger(), nullable=True),
        sa.Column("since", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.PrimaryKeyConstraint(
            "block_number", "log_index", name=op.f("pk_manager_role_grant_delay_changed")
        ),
    )
    with op.batch_alter_table("manager_role_grant_delay_changed", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_manager_role_grant_delay_changed_block_time"), ["block_time"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_manager_role_grant_delay_changed_role_id"), ["role_id"], unique=False
        )

    op.create_table(
        "manager_role_granted",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("role_id", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.Column("account", sa.String(length=42), nullable=True),
        sa.Column("delay", sa.BigInteger(), nullable=True),
        sa.Column("since", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.Column("new_member", sa.Boolean(), nullable=True),
        sa.PrimaryKeyConstraint("block_number", "log_index", name=op.f("pk_manager_role_granted")),
    )
    with op.batch_alter_table("manager_role_granted", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_manager_role_granted_account"), ["account"], unique=False)
        batch_op.create_index(batch_op.f("ix_manager_role_granted_block_time"), ["block_time"], unique=False)
        batch_op.create_index(batch_op.f("ix_manager_role_granted_role_id"), ["role_id"], unique=False)

    op.create_table(
        "manager_role_guardian_changed",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("role_id", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.Column("guardian", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.PrimaryKeyConstraint("block_number", "log_index", name=op.f("pk_manager_role_guardian_changed")),
    )
    with op.batch_alter_table("manager_role_guardian_changed", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_manager_role_guardian_changed_block_time"), ["block_time"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_manager_role_guardian_changed_guardian"), ["guardian"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_manager_role_guardian_changed_role_id"), ["role_id"], unique=False
        )

    op.create_table(
        "manager_role_label",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("role_id", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.Column("label", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("block_number", "log_index", name=op.f("pk_manager_role_label")),
    )
    with op.batch_alter_table("manager_role_label", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_manager_role_label_block_time"), ["block_time"], unique=False)
        batch_op.create_index(batch_op.f("ix_manager_role_label_role_id"), ["role_id"], unique=False)

    op.create_table(
        "manager_role_revoked",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("role_id", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.Column("account", sa.String(length=42), nullable=True),
        sa.PrimaryKeyConstraint("block_number", "log_index", name=op.f("pk_manager_role_revoked")),
    )
    with op.batch_alter_table("manager_role_revoked", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_manager_role_revoked_account"), ["account"], unique=False)
        batch_op.create_index(batch_op.f("ix_manager_role_revoked_block_time"), ["block_time"], unique=False)
        batch_op.create_index(batch_op.f("ix_manager_role_revoked_role_id"), ["role_id"], unique=False)

    op.create_table(
        "manager_target_admin_delay_updated",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("target", sa.String(length=42), nullable=True),
        sa.Column("delay", sa.BigInteger(), nullable=True),
        sa.Column("since", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.PrimaryKeyConstraint(
            "block_number", "log_index", name=op.f("pk_manager_target_admin_delay_updated")
        ),
    )
    with op.batch_alter_table("manager_target_admin_delay_updated", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_manager_target_admin_delay_updated_block_time"), ["block_time"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_manager_target_admin_delay_updated_target"), ["target"], unique=False
        )

    op.create_table(
        "manager_target_closed",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("target", sa.String(length=42), nullable=True),
        sa.Column("closed", sa.Boolean(), nullable=True),
        sa.PrimaryKeyConstraint("block_number", "log_index", name=op.f("pk_manager_target_closed")),
    )
    with op.batch_alter_table("manager_target_closed", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_manager_target_closed_block_time"), ["block_time"], unique=False)
        batch_op.create_index(batch_op.f("ix_manager_target_closed_target"), ["target"], unique=False)

    op.create_table(
        "manager_target_function_role_updated",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("target", sa.String(length=42), nullable=True),
        sa.Column("selector", sa.String(length=66), nullable=True),
        sa.Column("role_id", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.PrimaryKeyConstraint(
            "block_number", "log_index", name=op.f("pk_manager_target_function_role_updated")
        ),
    )
    with op.batch_alter_table("manager_target_function_role_updated", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_manager_target_function_role_updated_block_time"), ["block_time"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_manager_target_function_role_updated_role_id"), ["role_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_manager_target_function_role_updated_target"), ["target"], unique=False
        )

    op.create_table(
        "market_authority_updated",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("authority", sa.String(length=42), nullable=True),
        sa.PrimaryKeyConstraint("block_number", "log_index", name=op.f("pk_market_authority_updated")),
    )
    with op.batch_alter_table("market_authority_updated", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_market_authority_updated_block_time"), ["block_time"], unique=False
        )

    op.create_table(
        "market_eip712_domain_changed",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("block_number", "log_index", name=op.f("pk_market_eip712_domain_changed")),
    )
    with op.batch_alter_table("market_eip712_domain_changed", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_market_eip712_domain_changed_block_time"), ["block_time"], unique=False
        )

    op.create_table(
        "market_energy_deposited",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("trader", sa.String(length=42), nullable=True),
        sa.Column("energy_wh", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.PrimaryKeyConstraint("block_number", "log_index", name=op.f("pk_market_energy_deposited")),
    )
    with op.batch_alter_table("market_energy_deposited", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_market_energy_deposited_block_time"), ["block_time"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_market_energy_deposited_trader"), ["trader"], unique=False)

    op.create_table(
        "market_energy_withdrawn",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("trader", sa.String(length=42), nullable=True),
        sa.Column("energy_wh", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.PrimaryKeyConstraint("block_number", "log_index", name=op.f("pk_market_energy_withdrawn")),
    )
    with op.batch_alter_table("market_energy_withdrawn", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_market_energy_withdrawn_block_time"), ["block_time"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_market_energy_withdrawn_trader"), ["trader"], unique=False)

    op.create_table(
        "market_fills",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("fill_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("interval_start", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=False),
        sa.Column("order_hash", sa.String(length=66), nullable=False),
        sa.Column("trader", sa.String(length=42), nullable=False),
        sa.Column("side", sa.String(length=4), nullable=False),
        sa.Column("filled_wh", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=False),
        sa.Column("payment_units", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=False),
        sa.Column("grid_fee_units", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.Column(
            "clearing_price_per_kwh", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=False
        ),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("block_number", "log_index", "fill_index", name=op.f("pk_market_fills")),
    )
    with op.batch_alter_table("market_fills", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_market_fills_block_time"), ["block_time"], unique=False)
        batch_op.create_index(batch_op.f("ix_market_fills_interval_start"), ["interval_start"], unique=False)
        batch_op.create_index(batch_op.f("ix_market_fills_trader"), ["trader"], unique=False)

    op.create_table(
        "market_gate_closed",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("interval_start", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.Column("orders_commitment", sa.String(length=66), nullable=True),
        sa.Column("deadline", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.PrimaryKeyConstraint("block_number", "log_index", name=op.f("pk_market_gate_closed")),
    )
    with op.batch_alter_table("market_gate_closed", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_market_gate_closed_block_time"), ["block_time"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_market_gate_closed_interval_start"), ["interval_start"], unique=False
        )

    op.create_table(
        "market_gate_released",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("interval_start", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.PrimaryKeyConstraint("block_number", "log_index", name=op.f("pk_market_gate_released")),
    )
    with op.batch_alter_table("market_gate_released", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_market_gate_released_block_time"), ["block_time"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_market_gate_released_interval_start"), ["interval_start"], unique=False
        )

    op.create_table(
        "market_grid_fee_set",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("collector", sa.String(length=42), nullable=True),
        sa.Column("fee_per_kwh", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.PrimaryKeyConstraint("block_number", "log_index", name=op.f("pk_market_grid_fee_set")),
    )
    with op.batch_alter_table("market_grid_fee_set", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_market_grid_fee_set_block_time"), ["block_time"], unique=False)
        batch_op.create_index(batch_op.f("ix_market_grid_fee_set_collector"), ["collector"], unique=False)

    op.create_table(
        "market_grid_guard_set",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("guard", sa.String(length=42), nullable=True),
        sa.PrimaryKeyConstraint("block_number", "log_index", name=op.f("pk_market_grid_guard_set")),
    )
    with op.batch_alter_table("market_grid_guard_set", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_market_grid_guard_set_block_time"), ["block_time"], unique=False)
        batch_op.create_index(batch_op.f("ix_market_grid_guard_set_guard"), ["guard"], unique=False)

    op.create_table(
        "market_interval_settled",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("interval_start", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.Column("pricing", sa.BigInteger(), nullable=True),
        sa.Column(
            "clearing_price_per_kwh", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True
        ),
        sa.Column("volume_wh", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.Column("collector_units", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.Column("book_hash", sa.String(length=66), nullable=True),
        sa.Column("order_hashes", sa.JSON(), nullable=True),
        sa.Column("traders", sa.JSON(), nullable=True),
        sa.Column("fills", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("block_number", "log_index", name=op.f("pk_market_interval_settled")),
    )
    with op.batch_alter_table("market_interval_settled", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_market_interval_settled_block_time"), ["block_time"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_market_interval_settled_interval_start"), ["interval_start"], unique=False
        )

    op.create_table(
        "market_nonces_invalidated",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("trader", sa.String(length=42), nullable=True),
        sa.Column("word_position", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.Column("mask", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.PrimaryKeyConstraint("block_number", "log_index", name=op.f("pk_market_nonces_invalidated")),
    )
    with op.batch_alter_table("market_nonces_invalidated", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_market_nonces_invalidated_block_time"), ["block_time"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_market_nonces_invalidated_trader"), ["trader"], unique=False)

    op.create_table(
        "market_paused",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("account", sa.String(length=42), nullable=True),
        sa.PrimaryKeyConstraint("block_number", "log_index", name=op.f("pk_market_paused")),
    )
    with op.batch_alter_table("market_paused", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_market_paused_block_time"), ["block_time"], unique=False)

    op.create_table(
        "market_payment_deposited",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("trader", sa.String(length=42), nullable=True),
        sa.Column("units", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.PrimaryKeyConstraint("block_number", "log_index", name=op.f("pk_market_payment_deposited")),
    )
    with op.batch_alter_table("market_payment_deposited", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_market_payment_deposited_block_time"), ["block_time"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_market_payment_deposited_trader"), ["trader"], unique=False)

    op.create_table(
        "market_payment_withdrawn",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("trader", sa.String(length=42), nullable=True),
        sa.Column("units", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.PrimaryKeyConstraint("block_number", "log_index", name=op.f("pk_market_payment_withdrawn")),
    )
    with op.batch_alter_table("market_payment_withdrawn", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_market_payment_withdrawn_block_time"), ["block_time"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_market_payment_withdrawn_trader"), ["trader"], unique=False)

    op.create_table(
        "market_unpaused",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("account", sa.String(length=42), nullable=True),
        sa.PrimaryKeyConstraint("block_number", "log_index", name=op.f("pk_market_unpaused")),
    )
    with op.batch_alter_table("market_unpaused", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_market_unpaused_block_time"), ["block_time"], unique=False)

    op.create_table(
        "multisig_eip712_domain_changed",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("block_number", "log_index", name=op.f("pk_multisig_eip712_domain_changed")),
    )
    with op.batch_alter_table("multisig_eip712_domain_changed", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_multisig_eip712_domain_changed_block_time"), ["block_time"], unique=False
        )

    op.create_table(
        "multisig_erc7913_signer_added",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("signers", sa.String(length=66), nullable=True),
        sa.PrimaryKeyConstraint("block_number", "log_index", name=op.f("pk_multisig_erc7913_signer_added")),
    )
    with op.batch_alter_table("multisig_erc7913_signer_added", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_multisig_erc7913_signer_added_block_time"), ["block_time"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_multisig_erc7913_signer_added_signers"), ["signers"], unique=False
        )

    op.create_table(
        "multisig_erc7913_signer_removed",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("signers", sa.String(length=66), nullable=True),
        sa.PrimaryKeyConstraint("block_number", "log_index", name=op.f("pk_multisig_erc7913_signer_removed")),
    )
    with op.batch_alter_table("multisig_erc7913_signer_removed", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_multisig_erc7913_signer_removed_block_time"), ["block_time"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_multisig_erc7913_signer_removed_signers"), ["signers"], unique=False
        )

    op.create_table(
        "multisig_erc7913_threshold_set",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("threshold", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.PrimaryKeyConstraint("block_number", "log_index", name=op.f("pk_multisig_erc7913_threshold_set")),
    )
    with op.batch_alter_table("multisig_erc7913_threshold_set", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_multisig_erc7913_threshold_set_block_time"), ["block_time"], unique=False
        )

    op.create_table(
        "multisig_operation_executed",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("nonce", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.Column("target", sa.String(length=42), nullable=True),
        sa.Column("value", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.Column("data", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("block_number", "log_index", name=op.f("pk_multisig_operation_executed")),
    )
    with op.batch_alter_table("multisig_operation_executed", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_multisig_operation_executed_block_time"), ["block_time"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_multisig_operation_executed_nonce"), ["nonce"], unique=False)
        batch_op.create_index(batch_op.f("ix_multisig_operation_executed_target"), ["target"], unique=False)

    op.create_table(
        "payment_token_approval",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("owner", sa.String(length=42), nullable=True),
        sa.Column("spender", sa.String(length=42), nullable=True),
        sa.Column("value", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.PrimaryKeyConstraint("block_number", "log_index", name=op.f("pk_payment_token_approval")),
    )
    with op.batch_alter_table("payment_token_approval", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_payment_token_approval_block_time"), ["block_time"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_payment_token_approval_owner"), ["owner"], unique=False)
        batch_op.create_index(batch_op.f("ix_payment_token_approval_spender"), ["spender"], unique=False)

    op.create_table(
        "payment_token_eip712_domain_changed",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint(
            "block_number", "log_index", name=op.f("pk_payment_token_eip712_domain_changed")
        ),
    )
    with op.batch_alter_table("payment_token_eip712_domain_changed", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_payment_token_eip712_domain_changed_block_time"), ["block_time"], unique=False
        )

    op.create_table(
        "payment_token_ownership_transferred",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("previous_owner", sa.String(length=42), nullable=True),
        sa.Column("new_owner", sa.String(length=42), nullable=True),
        sa.PrimaryKeyConstraint(
            "block_number", "log_index", name=op.f("pk_payment_token_ownership_transferred")
        ),
    )
    with op.batch_alter_table("payment_token_ownership_transferred", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_payment_token_ownership_transferred_block_time"), ["block_time"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_payment_token_ownership_transferred_new_owner"), ["new_owner"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_payment_token_ownership_transferred_previous_owner"),
            ["previous_owner"],
            unique=False,
        )

    op.create_table(
        "payment_token_transfer",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("from", sa.String(length=42), nullable=True),
        sa.Column("to", sa.String(length=42), nullable=True),
        sa.Column("value", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.PrimaryKeyConstraint("block_number", "log_index", name=op.f("pk_payment_token_transfer")),
    )
    with op.batch_alter_table("payment_token_transfer", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_payment_token_transfer_block_time"), ["block_time"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_payment_token_transfer_from"), ["from"], unique=False)
        batch_op.create_index(batch_op.f("ix_payment_token_transfer_to"), ["to"], unique=False)

    op.create_table(
        "registry_authority_updated",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("authority", sa.String(length=42), nullable=True),
        sa.PrimaryKeyConstraint("block_number", "log_index", name=op.f("pk_registry_authority_updated")),
    )
    with op.batch_alter_table("registry_authority_updated", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_registry_authority_updated_block_time"), ["block_time"], unique=False
        )

    op.create_table(
        "registry_device_firmware_updated",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("device_id", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.Column("from_hash", sa.String(length=66), nullable=True),
        sa.Column("to_hash", sa.String(length=66), nullable=True),
        sa.PrimaryKeyConstraint(
            "block_number", "log_index", name=op.f("pk_registry_device_firmware_updated")
        ),
    )
    with op.batch_alter_table("registry_device_firmware_updated", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_registry_device_firmware_updated_block_time"), ["block_time"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_registry_device_firmware_updated_device_id"), ["device_id"], unique=False
        )

    op.create_table(
        "registry_device_key_rotated",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("device_id", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.Column("old_key", sa.String(length=42), nullable=True),
        sa.Column("new_key", sa.String(length=42), nullable=True),
        sa.PrimaryKeyConstraint("block_number", "log_index", name=op.f("pk_registry_device_key_rotated")),
    )
    with op.batch_alter_table("registry_device_key_rotated", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_registry_device_key_rotated_block_time"), ["block_time"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_registry_device_key_rotated_device_id"), ["device_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_registry_device_key_rotated_new_key"), ["new_key"], unique=False)
        batch_op.create_index(batch_op.f("ix_registry_device_key_rotated_old_key"), ["old_key"], unique=False)

    op.create_table(
        "registry_device_owner_changed",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("device_id", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.Column("from", sa.String(length=42), nullable=True),
        sa.Column("to", sa.String(length=42), nullable=True),
        sa.PrimaryKeyConstraint("block_number", "log_index", name=op.f("pk_registry_device_owner_changed")),
    )
    with op.batch_alter_table("registry_device_owner_changed", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_registry_device_owner_changed_block_time"), ["block_time"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_registry_device_owner_changed_device_id"), ["device_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_registry_device_owner_changed_from"), ["from"], unique=False)
        batch_op.create_index(batch_op.f("ix_registry_device_owner_changed_to"), ["to"], unique=False)

    op.create_table(
        "registry_device_quarantined",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("device_id", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.Column("sequence", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.Column("reason", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("block_number", "log_index", name=op.f("pk_registry_device_quarantined")),
    )
    with op.batch_alter_table("registry_device_quarantined", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_registry_device_quarantined_block_time"), ["block_time"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_registry_device_quarantined_device_id"), ["device_id"], unique=False
        )

    op.create_table(
        "registry_device_rated_power_changed",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("device_id", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.Column("from_w", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.Column("to_w", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.PrimaryKeyConstraint(
            "block_number", "log_index", name=op.f("pk_registry_device_rated_power_changed")
        ),
    )
    with op.batch_alter_table("registry_device_rated_power_changed", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_registry_device_rated_power_changed_block_time"), ["block_time"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_registry_device_rated_power_changed_device_id"), ["device_id"], unique=False
        )

    op.create_table(
        "registry_device_registered",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("device_id", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.Column("device", sa.String(length=42), nullable=True),
        sa.Column("owner", sa.String(length=42), nullable=True),
        sa.Column("grid_node_id", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.Column("kind", sa.BigInteger(), nullable=True),
        sa.Column("source", sa.BigInteger(), nullable=True),
        sa.Column("rated_power_w", sa.BigInteger(), nullable=True),
        sa.Column("firmware_hash", sa.String(length=66), nullable=True),
        sa.PrimaryKeyConstraint("block_number", "log_index", name=op.f("pk_registry_device_registered")),
    )
    with op.batch_alter_table("registry_device_registered", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_registry_device_registered_block_time"), ["block_time"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_registry_device_registered_device"), ["device"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_registry_device_registered_device_id"), ["device_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_registry_device_registered_owner"), ["owner"], unique=False)

    op.create_table(
        "registry_device_status_changed",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("device_id", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.Column("from", sa.BigInteger(), nullable=True),
        sa.Column("to", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("block_number", "log_index", name=op.f("pk_registry_device_status_changed")),
    )
    with op.batch_alter_table("registry_device_status_changed", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_registry_device_status_changed_block_time"), ["block_time"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_registry_device_status_changed_device_id"), ["device_id"], unique=False
        )

    op.create_table(
        "registry_eip712_domain_changed",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("block_number", "log_index", name=op.f("pk_registry_eip712_domain_changed")),
    )
    with op.batch_alter_table("registry_eip712_domain_changed", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_registry_eip712_domain_changed_block_time"), ["block_time"], unique=False
        )

    op.create_table(
        "registry_export_expired_unminted",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("device_id", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.Column("sequence", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.Column("energy_wh", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.PrimaryKeyConstraint(
            "block_number", "log_index", name=op.f("pk_registry_export_expired_unminted")
        ),
    )
    with op.batch_alter_table("registry_export_expired_unminted", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_registry_export_expired_unminted_block_time"), ["block_time"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_registry_export_expired_unminted_device_id"), ["device_id"], unique=False
        )

    op.create_table(
        "registry_firmware_approval_set",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("firmware_hash", sa.String(length=66), nullable=True),
        sa.Column("approved", sa.Boolean(), nullable=True),
        sa.PrimaryKeyConstraint("block_number", "log_index", name=op.f("pk_registry_firmware_approval_set")),
    )
    with op.batch_alter_table("registry_firmware_approval_set", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_registry_firmware_approval_set_block_time"), ["block_time"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_registry_firmware_approval_set_firmware_hash"), ["firmware_hash"], unique=False
        )

    op.create_table(
        "registry_grid_management_set",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("grid", sa.String(length=42), nullable=True),
        sa.PrimaryKeyConstraint("block_number", "log_index", name=op.f("pk_registry_grid_management_set")),
    )
    with op.batch_alter_table("registry_grid_management_set", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_registry_grid_management_set_block_time"), ["block_time"], unique=False
        )

    op.create_table(
        "registry_large_device_approved",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("device", sa.String(length=42), nullable=True),
        sa.Column("rated_power_w", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.PrimaryKeyConstraint("block_number", "log_index", name=op.f("pk_registry_large_device_approved")),
    )
    with op.batch_alter_table("registry_large_device_approved", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_registry_large_device_approved_block_time"), ["block_time"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_registry_large_device_approved_device"), ["device"], unique=False
        )

    op.create_table(
        "registry_large_device_threshold_set",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("threshold_w", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.PrimaryKeyConstraint(
            "block_number", "log_index", name=op.f("pk_registry_large_device_threshold_set")
        ),
    )
    with op.batch_alter_table("registry_large_device_threshold_set", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_registry_large_device_threshold_set_block_time"), ["block_time"], unique=False
        )

    op.create_table(
        "registry_mint_refused",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("device_id", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.Column("sequence", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.Column("refusal", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("block_number", "log_index", name=op.f("pk_registry_mint_refused")),
    )
    with op.batch_alter_table("registry_mint_refused", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_registry_mint_refused_block_time"), ["block_time"], unique=False)
        batch_op.create_index(batch_op.f("ix_registry_mint_refused_device_id"), ["device_id"], unique=False)

    op.create_table(
        "registry_paused",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("account", sa.String(length=42), nullable=True),
        sa.PrimaryKeyConstraint("block_number", "log_index", name=op.f("pk_registry_paused")),
    )
    with op.batch_alter_table("registry_paused", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_registry_paused_block_time"), ["block_time"], unique=False)

    op.create_table(
        "registry_quarantine_reset",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("device_id", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.Column("import_wh", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.Column("export_wh", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.PrimaryKeyConstraint("block_number", "log_index", name=op.f("pk_registry_quarantine_reset")),
    )
    with op.batch_alter_table("registry_quarantine_reset", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_registry_quarantine_reset_block_time"), ["block_time"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_registry_quarantine_reset_device_id"), ["device_id"], unique=False
        )

    op.create_table(
        "registry_reading_accepted",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("device_id", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.Column("sequence", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.Column("interval_start", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.Column("import_wh", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.Column("export_wh", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.Column("minted_wh", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.Column("consumed_wh", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.Column("flags", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("block_number", "log_index", name=op.f("pk_registry_reading_accepted")),
    )
    with op.batch_alter_table("registry_reading_accepted", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_registry_reading_accepted_block_time"), ["block_time"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_registry_reading_accepted_device_id"), ["device_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_registry_reading_accepted_interval_start"), ["interval_start"], unique=False
        )

    op.create_table(
        "registry_reading_rejected",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("device_id", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.Column("sequence", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.Column("reason", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("block_number", "log_index", name=op.f("pk_registry_reading_rejected")),
    )
    with op.batch_alter_table("registry_reading_rejected", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_registry_reading_rejected_block_time"), ["block_time"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_registry_reading_rejected_device_id"), ["device_id"], unique=False
        )

    op.create_table(
        "registry_reading_sequence_gap",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("device_id", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.Column("last_sequence", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.Column("sequence", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.PrimaryKeyConstraint("block_number", "log_index", name=op.f("pk_registry_reading_sequence_gap")),
    )
    with op.batch_alter_table("registry_reading_sequence_gap", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_registry_reading_sequence_gap_block_time"), ["block_time"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_registry_reading_sequence_gap_device_id"), ["device_id"], unique=False
        )

    op.create_table(
        "registry_reading_window_set",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("max_age_seconds", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.PrimaryKeyConstraint("block_number", "log_index", name=op.f("pk_registry_reading_window_set")),
    )
    with op.batch_alter_table("registry_reading_window_set", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_registry_reading_window_set_block_time"), ["block_time"], unique=False
        )

    op.create_table(
        "registry_unpaused",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("account", sa.String(length=42), nullable=True),
        sa.PrimaryKeyConstraint("block_number", "log_index", name=op.f("pk_registry_unpaused")),
    )
    with op.batch_alter_table("registry_unpaused", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_registry_unpaused_block_time"), ["block_time"], unique=False)

    op.create_table(
        "token_approval",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("owner", sa.String(length=42), nullable=True),
        sa.Column("spender", sa.String(length=42), nullable=True),
        sa.Column("value", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.PrimaryKeyConstraint("block_number", "log_index", name=op.f("pk_token_approval")),
    )
    with op.batch_alter_table("token_approval", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_token_approval_block_time"), ["block_time"], unique=False)
        batch_op.create_index(batch_op.f("ix_token_approval_owner"), ["owner"], unique=False)
        batch_op.create_index(batch_op.f("ix_token_approval_spender"), ["spender"], unique=False)

    op.create_table(
        "token_authority_updated",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("authority", sa.String(length=42), nullable=True),
        sa.PrimaryKeyConstraint("block_number", "log_index", name=op.f("pk_token_authority_updated")),
    )
    with op.batch_alter_table("token_authority_updated", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_token_authority_updated_block_time"), ["block_time"], unique=False
        )

    op.create_table(
        "token_eip712_domain_changed",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("block_number", "log_index", name=op.f("pk_token_eip712_domain_changed")),
    )
    with op.batch_alter_table("token_eip712_domain_changed", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_token_eip712_domain_changed_block_time"), ["block_time"], unique=False
        )

    op.create_table(
        "token_energy_burned",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("holder", sa.String(length=42), nullable=True),
        sa.Column("energy_wh", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.Column("cause", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("block_number", "log_index", name=op.f("pk_token_energy_burned")),
    )
    with op.batch_alter_table("token_energy_burned", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_token_energy_burned_block_time"), ["block_time"], unique=False)
        batch_op.create_index(batch_op.f("ix_token_energy_burned_holder"), ["holder"], unique=False)

    op.create_table(
        "token_energy_expired",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("holder", sa.String(length=42), nullable=True),
        sa.Column("energy_wh", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.Column("epoch", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.PrimaryKeyConstraint("block_number", "log_index", name=op.f("pk_token_energy_expired")),
    )
    with op.batch_alter_table("token_energy_expired", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_token_energy_expired_block_time"), ["block_time"], unique=False)
        batch_op.create_index(batch_op.f("ix_token_energy_expired_holder"), ["holder"], unique=False)

    op.create_table(
        "token_energy_minted",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("lot_id", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.Column("generator", sa.String(length=42), nullable=True),
        sa.Column("interval_start", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.Column("previous_epoch_wh", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.Column("current_epoch_wh", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.PrimaryKeyConstraint("block_number", "log_index", name=op.f("pk_token_energy_minted")),
    )
    with op.batch_alter_table("token_energy_minted", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_token_energy_minted_block_time"), ["block_time"], unique=False)
        batch_op.create_index(batch_op.f("ix_token_energy_minted_generator"), ["generator"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_token_energy_minted_interval_start"), ["interval_start"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_token_energy_minted_lot_id"), ["lot_id"], unique=False)

    op.create_table(
        "token_meter_registry_set",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("registry", sa.String(length=42), nullable=True),
        sa.PrimaryKeyConstraint("block_number", "log_index", name=op.f("pk_token_meter_registry_set")),
    )
    with op.batch_alter_table("token_meter_registry_set", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_token_meter_registry_set_block_time"), ["block_time"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_token_meter_registry_set_registry"), ["registry"], unique=False)

    op.create_table(
        "token_participant_set",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("participant", sa.String(length=42), nullable=True),
        sa.Column("verified", sa.Boolean(), nullable=True),
        sa.Column("jurisdiction", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("block_number", "log_index", name=op.f("pk_token_participant_set")),
    )
    with op.batch_alter_table("token_participant_set", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_token_participant_set_block_time"), ["block_time"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_token_participant_set_participant"), ["participant"], unique=False
        )

    op.create_table(
        "token_paused",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("account", sa.String(length=42), nullable=True),
        sa.PrimaryKeyConstraint("block_number", "log_index", name=op.f("pk_token_paused")),
    )
    with op.batch_alter_table("token_paused", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_token_paused_block_time"), ["block_time"], unique=False)

    op.create_table(
        "token_transfer",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("from", sa.String(length=42), nullable=True),
        sa.Column("to", sa.String(length=42), nullable=True),
        sa.Column("value", gridledger.indexer.schema.Uint(precision=78, scale=0), nullable=True),
        sa.PrimaryKeyConstraint("block_number", "log_index", name=op.f("pk_token_transfer")),
    )
    with op.batch_alter_table("token_transfer", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_token_transfer_block_time"), ["block_time"], unique=False)
        batch_op.create_index(batch_op.f("ix_token_transfer_from"), ["from"], unique=False)
        batch_op.create_index(batch_op.f("ix_token_transfer_to"), ["to"], unique=False)

    op.create_table(
        "token_unpaused",
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tx_hash", sa.String(length=66), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.Column("address", sa.String(length=42), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("account", sa.String(length=42), nullable=True),
        sa.PrimaryKeyConstraint("block_number", "log_index", name=op.f("pk_token_unpaused")),
    )
    with op.batch_alter_table("token_unpaused", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_token_unpaused_block_time"), ["block_time"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("token_unpaused", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_token_unpaused_block_time"))

    op.drop_table("token_unpaused")
    with op.batch_alter_table("token_transfer", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_token_transfer_to"))
        batch_op.drop_index(batch_op.f("ix_token_transfer_from"))
        batch_op.drop_index(batch_op.f("ix_token_transfer_block_time"))

    op.drop_table("token_transfer")
    with op.batch_alter_table("token_paused", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_token_paused_block_time"))

    op.drop_table("token_paused")
    with op.batch_alter_table("token_participant_set", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_token_participant_set_participant"))
        batch_op.drop_index(batch_op.f("ix_token_participant_set_block_time"))

    op.drop_table("token_participant_set")
    with op.batch_alter_table("token_meter_registry_set", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_token_meter_registry_set_registry"))
        batch_op.drop_index(batch_op.f("ix_token_meter_registry_set_block_time"))

    op.drop_table("token_meter_registry_set")
    with op.batch_alter_table("token_energy_minted", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_token_energy_minted_lot_id"))
        batch_op.drop_index(batch_op.f("ix_token_energy_minted_interval_start"))
        batch_op.drop_index(batch_op.f("ix_token_energy_minted_generator"))
        batch_op.drop_index(batch_op.f("ix_token_energy_minted_block_time"))

    op.drop_table("token_energy_minted")
    with op.batch_alter_table("token_energy_expired", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_token_energy_expired_holder"))
        batch_op.drop_index(batch_op.f("ix_token_energy_expired_block_time"))

    op.drop_table("token_energy_expired")
    with op.batch_alter_table("token_energy_burned", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_token_energy_burned_holder"))
        batch_op.drop_index(batch_op.f("ix_token_energy_burned_block_time"))

    op.drop_table("token_energy_burned")
    with op.batch_alter_table("token_eip712_domain_changed", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_token_eip712_domain_changed_block_time"))

    op.drop_table("token_eip712_domain_changed")
    with op.batch_alter_table("token_authority_updated", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_token_authority_updated_block_time"))

    op.drop_table("token_authority_updated")
    with op.batch_alter_table("token_approval", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_token_approval_spender"))
        batch_op.drop_index(batch_op.f("ix_token_approval_owner"))
        batch_op.drop_index(batch_op.f("ix_token_approval_block_time"))

    op.drop_table("token_approval")
    with op.batch_alter_table("registry_unpaused", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_registry_unpaused_block_time"))

    op.drop_table("registry_unpaused")
    with op.batch_alter_table("registry_reading_window_set", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_registry_reading_window_set_block_time"))

    op.drop_table("registry_reading_window_set")
    with op.batch_alter_table("registry_reading_sequence_gap", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_registry_reading_sequence_gap_device_id"))
        batch_op.drop_index(batch_op.f("ix_registry_reading_sequence_gap_block_time"))

    op.drop_table("registry_reading_sequence_gap")
    with op.batch_alter_table("registry_reading_rejected", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_registry_reading_rejected_device_id"))
        batch_op.drop_index(batch_op.f("ix_registry_reading_rejected_block_time"))

    op.drop_table("registry_reading_rejected")
    with op.batch_alter_table("registry_reading_accepted", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_registry_reading_accepted_interval_start"))
        batch_op.drop_index(batch_op.f("ix_registry_reading_accepted_device_id"))
        batch_op.drop_index(batch_op.f("ix_registry_reading_accepted_block_time"))

    op.drop_table("registry_reading_accepted")
    with op.batch_alter_table("registry_quarantine_reset", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_registry_quarantine_reset_device_id"))
        batch_op.drop_index(batch_op.f("ix_registry_quarantine_reset_block_time"))

    op.drop_table("registry_quarantine_reset")
    with op.batch_alter_table("registry_paused", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_registry_paused_block_time"))

    op.drop_table("registry_paused")
    with op.batch_alter_table("registry_mint_refused", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_registry_mint_refused_device_id"))
        batch_op.drop_index(batch_op.f("ix_registry_mint_refused_block_time"))

    op.drop_table("registry_mint_refused")
    with op.batch_alter_table("registry_large_device_threshold_set", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_registry_large_device_threshold_set_block_time"))

    op.drop_table("registry_large_device_threshold_set")
    with op.batch_alter_table("registry_large_device_approved", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_registry_large_device_approved_device"))
        batch_op.drop_index(batch_op.f("ix_registry_large_device_approved_block_time"))

    op.drop_table("registry_large_device_approved")
    with op.batch_alter_table("registry_grid_management_set", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_registry_grid_management_set_block_time"))

    op.drop_table("registry_grid_management_set")
    with op.batch_alter_table("registry_firmware_approval_set", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_registry_firmware_approval_set_firmware_hash"))
        batch_op.drop_index(batch_op.f("ix_registry_firmware_approval_set_block_time"))

    op.drop_table("registry_firmware_approval_set")
    with op.batch_alter_table("registry_export_expired_unminted", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_registry_export_expired_unminted_device_id"))
        batch_op.drop_index(batch_op.f("ix_registry_export_expired_unminted_block_time"))

    op.drop_table("registry_export_expired_unminted")
    with op.batch_alter_table("registry_eip712_domain_changed", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_registry_eip712_domain_changed_block_time"))

    op.drop_table("registry_eip712_domain_changed")
    with op.batch_alter_table("registry_device_status_changed", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_registry_device_status_changed_device_id"))
        batch_op.drop_index(batch_op.f("ix_registry_device_status_changed_block_time"))

    op.drop_table("registry_device_status_changed")
    with op.batch_alter_table("registry_device_registered", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_registry_device_registered_owner"))
        batch_op.drop_index(batch_op.f("ix_registry_device_registered_device_id"))
        batch_op.drop_index(batch_op.f("ix_registry_device_registered_device"))
        batch_op.drop_index(batch_op.f("ix_registry_device_registered_block_time"))

    op.drop_table("registry_device_registered")
    with op.batch_alter_table("registry_device_rated_power_changed", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_registry_device_rated_power_changed_device_id"))
        batch_op.drop_index(batch_op.f("ix_registry_device_rated_power_changed_block_time"))

    op.drop_table("registry_device_rated_power_changed")
    with op.batch_alter_table("registry_device_quarantined", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_registry_device_quarantined_device_id"))
        batch_op.drop_index(batch_op.f("ix_registry_device_quarantined_block_time"))

    op.drop_table("registry_device_quarantined")
    with op.batch_alter_table("registry_device_owner_changed", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_registry_device_owner_changed_to"))
        batch_op.drop_index(batch_op.f("ix_registry_device_owner_changed_from"))
        batch_op.drop_index(batch_op.f("ix_registry_device_owner_changed_device_id"))
        batch_op.drop_index(batch_op.f("ix_registry_device_owner_changed_block_time"))

    op.drop_table("registry_device_owner_changed")
    with op.batch_alter_table("registry_device_key_rotated", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_registry_device_key_rotated_old_key"))
        batch_op.drop_index(batch_op.f("ix_registry_device_key_rotated_new_key"))
        batch_op.drop_index(batch_op.f("ix_registry_device_key_rotated_device_id"))
        batch_op.drop_index(batch_op.f("ix_registry_device_key_rotated_block_time"))

    op.drop_table("registry_device_key_rotated")
    with op.batch_alter_table("registry_device_firmware_updated", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_registry_device_firmware_updated_device_id"))
        batch_op.drop_index(batch_op.f("ix_registry_device_firmware_updated_block_time"))

    op.drop_table("registry_device_firmware_updated")
    with op.batch_alter_table("registry_authority_updated", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_registry_authority_updated_block_time"))

    op.drop_table("registry_authority_updated")
    with op.batch_alter_table("payment_token_transfer", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payment_token_transfer_to"))
        batch_op.drop_index(batch_op.f("ix_payment_token_transfer_from"))
        batch_op.drop_index(batch_op.f("ix_payment_token_transfer_block_time"))

    op.drop_table("payment_token_transfer")
    with op.batch_alter_table("payment_token_ownership_transferred", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payment_token_ownership_transferred_previous_owner"))
        batch_op.drop_index(batch_op.f("ix_payment_token_ownership_transferred_new_owner"))
        batch_op.drop_index(batch_op.f("ix_payment_token_ownership_transferred_block_time"))

    op.drop_table("payment_token_ownership_transferred")
    with op.batch_alter_table("payment_token_eip712_domain_changed", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payment_token_eip712_domain_changed_block_time"))

    op.drop_table("payment_token_eip712_domain_changed")
    with op.batch_alter_table("payment_token_approval", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payment_token_approval_spender"))
        batch_op.drop_index(batch_op.f("ix_payment_token_approval_owner"))
        batch_op.drop_index(batch_op.f("ix_payment_token_approval_block_time"))

    op.drop_table("payment_token_approval")
    with op.batch_alter_table("multisig_operation_executed", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_multisig_operation_executed_target"))
        batch_op.drop_index(batch_op.f("ix_multisig_operation_executed_nonce"))
        batch_op.drop_index(batch_op.f("ix_multisig_operation_executed_block_time"))

    op.drop_table("multisig_operation_executed")
    with op.batch_alter_table("multisig_erc7913_threshold_set", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_multisig_erc7913_threshold_set_block_time"))

    op.drop_table("multisig_erc7913_threshold_set")
    with op.batch_alter_table("multisig_erc7913_signer_removed", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_multisig_erc7913_signer_removed_signers"))
        batch_op.drop_index(batch_op.f("ix_multisig_erc7913_signer_removed_block_time"))

    op.drop_table("multisig_erc7913_signer_removed")
    with op.batch_alter_table("multisig_erc7913_signer_added", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_multisig_erc7913_signer_added_signers"))
        batch_op.drop_index(batch_op.f("ix_multisig_erc7913_signer_added_block_time"))

    op.drop_table("multisig_erc7913_signer_added")
    with op.batch_alter_table("multisig_eip712_domain_changed", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_multisig_eip712_domain_changed_block_time"))

    op.drop_table("multisig_eip712_domain_changed")
    with op.batch_alter_table("market_unpaused", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_market_unpaused_block_time"))

    op.drop_table("market_unpaused")
    with op.batch_alter_table("market_payment_withdrawn", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_market_payment_withdrawn_trader"))
        batch_op.drop_index(batch_op.f("ix_market_payment_withdrawn_block_time"))

    op.drop_table("market_payment_withdrawn")
    with op.batch_alter_table("market_payment_deposited", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_market_payment_deposited_trader"))
        batch_op.drop_index(batch_op.f("ix_market_payment_deposited_block_time"))

    op.drop_table("market_payment_deposited")
    with op.batch_alter_table("market_paused", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_market_paused_block_time"))

    op.drop_table("market_paused")
    with op.batch_alter_table("market_nonces_invalidated", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_market_nonces_invalidated_trader"))
        batch_op.drop_index(batch_op.f("ix_market_nonces_invalidated_block_time"))

    op.drop_table("market_nonces_invalidated")
    with op.batch_alter_table("market_interval_settled", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_market_interval_settled_interval_start"))
        batch_op.drop_index(batch_op.f("ix_market_interval_settled_block_time"))

    op.drop_table("market_interval_settled")
    with op.batch_alter_table("market_grid_guard_set", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_market_grid_guard_set_guard"))
        batch_op.drop_index(batch_op.f("ix_market_grid_guard_set_block_time"))

    op.drop_table("market_grid_guard_set")
    with op.batch_alter_table("market_grid_fee_set", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_market_grid_fee_set_collector"))
        batch_op.drop_index(batch_op.f("ix_market_grid_fee_set_block_time"))

    op.drop_table("market_grid_fee_set")
    with op.batch_alter_table("market_gate_released", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_market_gate_released_interval_start"))
        batch_op.drop_index(batch_op.f("ix_market_gate_released_block_time"))

    op.drop_table("market_gate_released")
    with op.batch_alter_table("market_gate_closed", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_market_gate_closed_interval_start"))
        batch_op.drop_index(batch_op.f("ix_market_gate_closed_block_time"))

    op.drop_table("market_gate_closed")
    with op.batch_alter_table("market_fills", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_market_fills_trader"))
        batch_op.drop_index(batch_op.f("ix_market_fills_interval_start"))
        batch_op.drop_index(batch_op.f("ix_market_fills_block_time"))

    op.drop_table("market_fills")
    with op.batch_alter_table("market_energy_withdrawn", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_market_energy_withdrawn_trader"))
        batch_op.drop_index(batch_op.f("ix_market_energy_withdrawn_block_time"))

    op.drop_table("market_energy_withdrawn")
    with op.batch_alter_table("market_energy_deposited", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_market_energy_deposited_trader"))
        batch_op.drop_index(batch_op.f("ix_market_energy_deposited_block_time"))

    op.drop_table("market_energy_deposited")
    with op.batch_alter_table("market_eip712_domain_changed", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_market_eip712_domain_changed_block_time"))

    op.drop_table("market_eip712_domain_changed")
    with op.batch_alter_table("market_authority_updated", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_market_authority_updated_block_time"))

    op.drop_table("market_authority_updated")
    with op.batch_alter_table("manager_target_function_role_updated", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_manager_target_function_role_updated_target"))
        batch_op.drop_index(batch_op.f("ix_manager_target_function_role_updated_role_id"))
        batch_op.drop_index(batch_op.f("ix_manager_target_function_role_updated_block_time"))

    op.drop_table("manager_target_function_role_updated")
    with op.batch_alter_table("manager_target_closed", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_manager_target_closed_target"))
        batch_op.drop_index(batch_op.f("ix_manager_target_closed_block_time"))

    op.drop_table("manager_target_closed")
    with op.batch_alter_table("manager_target_admin_delay_updated", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_manager_target_admin_delay_updated_target"))
        batch_op.drop_index(batch_op.f("ix_manager_target_admin_delay_updated_block_time"))

    op.drop_table("manager_target_admin_delay_updated")
    with op.batch_alter_table("manager_role_revoked", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_manager_role_revoked_role_id"))
        batch_op.drop_index(batch_op.f("ix_manager_role_revoked_block_time"))
        batch_op.drop_index(batch_op.f("ix_manager_role_revoked_account"))

    op.drop_table("manager_role_revoked")
    with op.batch_alter_table("manager_role_label", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_manager_role_label_role_id"))
        batch_op.drop_index(batch_op.f("ix_manager_role_label_block_time"))

    op.drop_table("manager_role_label")
    with op.batch_alter_table("manager_role_guardian_changed", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_manager_role_guardian_changed_role_id"))
        batch_op.drop_index(batch_op.f("ix_manager_role_guardian_changed_guardian"))
        batch_op.drop_index(batch_op.f("ix_manager_role_guardian_changed_block_time"))

    op.drop_table("manager_role_guardian_changed")
    with op.batch_alter_table("manager_role_granted", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_manager_role_granted_role_id"))
        batch_op.drop_index(batch_op.f("ix_manager_role_granted_block_time"))
        batch_op.drop_index(batch_op.f("ix_manager_role_granted_account"))

    op.drop_table("manager_role_granted")
    with op.batch_alter_table("manager_role_grant_delay_changed", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_manager_role_grant_delay_changed_role_id"))
        batch_op.drop_index(batch_op.f("ix_manager_role_grant_delay_changed_block_time"))

    op.drop_table("manager_role_grant_delay_changed")
    with op.batch_alter_table("manager_role_admin_changed", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_manager_role_admin_changed_role_id"))
        batch_op.drop_index(batch_op.f("ix_manager_role_admin_changed_block_time"))
        batch_op.drop_index(batch_op.f("ix_manager_role_admin_changed_admin"))

    op.drop_table("manager_role_admin_changed")
    with op.batch_alter_table("manager_operation_scheduled", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_manager_operation_scheduled_operation_id"))
        batch_op.drop_index(batch_op.f("ix_manager_operation_scheduled_nonce"))
        batch_op.drop_index(batch_op.f("ix_manager_operation_scheduled_block_time"))

    op.drop_table("manager_operation_scheduled")
    with op.batch_alter_table("manager_operation_executed", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_manager_operation_executed_operation_id"))
        batch_op.drop_index(batch_op.f("ix_manager_operation_executed_nonce"))
        batch_op.drop_index(batch_op.f("ix_manager_operation_executed_block_time"))

    op.drop_table("manager_operation_executed")
    with op.batch_alter_table("manager_operation_canceled", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_manager_operation_canceled_operation_id"))
        batch_op.drop_index(batch_op.f("ix_manager_operation_canceled_nonce"))
        batch_op.drop_index(batch_op.f("ix_manager_operation_canceled_block_time"))

    op.drop_table("manager_operation_canceled")
    op.drop_table("indexer_state")
    op.drop_table("indexed_blocks")
    with op.batch_alter_table("grid_zone_state_changed", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_grid_zone_state_changed_zone_id"))
        batch_op.drop_index(batch_op.f("ix_grid_zone_state_changed_block_time"))

    op.drop_table("grid_zone_state_changed")
    with op.batch_alter_table("grid_zone_created", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_grid_zone_created_zone_id"))
        batch_op.drop_index(batch_op.f("ix_grid_zone_created_parent_zone_id"))
        batch_op.drop_index(batch_op.f("ix_grid_zone_created_block_time"))

    op.drop_table("grid_zone_created")
    with op.batch_alter_table("grid_zone_capacity_set", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_grid_zone_capacity_set_zone_id"))
        batch_op.drop_index(batch_op.f("ix_grid_zone_capacity_set_block_time"))

    op.drop_table("grid_zone_capacity_set")
    with op.batch_alter_table("grid_unpaused", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_grid_unpaused_block_time"))

    op.drop_table("grid_unpaused")
    with op.batch_alter_table("grid_peak_parameters_set", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_grid_peak_parameters_set_block_time"))

    op.drop_table("grid_peak_parameters_set")
    with op.batch_alter_table("grid_paused", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_grid_paused_block_time"))

    op.drop_table("grid_paused")
    with op.batch_alter_table("grid_node_registered", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_grid_node_registered_node_id"))
        batch_op.drop_index(batch_op.f("ix_grid_node_registered_node"))
        batch_op.drop_index(batch_op.f("ix_grid_node_registered_block_time"))

    op.drop_table("grid_node_registered")
    with op.batch_alter_table("grid_node_assigned", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_grid_node_assigned_zone_id"))
        batch_op.drop_index(batch_op.f("ix_grid_node_assigned_node_id"))
        batch_op.drop_index(batch_op.f("ix_grid_node_assigned_block_time"))

    op.drop_table("grid_node_assigned")
    with op.batch_alter_table("grid_losses_reported", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_grid_losses_reported_zone_id"))
        batch_op.drop_index(batch_op.f("ix_grid_losses_reported_interval_start"))
        batch_op.drop_index(batch_op.f("ix_grid_losses_reported_block_time"))

    op.drop_table("grid_losses_reported")
    with op.batch_alter_table("grid_load_updated", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_grid_load_updated_zone_id"))
        batch_op.drop_index(batch_op.f("ix_grid_load_updated_node_id"))
        batch_op.drop_index(batch_op.f("ix_grid_load_updated_block_time"))

    op.drop_table("grid_load_updated")
    with op.batch_alter_table("grid_energy_transfer_reserved", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_grid_energy_transfer_reserved_to_node"))
        batch_op.drop_index(batch_op.f("ix_grid_energy_transfer_reserved_interval_start"))
        batch_op.drop_index(batch_op.f("ix_grid_energy_transfer_reserved_from_node"))
        batch_op.drop_index(batch_op.f("ix_grid_energy_transfer_reserved_block_time"))

    op.drop_table("grid_energy_transfer_reserved")
    with op.batch_alter_table("grid_energy_transfer_rejected", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_grid_energy_transfer_rejected_to_node"))
        batch_op.drop_index(batch_op.f("ix_grid_energy_transfer_rejected_interval_start"))
        batch_op.drop_index(batch_op.f("ix_grid_energy_transfer_rejected_from_node"))
        batch_op.drop_index(batch_op.f("ix_grid_energy_transfer_rejected_block_time"))

    op.drop_table("grid_energy_transfer_rejected")
    with op.batch_alter_table("grid_connection_capacity_set", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_grid_connection_capacity_set_node_id"))
        batch_op.drop_index(batch_op.f("ix_grid_connection_capacity_set_block_time"))

    op.drop_table("grid_connection_capacity_set")
    with op.batch_alter_table("grid_authority_updated", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_grid_authority_updated_block_time"))

    op.drop_table("grid_authority_updated")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_events_event"))
        batch_op.drop_index(batch_op.f("ix_events_confirmed_block_number"))

    op.drop_table("events")
    with op.batch_alter_table("carbon_uri", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_carbon_uri_id"))
        batch_op.drop_index(batch_op.f("ix_carbon_uri_block_time"))

    op.drop_table("carbon_uri")
    with op.batch_alter_table("carbon_unpaused", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_carbon_unpaused_block_time"))

    op.drop_table("carbon_unpaused")
    with op.batch_alter_table("carbon_transfer_single", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_carbon_transfer_single_to"))
        batch_op.drop_index(batch_op.f("ix_carbon_transfer_single_operator"))
        batch_op.drop_index(batch_op.f("ix_carbon_transfer_single_from"))
        batch_op.drop_index(batch_op.f("ix_carbon_transfer_single_block_time"))

    op.drop_table("carbon_transfer_single")
    with op.batch_alter_table("carbon_transfer_batch", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_carbon_transfer_batch_to"))
        batch_op.drop_index(batch_op.f("ix_carbon_transfer_batch_operator"))
        batch_op.drop_index(batch_op.f("ix_carbon_transfer_batch_from"))
        batch_op.drop_index(batch_op.f("ix_carbon_transfer_batch_block_time"))

    op.drop_table("carbon_transfer_batch")
    with op.batch_alter_table("carbon_pool_transfer", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_carbon_pool_transfer_to"))
        batch_op.drop_index(batch_op.f("ix_carbon_pool_transfer_from"))
        batch_op.drop_index(batch_op.f("ix_carbon_pool_transfer_block_time"))

    op.drop_table("carbon_pool_transfer")
    with op.batch_alter_table("carbon_pool_retired_from_pool", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_carbon_pool_retired_from_pool_retirement_id"))
        batch_op.drop_index(batch_op.f("ix_carbon_pool_retired_from_pool_holder"))
        batch_op.drop_index(batch_op.f("ix_carbon_pool_retired_from_pool_certificate_id"))
        batch_op.drop_index(batch_op.f("ix_carbon_pool_retired_from_pool_block_time"))

    op.drop_table("carbon_pool_retired_from_pool")
    with op.batch_alter_table("carbon_pool_redeemed", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_carbon_pool_redeemed_redeemer"))
        batch_op.drop_index(batch_op.f("ix_carbon_pool_redeemed_certificate_id"))
        batch_op.drop_index(batch_op.f("ix_carbon_pool_redeemed_block_time"))

    op.drop_table("carbon_pool_redeemed")
    with op.batch_alter_table("carbon_pool_expired_written_off", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_carbon_pool_expired_written_off_certificate_id"))
        batch_op.drop_index(batch_op.f("ix_carbon_pool_expired_written_off_block_time"))

    op.drop_table("carbon_pool_expired_written_off")
    with op.batch_alter_table("carbon_pool_deposited", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_carbon_pool_deposited_depositor"))
        batch_op.drop_index(batch_op.f("ix_carbon_pool_deposited_certificate_id"))
        batch_op.drop_index(batch_op.f("ix_carbon_pool_deposited_block_time"))

    op.drop_table("carbon_pool_deposited")
    with op.batch_alter_table("carbon_pool_approval", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_carbon_pool_approval_spender"))
        batch_op.drop_index(batch_op.f("ix_carbon_pool_approval_owner"))
        batch_op.drop_index(batch_op.f("ix_carbon_pool_approval_block_time"))

    op.drop_table("carbon_pool_approval")
    with op.batch_alter_table("carbon_paused", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_carbon_paused_block_time"))

    op.drop_table("carbon_paused")
    with op.batch_alter_table("carbon_exchange_unpaused", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_carbon_exchange_unpaused_block_time"))

    op.drop_table("carbon_exchange_unpaused")
    with op.batch_alter_table("carbon_exchange_paused", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_carbon_exchange_paused_block_time"))

    op.drop_table("carbon_exchange_paused")
    with op.batch_alter_table("carbon_exchange_offered", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_carbon_exchange_offered_seller"))
        batch_op.drop_index(batch_op.f("ix_carbon_exchange_offered_offer_id"))
        batch_op.drop_index(batch_op.f("ix_carbon_exchange_offered_certificate_id"))
        batch_op.drop_index(batch_op.f("ix_carbon_exchange_offered_block_time"))

    op.drop_table("carbon_exchange_offered")
    with op.batch_alter_table("carbon_exchange_cancelled", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_carbon_exchange_cancelled_offer_id"))
        batch_op.drop_index(batch_op.f("ix_carbon_exchange_cancelled_block_time"))

    op.drop_table("carbon_exchange_cancelled")
    with op.batch_alter_table("carbon_exchange_bought", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_carbon_exchange_bought_seller"))
        batch_op.drop_index(batch_op.f("ix_carbon_exchange_bought_offer_id"))
        batch_op.drop_index(batch_op.f("ix_carbon_exchange_bought_buyer"))
        batch_op.drop_index(batch_op.f("ix_carbon_exchange_bought_block_time"))

    op.drop_table("carbon_exchange_bought")
    with op.batch_alter_table("carbon_exchange_authority_updated", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_carbon_exchange_authority_updated_block_time"))

    op.drop_table("carbon_exchange_authority_updated")
    with op.batch_alter_table("carbon_emission_factor_set", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_carbon_emission_factor_set_region"))
        batch_op.drop_index(batch_op.f("ix_carbon_emission_factor_set_block_time"))

    op.drop_table("carbon_emission_factor_set")
    with op.batch_alter_table("carbon_credits_retired", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_carbon_credits_retired_retirement_id"))
        batch_op.drop_index(batch_op.f("ix_carbon_credits_retired_retiree"))
        batch_op.drop_index(batch_op.f("ix_carbon_credits_retired_certificate_id"))
        batch_op.drop_index(batch_op.f("ix_carbon_credits_retired_block_time"))

    op.drop_table("carbon_credits_retired")
    with op.batch_alter_table("carbon_credits_expired", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_carbon_credits_expired_certificate_id"))
        batch_op.drop_index(batch_op.f("ix_carbon_credits_expired_block_time"))

    op.drop_table("carbon_credits_expired")
    with op.batch_alter_table("carbon_credit_lifetime_set", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_carbon_credit_lifetime_set_block_time"))

    op.drop_table("carbon_credit_lifetime_set")
    with op.batch_alter_table("carbon_certificate_terms", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_carbon_certificate_terms_certificate_id"))
        batch_op.drop_index(batch_op.f("ix_carbon_certificate_terms_block_time"))

    op.drop_table("carbon_certificate_terms")
    with op.batch_alter_table("carbon_certificate_issued", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_carbon_certificate_issued_generator"))
        batch_op.drop_index(batch_op.f("ix_carbon_certificate_issued_device_id"))
        batch_op.drop_index(batch_op.f("ix_carbon_certificate_issued_certificate_id"))
        batch_op.drop_index(batch_op.f("ix_carbon_certificate_issued_block_time"))

    op.drop_table("carbon_certificate_issued")
    with op.batch_alter_table("carbon_authority_updated", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_carbon_authority_updated_block_time"))

    op.drop_table("carbon_authority_updated")
    with op.batch_alter_table("carbon_approval_for_all", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_carbon_approval_for_all_operator"))
        batch_op.drop_index(batch_op.f("ix_carbon_approval_for_all_block_time"))
        batch_op.drop_index(batch_op.f("ix_carbon_approval_for_all_account"))

    op.drop_table("carbon_approval_for_all")
