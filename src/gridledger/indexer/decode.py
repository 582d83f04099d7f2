"""Logs → table rows, through the artifacts' own event decoder (`Artifact.decode_event`), the
one the rest of gridledger reads events with."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Table

from gridledger.chain.abi import EventLog, load_artifact
from gridledger.indexer.schema import EVENT_TABLES, EventTable, events, market_fills
from gridledger.indexer.source import ChainLog

# IntervalSettled packs each fill: filledWh in bits 0..63, paymentUnits in bits 64..191, and
# the side in bit 255 (1 = buy) — IEnergyMarket's NatSpec.
FILLED_WH_MASK = (1 << 64) - 1
PAYMENT_UNITS_SHIFT = 64
PAYMENT_UNITS_MASK = (1 << 128) - 1
BUY_SIDE_BIT = 255

Rows = dict[Table, list[dict[str, Any]]]


FEE_SEARCH_MAX = 2**64


def fee_units(filled_wh: int, fee_per_kwh: int) -> int:
    """The grid fee of a buy, rounded up as EnergyMarket rounds it."""
    return (filled_wh * fee_per_kwh + 999) // 1000


def solve_fee(buys_wh: list[int], fees_total: int) -> int | None:
    """The one fee per kWh f with Σ ceil(w·f/1000) over the buys = fees_total, or None.

    A settlement's event carries each fill's payment units and the collector's total
    (`collectorUnits` = buyers' dues - sellers' receipts), not each buy's fee. With one fee per
    kWh for all its buys (no zone in peak) the fee is the one f that closes the difference:
    every term is monotone in f, so when f exists each buy's fee is unique. A settlement where
    none fits (peak fees) leaves its buys' fees unknown (NULL), never guessed."""
    if fees_total == 0:
        return 0
    if fees_total < 0 or not buys_wh:
        return None
    low, high = 0, FEE_SEARCH_MAX
    while low < high:  # the smallest f whose total reaches fees_total
        middle = (low + high) // 2
        if sum(fee_units(w, middle) for w in buys_wh) >= fees_total:
            high = middle
        else:
            low = middle + 1
    return low if sum(fee_units(w, low) for w in buys_wh) == fees_total else None


def unpack_fill(packed: int) -> tuple[str, int, int]:
    """(side, filled Wh, payment units) of one packed fill."""
    side = "buy" if packed >> BUY_SIDE_BIT & 1 else "sell"
    return side, packed & FILLED_WH_MASK, packed >> PAYMENT_UNITS_SHIFT & PAYMENT_UNITS_MASK


def _plain(value: Any) -> Any:
    """A decoded ABI value as a column takes it: bytes as 0x-hex, arrays and structs as JSON lists."""
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, (tuple, list)):
        return [_plain(item) for item in value]
    return value


class EventDecoder:
    """Decodes the logs of one deployment (contract name → address) into rows."""

    def __init__(self, deployment: dict[str, str]) -> None:
        self.contract_at = {address.lower(): name for name, address in deployment.items()}
        self._tables: dict[tuple[str, str], EventTable] = {}
        artifact_of: dict[str, str] = {}
        for (contract, event), table in EVENT_TABLES.items():
            artifact_of[contract] = table.artifact
            self._tables[(contract, event)] = table
        self._artifact_of_contract = {name: load_artifact(artifact_of[name]) for name in artifact_of}

    @property
    def addresses(self) -> list[str]:
        return sorted(self.contract_at)

    def rows(self, logs: Iterable[ChainLog], block_times: dict[int, int]) -> Rows:
        """The rows of `logs`, by table: each in `events`, each decoded one in its event's table,
        and each settlement's fills in `market_fills`."""
        rows: Rows = defaultdict(list)
        for log in logs:
            contract = self.contract_at.get(log.address)
            if contract is None:
                continue
            base = {
                "block_number": log.block_number,
                "log_index": log.log_index,
                "tx_hash": log.tx_hash,
                "block_time": block_times[log.block_number],
                "address": log.address,
                "confirmed": False,
            }
            decoded = self._decode(contract, log)
            if decoded is None:
                raw = "0x" + "".join(t.hex() for t in log.topics) + ":0x" + log.data.hex()
                rows[events].append(
                    {**base, "contract": contract, "event": None, "table_name": None, "raw": raw}
                )
                continue
            event_table, values = decoded
            table = event_table.table
            rows[events].append(
                {
                    **base,
                    "contract": contract,
                    "event": event_table.event,
                    "table_name": table.name,
                    "raw": None,
                }
            )
            row = dict(base)
            for abi_name, column, _ in event_table.arguments:
                row[column] = _plain(values[abi_name])
            rows[table].append(row)
            if table.name == "market_interval_settled":
                rows[market_fills].extend(_fills(base, values))
        return rows

    def _decode(self, contract: str, log: ChainLog) -> tuple[EventTable, dict[str, Any]] | None:
        try:
            decoded = self._artifact_of_contract[contract].decode_event(
                EventLog(log.address, list(log.topics), log.data)
            )
        except Exception:  # eth_abi's decoding errors: a log that only looks like our event
            return None
        if decoded is None:
            return None
        name, values = decoded
        return self._tables[(contract, name)], values


def _fills(base: dict[str, Any], values: dict[str, Any]) -> list[dict[str, Any]]:
    unpacked = [unpack_fill(packed) for packed in values["fills"]]
    bought = sum(units for side, _, units in unpacked if side == "buy")
    sold = sum(units for side, _, units in unpacked if side == "sell")
    fee = solve_fee(
        [wh for side, wh, _ in unpacked if side == "buy"], values["collectorUnits"] + sold - bought
    )
    fills = []
    for position, (order_hash, trader, (side, filled_wh, payment_units)) in enumerate(
        zip(values["orderHashes"], values["traders"], unpacked, strict=True)
    ):
        fills.append(
            {
                "block_number": base["block_number"],
                "log_index": base["log_index"],
                "fill_index": position,
                "block_time": base["block_time"],
                "interval_start": values["intervalStart"],
                "order_hash": _plain(order_hash),
                "trader": trader.lower(),
                "side": side,
                "filled_wh": filled_wh,
                "payment_units": payment_units,
                "grid_fee_units": None
                if side == "sell"
                else None
                if fee is None
                else fee_units(filled_wh, fee),
                "clearing_price_per_kwh": values["clearingPricePerKWh"],
                "confirmed": False,
            }
        )
    return fills
