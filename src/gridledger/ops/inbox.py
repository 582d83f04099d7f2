"""The operator's order inbox: `<orders>/<interval-start>/<order-hash>.json`, one signed order a
file (the published book's order shape), in receipt order by the files' modification times. The
operator freezes a book from it, the API and the demo's community write to it; all of them read
and write it here, the same way. The books the operator froze are `<state>/books/<start>.json`."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from gridledger.market.book import signed_order_from_json, signed_order_json
from gridledger.market.orders import SignedOrder
from gridledger.ops.files import write_json_atomically


def read_inbox(
    folder: Path, on_unreadable: Callable[[str, str], None] | None = None
) -> list[tuple[int, SignedOrder, Path]]:
    """(received at in ms, order, file) for every readable order of one interval's folder, in
    receipt order; an unreadable file is skipped, and told to `on_unreadable(name, reason)`."""
    if not folder.is_dir():
        return []
    arrivals = sorted((path.stat().st_mtime_ns, path.name, path) for path in folder.glob("*.json"))
    orders: list[tuple[int, SignedOrder, Path]] = []
    for mtime_ns, name, path in arrivals:
        try:
            signed = signed_order_from_json(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, ValueError, TypeError) as bad:
            if on_unreadable is not None:
                on_unreadable(name, str(bad))
            continue
        orders.append((mtime_ns // 1_000_000, signed, path))
    return orders


def deliver(orders: Path, signed: SignedOrder) -> Path:
    """Put a signed order into the inbox (atomically: the operator never reads half of one)."""
    path = orders / str(signed.order.interval_start) / f"{signed.order_hash.hex()}.json"
    write_json_atomically(path, signed_order_json(signed))
    return path


def frozen_book_path(state: Path, interval_start: int) -> Path:
    """Where the operator publishes the book it froze at the interval's gate."""
    return state / "books" / f"{interval_start}.json"
