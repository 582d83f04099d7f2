"""The index's tables: one per event of every deployed contract, made from the committed ABIs,
plus the fills unpacked from each settlement and the indexer's own bookkeeping.

The event tables are generated rather than written out: 108 events with their argument types
are already defined once, in the contracts; a hand-written twin of each would drift. A table
is named `<contract>_<event>` in snake case, with the contract named as in the deployment
manifest (`token_transfer`, `registry_reading_accepted`, `market_interval_settled`), and has
one column per argument (camelCase → snake_case) after the columns every event row carries.

Every row is keyed by its place in the chain, (block_number, log_index): a reorg deletes the
rows above the common ancestor, and indexing a range again replaces the same keys, so writes
are idempotent without dialect-specific upserts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Dialect,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    TypeDecorator,
)
from sqlalchemy.types import TypeEngine, UserDefinedType

from gridledger.chain.abi import load_artifact, topic_type
from gridledger.errors import IndexerError
from gridledger.ops.deployment import CONTRACT_ARTIFACTS

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "pk": "pk_%(table_name)s",
    }
)

SQLITE_INTEGER_MAX = 2**63 - 1


class _SqliteUint(UserDefinedType[int]):
    """A column SQLite gives no affinity (declared BLOB), so it keeps each value's own class."""

    cache_ok = True

    def get_col_spec(self, **_kw: Any) -> str:
        return "BLOB"


class Uint(TypeDecorator[int]):
    """An unsigned ABI integer wider than 32 bits: NUMERIC(78) on PostgreSQL, exact for every
    uint256. SQLite has no integer wider than 64 bits, and ids here (lot ids, certificate ids)
    pass 2^63: there a value up to 2^63 - 1 is an INTEGER and a larger one its 78-digit
    zero-padded decimal TEXT, in a column without affinity. Both read back exactly, compare equal
    as bound parameters do, and sort in numeric order (SQLite sorts every INTEGER before any
    TEXT); sums are exact for the amounts, which never pass 2^63."""

    impl = Numeric(78, 0)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(_SqliteUint())
        return dialect.type_descriptor(Numeric(78, 0))

    def process_bind_param(self, value: int | None, dialect: Dialect) -> int | str | None:
        if value is not None and dialect.name == "sqlite" and value > SQLITE_INTEGER_MAX:
            return f"{value:078d}"
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> int | None:
        return None if value is None else int(value)

    def coerce_compared_value(self, op: Any, value: Any) -> TypeEngine[Any]:
        # Comparisons with plain Python ints bind through this type's conversion.
        return self


def snake_case(name: str) -> str:
    """`intervalStart` → `interval_start`, `priceMicroPerKWh` → `price_micro_per_kwh`."""
    name = name.replace("KWh", "Kwh")
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name)
    return spaced.lower()


# Columns every event row carries before its arguments.
ROW_COLUMNS = ("block_number", "log_index", "tx_hash", "block_time", "address", "confirmed")


@dataclass(frozen=True)
class EventTable:
    """Where one event of one contract goes, and how its decoded arguments become columns."""

    contract: str  # the manifest's name: "token", "market", ...
    artifact: str
    event: str
    table: Table
    arguments: tuple[tuple[str, str, str], ...]  # (ABI name, column, ABI type)


def _column_type(abi_type: str) -> TypeEngine[Any]:
    if abi_type.endswith("]") or abi_type.startswith("tuple"):
        return JSON()
    if abi_type == "address":
        return String(42)
    if abi_type == "bool":
        return Boolean()
    if abi_type == "string" or abi_type == "bytes":
        return Text()
    if abi_type.startswith("bytes"):
        return String(66)
    match = re.fullmatch(r"u?int(\d*)", abi_type)
    if match is None:
        raise IndexerError(f"no column type for the ABI type {abi_type}")
    bits = int(match.group(1) or 256)
    return BigInteger() if bits <= 32 else Uint()


def _event_table(contract: str, artifact_name: str, entry: dict[str, Any]) -> EventTable:
    name = f"{contract}_{snake_case(entry['name'])}"
    arguments: list[tuple[str, str, str]] = []
    columns: list[Column[Any]] = []
    for position, param in enumerate(entry["inputs"]):
        column = snake_case(param["name"]) if param["name"] else f"arg{position}"
        if column in ROW_COLUMNS:
            raise IndexerError(f"{artifact_name}.{entry['name']} has an argument named {column}")
        abi_type = topic_type(param) if param["indexed"] else str(param["type"])
        arguments.append((str(param["name"]), column, abi_type))
        # Topics are what callers filter by; interval_start is what every time-range query does.
        indexed = bool(param["indexed"]) or column == "interval_start"
        columns.append(Column(column, _column_type(abi_type), index=indexed))
    table = Table(
        name,
        metadata,
        Column("block_number", BigInteger, primary_key=True, autoincrement=False),
        Column("log_index", Integer, primary_key=True, autoincrement=False),
        Column("tx_hash", String(66), nullable=False),
        Column("block_time", BigInteger, nullable=False, index=True),
        Column("address", String(42), nullable=False),
        Column("confirmed", Boolean, nullable=False, default=False),
        *columns,
    )
    return EventTable(contract, artifact_name, str(entry["name"]), table, tuple(arguments))


def _event_tables() -> dict[tuple[str, str], EventTable]:
    tables: dict[tuple[str, str], EventTable] = {}
    for contract, artifact_name in CONTRACT_ARTIFACTS.items():
        for entry in load_artifact(artifact_name).abi:
            if entry["type"] == "event":
                tables[(contract, str(entry["name"]))] = _event_table(contract, artifact_name, entry)
    return tables


# (contract, event name) → its table.
EVENT_TABLES = _event_tables()

# Every log the indexer took, decoded or not, in chain order: the audit feed, and where the
# confirmed flag is kept for the rows of every table.
events = Table(
    "events",
    metadata,
    Column("block_number", BigInteger, primary_key=True, autoincrement=False),
    Column("log_index", Integer, primary_key=True, autoincrement=False),
    Column("tx_hash", String(66), nullable=False),
    Column("block_time", BigInteger, nullable=False),
    Column("address", String(42), nullable=False),
    Column("contract", String(32), nullable=False),
    Column("event", String(64), nullable=True, index=True),  # None: a log no ABI decodes
    Column("table_name", String(64), nullable=True),
    Column("raw", Text, nullable=True),  # topics and data in hex, for an undecoded log
    Column("confirmed", Boolean, nullable=False, default=False),
    Index(None, "confirmed", "block_number"),
)

# One row per fill of each settlement (IntervalSettled packs them into arrays).
market_fills = Table(
    "market_fills",
    metadata,
    Column("block_number", BigInteger, primary_key=True, autoincrement=False),
    Column("log_index", Integer, primary_key=True, autoincrement=False),
    Column("fill_index", Integer, primary_key=True, autoincrement=False),
    Column("block_time", BigInteger, nullable=False, index=True),
    Column("interval_start", Uint, nullable=False, index=True),
    Column("order_hash", String(66), nullable=False),
    Column("trader", String(42), nullable=False, index=True),
    Column("side", String(4), nullable=False),  # "buy" | "sell"
    Column("filled_wh", Uint, nullable=False),
    Column("payment_units", Uint, nullable=False),
    # A buy's grid fee, derived from the settlement's total (decode.solve_fee); NULL for a sell,
    # and for a buy of a settlement whose buys did not all pay one fee per kWh.
    Column("grid_fee_units", Uint, nullable=True),
    Column("clearing_price_per_kwh", Uint, nullable=False),
    Column("confirmed", Boolean, nullable=False, default=False),
)

# The blocks the indexer has taken, by hash: the chain it believes in. Kept for every block
# that held a log and for the recent ones; a reorg is found where a stored hash is no longer
# the node's, and the newest block whose hash still is, is the common ancestor.
indexed_blocks = Table(
    "indexed_blocks",
    metadata,
    Column("number", BigInteger, primary_key=True, autoincrement=False),
    Column("hash", String(66), nullable=False),
    Column("parent_hash", String(66), nullable=False),
    Column("timestamp", BigInteger, nullable=False),
    Column("log_count", Integer, nullable=False),
)

# One row: which deployment this database indexes, and how far.
indexer_state = Table(
    "indexer_state",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("chain_id", BigInteger, nullable=False),
    Column("deployment", JSON, nullable=False),  # contract name → address (lower case)
    Column("start_block", BigInteger, nullable=False),
    Column("cursor_block", BigInteger, nullable=False),  # every block up to here is indexed
    Column("head_block", BigInteger, nullable=False),  # the node's head when last asked
    Column("confirmed_block", BigInteger, nullable=False),  # rows up to here are confirmed
    Column("confirmation_depth", Integer, nullable=False),
    Column("reorgs", Integer, nullable=False),
    Column("deepest_reorg", Integer, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
)

ROW_TABLES: tuple[Table, ...] = (events, market_fills, *(t.table for t in EVENT_TABLES.values()))


def table_named(name: str) -> Table:
    """A table of the index by name; IndexerError if there is none."""
    table = metadata.tables.get(name)
    if table is None:
        raise IndexerError(f"the index has no table {name}")
    return table


def as_int(value: int | Decimal) -> int:
    """A Uint column's value as PostgreSQL's NUMERIC sums give it back (Decimal) or SQLite's (int)."""
    return int(value)
