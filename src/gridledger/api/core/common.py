"""What every query shares: the event tables by name, keyset pagination with opaque cursors,
time ranges, and the contracts' enum names.

Pagination is by keyset, not offset: a page's cursor is the sort key of its last row, so a
page is as cheap at row a million as at row one, and rows the indexer appends while a client
pages never shift what it sees.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, String, Table, and_, or_, select

from gridledger.errors import ApiError
from gridledger.indexer.indexer import IndexerState, read_state
from gridledger.indexer.schema import EVENT_TABLES, Uint, indexed_blocks
from gridledger.market.orders import Pricing

MAX_LIMIT = 500
DEFAULT_LIMIT = 100
MAX_RANGE_S = 31 * 86_400
ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
HASH = re.compile(r"(0x)?[0-9a-fA-F]{64}")

# The contracts' enums (contracts/interfaces/*.sol), by value; tests compare them with the source.
DEVICE_KINDS = ("Producer", "Consumer", "Prosumer", "Storage")
ENERGY_SOURCES = ("Solar", "Wind", "Hydro", "Biomass", "Geothermal", "GridMix", "Storage")
DEVICE_STATUSES = ("Unregistered", "Active", "Maintenance", "Suspended", "Quarantined", "Decommissioned")
REJECT_REASONS = (
    "None",
    "UnknownDevice",
    "BadSignature",
    "DeviceNotActive",
    "OwnerNotVerified",
    "StaleSequence",
    "MisalignedInterval",
    "IntervalNotAfterLast",
    "IntervalInFuture",
    "IntervalTooOld",
    "ValueOutOfRange",
    "TamperFlag",
    "FirmwareNotApproved",
    "RegisterRollback",
    "ImpossibleDelta",
    "MintRefused",
)
ZONE_STATES = ("Normal", "Peak", "Emergency")
NODE_TYPES = ("Producer", "Consumer", "Prosumer", "Storage", "Transformer")
BURN_CAUSES = ("Holder", "Consumption")
# The market's pricing rules by number, as IntervalSettled carries them.
PRICINGS = tuple(rule.name.lower() for rule in Pricing)


def enum_name(names: Sequence[str], value: int) -> str:
    """The enum member's name, or its number for a value newer than this vocabulary."""
    return names[value] if 0 <= value < len(names) else str(value)


def event_table(contract: str, event: str) -> Table:
    return EVENT_TABLES[(contract, event)].table


def index_state(connection: Connection) -> IndexerState:
    """The indexer's bookkeeping; 503 while the database has never been indexed."""
    state = read_state(connection)
    if state is None:
        raise ApiError(503, "not-indexed", "Index is empty", "the indexer has not indexed this database yet")
    return state


def address(text: str, what: str = "address") -> str:
    """`text` as a lower-case address; 422 if it is not 0x and 40 hex digits."""
    if ADDRESS.fullmatch(text) is None:
        raise ApiError(
            422, "invalid-address", "Invalid address", f"{what} must be 0x and 40 hex digits", field=what
        )
    return text.lower()


def hash32(text: str, what: str = "hash") -> str:
    """`text` as a lower-case 0x-prefixed 32-byte hex; 422 otherwise."""
    if HASH.fullmatch(text) is None:
        raise ApiError(422, "invalid-hash", "Invalid hash", f"{what} must be 32 bytes in hex", field=what)
    return "0x" + text.lower().removeprefix("0x")


def latest_rows(
    connection: Connection, table: Table, key: ColumnElement[Any], keys: Sequence[int]
) -> dict[int, dict[str, Any]]:
    """The newest row of an event table for each of `keys` (of column `key`) that has one: one
    query for all of them, not one each."""
    rows = connection.execute(
        select(table).where(key.in_(list(keys))).order_by(table.c.block_number, table.c.log_index)
    ).mappings()
    return {int(row[key.name]): dict(row) for row in rows}  # later rows overwrite earlier ones


# ---------------------------------------------------------------- pagination
@dataclass(frozen=True)
class PageRequest:
    limit: int = DEFAULT_LIMIT
    after: tuple[Any, ...] | None = None  # the sort key of the previous page's last row


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    next_cursor: str | None


def listing_tag(columns: Sequence[ColumnElement[Any]], newest_first: bool = False) -> str:
    """Names the listing a cursor belongs to (its sort columns and direction), so a cursor of
    one listing is refused by another of the same shape."""
    names = ",".join(
        f"{table.name if isinstance(table := getattr(column, 'table', None), Table) else '-'}."
        f"{getattr(column, 'name', '?')}"
        for column in columns
    )
    return hashlib.sha256(f"{names}|{newest_first}".encode()).hexdigest()[:12]


def encode_cursor(key: Sequence[Any], listing: str) -> str:
    """An opaque cursor for a sort key of `listing` (ints become strings, so no JSON number
    loses digits)."""
    raw = json.dumps([listing, *(str(v) if isinstance(v, int) else v for v in key)], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[Any, ...]:
    """The sort key inside a cursor; 400 if it is not one this API made."""
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError) as bad:
        raise ApiError(
            400, "invalid-cursor", "Invalid cursor", "the cursor is not one this API issued"
        ) from bad
    if not isinstance(raw, list) or not raw or not all(isinstance(v, str) for v in raw):
        raise ApiError(400, "invalid-cursor", "Invalid cursor", "the cursor is not one this API issued")
    return tuple(raw)


def cursor_key(cursor: tuple[Any, ...], listing: str) -> tuple[Any, ...]:
    """The sort key of a cursor made for `listing`; 400 for a cursor of another listing."""
    if not cursor or cursor[0] != listing:
        raise ApiError(400, "invalid-cursor", "Invalid cursor", "the cursor belongs to another listing")
    return tuple(cursor[1:])


def _typed_key(key: tuple[Any, ...], columns: Sequence[ColumnElement[Any]]) -> tuple[Any, ...]:
    """The cursor's strings back as the columns' values: text for String columns, else ints."""
    foreign = ApiError(400, "invalid-cursor", "Invalid cursor", "the cursor belongs to another listing")
    if len(key) != len(columns):
        raise foreign
    typed: list[Any] = []
    for value, column in zip(key, columns, strict=True):
        if isinstance(column.type, String):
            if not isinstance(value, str):
                raise foreign
            typed.append(value)
            continue
        try:
            number = int(value)
        except (TypeError, ValueError) as bad:
            raise foreign from bad
        # Within what the column holds: a forged cursor must not reach the database driver.
        low, high = (0, 2**256) if isinstance(column.type, Uint) else (-(2**63), 2**63)
        if not low <= number < high:
            raise foreign
        typed.append(number)
    return tuple(typed)


def after_key(
    columns: Sequence[ColumnElement[Any]], key: tuple[Any, ...], newest_first: bool = False
) -> ColumnElement[bool]:
    """Rows sorting after `key` in (columns...) order, ascending or, `newest_first`, descending;
    spelled out rather than as a row-value comparison so that each column compares through its
    own type (Uint on SQLite)."""
    conditions: list[ColumnElement[bool]] = []
    for position, column in enumerate(columns):
        equal_before = [columns[i] == key[i] for i in range(position)]
        beyond = column < key[position] if newest_first else column > key[position]
        conditions.append(and_(*equal_before, beyond))
    return or_(*conditions)


def keyset_page(
    connection: Connection,
    query: Select[Any],
    columns: Sequence[ColumnElement[Any]],
    page: PageRequest,
    key_of: Any = None,
    newest_first: bool = False,
) -> tuple[list[dict[str, Any]], str | None]:
    """Run `query` ordered by `columns` (descending if `newest_first`) from after the page's
    cursor; the rows (as mappings) and the next cursor, None on the last page. `key_of(row)`
    gives a row's sort key when the columns are not selected under their own names."""
    listing = listing_tag(columns, newest_first)
    if page.after is not None:
        key = _typed_key(cursor_key(page.after, listing), columns)
        query = query.where(after_key(columns, key, newest_first))
    order = [column.desc() for column in columns] if newest_first else list(columns)
    rows = [dict(r) for r in connection.execute(query.order_by(*order).limit(page.limit + 1)).mappings()]
    if len(rows) <= page.limit:
        return rows, None
    rows = rows[: page.limit]
    last = rows[-1]
    key = key_of(last) if key_of is not None else tuple(last[c.name] for c in columns)
    return rows, encode_cursor(key, listing)


# ---------------------------------------------------------------- time ranges
@dataclass(frozen=True)
class TimeRange:
    """[start, end) in unix seconds."""

    start: int
    end: int


def time_range(start: int | None, end: int | None, latest: int, cap_s: int = MAX_RANGE_S) -> TimeRange:
    """The requested range, `end` defaulting to just after `latest` (the index's newest block
    time) and `start` to `cap_s` before `end`; 400 if it is empty or longer than the cap."""
    stop = end if end is not None else latest + 1
    begin = start if start is not None else max(0, stop - cap_s)
    if begin >= stop:
        raise ApiError(
            400, "invalid-range", "Invalid time range", f"from ({begin}) must be before to ({stop})"
        )
    if stop - begin > cap_s:
        raise ApiError(
            400,
            "range-too-long",
            "Time range too long",
            f"the range spans {stop - begin} s; at most {cap_s} s ({cap_s // 86_400} days) per request",
        )
    return TimeRange(begin, stop)


def latest_block_time(connection: Connection) -> int:
    """The newest block time the index holds (0 for an empty index): where default ranges end."""
    # The newest block by number (the primary key), not max(timestamp), which scans.
    value = connection.execute(
        select(indexed_blocks.c.timestamp).order_by(indexed_blocks.c.number.desc()).limit(1)
    ).scalar()
    return int(value) if value is not None else 0


def chain_key(table: Table) -> list[ColumnElement[Any]]:
    """A table's place-in-chain key, the usual sort of event rows."""
    return [table.c.block_number, table.c.log_index]


ROW_META_COLUMNS = ("block_number", "log_index", "tx_hash", "block_time", "confirmed")


def meta_columns(table: Any) -> list[Any]:
    """An event table's (or subquery's) columns that `row_meta` reads, to select in a union."""
    return [table.c[name] for name in ROW_META_COLUMNS]


def row_meta(row: dict[str, Any]) -> dict[str, Any]:
    """Where an event row is in the chain, as every item that is one event shows it."""
    return {
        "block_number": int(row["block_number"]),
        "log_index": int(row["log_index"]),
        "tx_hash": row["tx_hash"],
        "block_time": int(row["block_time"]),
        "confirmed": bool(row["confirmed"]),
    }
