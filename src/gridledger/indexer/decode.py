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
from gridledger.market.orders import Side
from gridledger.market.settlement import ceil_payment_units
from gridledger.market.verify import SettledFill

Rows = dict[Table, list[dict[str, Any]]]


FEE_SEARCH_MAX = 2**64


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
        if sum(ceil_payment_units(w, middle) for w in buys_wh) >= fees_total:
            high = middle
        else:
            low = middle + 1
    return low if sum(ceil_payment_units(w, low) for w in buys_wh) == fees_total else None


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
    unpacked = [
        SettledFill.unpack(order_hash, trader.lower(), packed)
        for order_hash, trader, packed in zip(
            values["orderHashes"], values["traders"], values["fills"], strict=True
        )
    ]
    bought = sum(fill.payment_units for fill in unpacked if fill.side == Side.BUY)
    sold = sum(fill.payment_units for fill in unpacked if fill.side == Side.SELL)
    fee = solve_fee(
        [fill.filled_wh for fill in unpacked if fill.side == Side.BUY],
        values["collectorUnits"] + sold - bought,
    )
    fills = []
    for position, fill in enumerate(unpacked):
        side = "buy" if fill.side == Side.BUY else "sell"
        fills.append(
            {
                "block_number": base["block_number"],
                "log_index": base["log_index"],
                "fill_index": position,
                "block_time": base["block_time"],
                "interval_start": values["intervalStart"],
                "order_hash": _plain(fill.order_hash),
                "trader": fill.trader,
                "side": side,
                "filled_wh": fill.filled_wh,
                "payment_units": fill.payment_units,
                "grid_fee_units": None
                if side == "sell" or fee is None
                else ceil_payment_units(fill.filled_wh, fee),
                "clearing_price_per_kwh": values["clearingPricePerKWh"],
                "confirmed": False,
            }
        )
    return fills
