"""Named crash points for fault tests: `GRIDLEDGER_FAILPOINTS="after-outbox-write=3,before-ack=1"`
makes the process kill itself with SIGKILL the 3rd time it reaches `after-outbox-write`.

A test cannot otherwise stop a process between two given statements: SIGKILL from outside lands
wherever the process happens to be. With no variable set (every real run), `reach` is a
dictionary lookup.
"""

from __future__ import annotations

import os
import signal

from gridledger.errors import InputError

ENVIRONMENT = "GRIDLEDGER_FAILPOINTS"
GATEWAY_FAILPOINTS = ("before-outbox-write", "after-outbox-write", "mid-batch", "after-submit", "before-ack")
INDEXER_FAILPOINTS = ("index-mid-step",)  # inside a step's transaction, rows deleted, none written
KNOWN_FAILPOINTS = GATEWAY_FAILPOINTS + INDEXER_FAILPOINTS


def parse_failpoints(text: str) -> dict[str, int]:
    """`name=count,…` → {name: count}; InputError for an unknown name or a count below 1."""
    chosen: dict[str, int] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, _, count = item.partition("=")
        if name not in KNOWN_FAILPOINTS or not (count.isascii() and count.isdigit()) or int(count) < 1:
            raise InputError(f"{ENVIRONMENT}: {item!r} is not NAME=COUNT, NAME one of {KNOWN_FAILPOINTS}")
        chosen[name] = int(count)
    return chosen


class Failpoints:
    """The crash points of this process, counted down as they are reached."""

    def __init__(self, remaining: dict[str, int] | None = None) -> None:
        self._remaining = (
            dict(remaining) if remaining is not None else parse_failpoints(os.environ.get(ENVIRONMENT, ""))
        )

    def reach(self, name: str) -> None:
        left = self._remaining.get(name)
        if left is None:
            return
        if left > 1:
            self._remaining[name] = left - 1
            return
        os.kill(os.getpid(), signal.SIGKILL)
