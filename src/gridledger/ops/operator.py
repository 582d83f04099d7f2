"""The market operator as a long-running service against a live node (`gridledger operate`).

Every interval, in order and none skipped: when the chain's clock has passed the interval's
end and the gate delay, the operator freezes the interval's book from the signed orders in its
inbox, closes the gate on-chain, leaves out what escrow no longer funds, clears and settles,
and publishes the book. Every step is logged as one JSON line. With a network model
(`ops.grid_model`) the clearing is grid-feasible around the interval's measured loads, and the
grid operator's key posts them.

Restart anywhere is safe because the chain, not the operator, says what is done: a settled
interval is never settled again (the contract refuses a second settlement, and the operator
asks `isSettled` first); a gate the operator closed before a crash is taken up again with the
frozen book it committed to; a gate that expired meanwhile is closed again once the contract's
cooldown ends. The inbox is a folder, `<orders>/<interval-start>/*.json`, one signed order a
file (the published book's order shape); its receipt order is the files' modification times.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from gridledger.chain.abi import load_artifact
from gridledger.chain.deploy import ClockedChain, System
from gridledger.chain.sender import ReceiptTimeout, TransportError
from gridledger.errors import ContractRevertError, InputError, MarketError, OrderRejected
from gridledger.market.book import INTERVAL_SECONDS, IntervalBook
from gridledger.market.clearing import ClearingMechanism
from gridledger.market.orders import Side, SignedOrder, market_domain_separator
from gridledger.market.settlement import BeforeSubmit, IntervalOutcome, MarketOperator
from gridledger.ops.files import read_json_object, write_json_atomically
from gridledger.ops.grid_model import LiveGridModel, MeasuredInterval
from gridledger.ops.inbox import frozen_book_path, read_inbox

DEFAULT_GATE_DELAY_S = 60
MAX_OUTAGE_WAIT_S = 60.0
STATE_FILE = "operator.json"
HEALTH_FILE = "health.json"


class JsonLog:
    """Structured log: one JSON object per line, `event` first."""

    def __init__(self, write: Callable[[str], None]) -> None:
        self._write = write

    def __call__(self, event: str, **fields: object) -> None:
        self._write(json.dumps({"event": event, "at": round(time.time(), 3), **fields}))


@dataclass(frozen=True)
class OperatorConfig:
    orders: Path  # the inbox
    state: Path  # frozen books, progress, health
    gate_delay_s: int = DEFAULT_GATE_DELAY_S
    poll_s: float = 1.0
    first_interval: int | None = None  # where a new operator starts (default: the current one)


class MarketService:
    """The operator's loop over intervals (module docstring)."""

    def __init__(
        self,
        chain: ClockedChain,
        system: System,
        operator: str,
        config: OperatorConfig,
        log: JsonLog,
        grid: LiveGridModel | None = None,
        grid_operator: str | None = None,
    ) -> None:
        """`grid`: clear grid-feasibly around each interval's measured loads; `grid_operator`
        (with `grid`): post the measured loads to GridManagement with that key."""
        self._grid = grid
        self._grid_operator = grid_operator
        self._chain = chain
        self._system = system
        self._config = config
        self._log = log
        self._market_abi = load_artifact("EnergyMarket")
        self._operator = MarketOperator(chain, system.market, operator)
        self._domain = market_domain_separator(chain.chain_id, system.market)
        self._pair_id = int(chain.call(self._market_abi, system.market, "PAIR_ID")[0])
        progress = self._read_progress()
        self.last_processed: int | None = progress.get("lastProcessed")
        self.last_settled: int | None = progress.get("lastSettled")

    # ------------------------------------------------------------ the loop
    def next_interval(self, chain_now: int) -> int:
        if self.last_processed is not None:
            return self.last_processed + INTERVAL_SECONDS
        if self._config.first_interval is not None:
            return self._config.first_interval - self._config.first_interval % INTERVAL_SECONDS
        return chain_now - chain_now % INTERVAL_SECONDS

    def gate_time(self, interval_start: int) -> int:
        """When the interval's gate closes: its end, then the meters' reporting delay."""
        return interval_start + INTERVAL_SECONDS + self._config.gate_delay_s

    def run_due(self, stop: threading.Event | None = None) -> int:
        """Process every interval whose gate time the chain's clock has passed (until `stop` is
        set, between intervals); how many."""
        done = 0
        while stop is None or not stop.is_set():
            chain_now = self._chain.timestamp
            interval = self.next_interval(chain_now)
            if chain_now < self.gate_time(interval):
                self._write_health(chain_now)
                return done
            self.process(interval)
            done += 1
        return done

    def run(self, stop: threading.Event, max_intervals: int | None = None) -> None:
        """Until `stop` is set (or `max_intervals` are processed), following the chain's clock.
        A node that stops answering is waited for (with doubling pauses up to a minute), and
        the interval in hand is taken up again where the chain says it stands."""
        processed = 0
        outage_wait_s = self._config.poll_s
        while not stop.is_set():
            try:
                processed += self.run_due(stop)
            except (TransportError, ReceiptTimeout) as fault:
                self._log("node_unreachable", reason=str(fault), retry_in_s=outage_wait_s)
                stop.wait(outage_wait_s)
                outage_wait_s = min(2 * outage_wait_s, MAX_OUTAGE_WAIT_S)
                continue
            outage_wait_s = self._config.poll_s
            if max_intervals is not None and processed >= max_intervals:
                return
            stop.wait(self._config.poll_s)

    # ------------------------------------------------------------ one interval
    def process(
        self,
        interval: int,
        mechanism: ClearingMechanism | None = None,
        before_submit: BeforeSubmit | None = None,
    ) -> IntervalOutcome:
        """Settle `interval`, or record why nothing was settled; with a network model, post the
        nodes' measured loads. Safe to repeat after a crash (a load posted twice is the same).
        `mechanism` clears this interval instead of the service's own clearing."""
        measured = None
        if self._grid is not None:
            measured = self._grid.measured(self._chain, self._system, interval)
        outcome = self._settle(interval, measured, mechanism, before_submit)
        if self._grid is not None and self._grid_operator is not None and measured is not None:
            posted = self._grid.post_loads(self._chain, self._system, self._grid_operator, measured)
            self._log("loads_posted", interval=interval, nodes=posted)
        self._finish(interval, outcome.settled)
        return outcome

    def _settle(
        self,
        interval: int,
        measured: MeasuredInterval | None,
        mechanism: ClearingMechanism | None,
        before_submit: BeforeSubmit | None,
    ) -> IntervalOutcome:
        """The interval's gate closure and settlement."""
        market, abi = self._system.market, self._market_abi
        if self._chain.call(abi, market, "isSettled", interval)[0]:
            self._log("already_settled", interval=interval)
            return IntervalOutcome(interval, True, None, 0)
        book = self._frozen_book(interval)
        pending_start, _, deadline = self._chain.call(abi, market, "pendingGate")
        gate_open_for_us = int(pending_start) == interval and self._chain.timestamp < int(deadline)
        if not book.entries:
            self._log("no_orders", interval=interval)
            return IntervalOutcome(interval, False, None, 0)
        if gate_open_for_us:
            self._log("gate_taken_up", interval=interval, deadline=int(deadline))
        else:
            self._close_gate(book)
        self._operator.exclude_unfunded(book)
        if self._grid is not None and measured is not None:
            self._exclude_off_network(book)
            self._operator.mechanism = self._grid.clearing(measured)
        if mechanism is not None:
            self._operator.mechanism = mechanism
        settlement = self._operator.clear(book)
        self._publish(book)
        excluded = len(book.excluded)
        if not settlement.fills:
            self._operator.release_gate(book)
            self._log("nothing_matched", interval=interval, excluded=excluded)
            return IntervalOutcome(interval, False, None, excluded)
        if before_submit is not None:
            before_submit(interval, settlement)
        try:
            self._operator.submit(settlement)
        except ContractRevertError as refused:
            if refused.error_name != "IntervalAlreadySettled":
                raise
            self._log("already_settled", interval=interval, by="an earlier attempt")
            return IntervalOutcome(interval, True, None, excluded)
        result = settlement.result
        self._log(
            "settled",
            interval=interval,
            fills=settlement.matched_orders,
            volume_wh=int(result.volume_wh),
            price_per_kwh=int(result.price_per_kwh),
            excluded=len(book.excluded),
            export_capped=len(book.export_caps_wh),
            gas=self._chain.last_gas_used,
        )
        return IntervalOutcome(interval, True, settlement, excluded)

    def _exclude_off_network(self, book: IntervalBook) -> None:
        """Sells at grid nodes the network model does not place cannot be checked against it."""
        assert self._grid is not None
        for entry in book.live_entries(Side.SELL):
            node = entry.signed.order.grid_node_id
            if node not in self._grid.bus_of_node:
                book.exclude(entry.signed.order_hash, "its grid node is not in the network model")
                self._log(
                    "order_excluded", interval=book.interval_start, node=node, reason="off the network model"
                )

    def _close_gate(self, book: IntervalBook) -> None:
        while True:
            try:
                self._operator.close_gate(book)
                self._log("gate_closed", interval=book.interval_start, orders=len(book.entries))
                return
            except ContractRevertError as refused:
                if refused.error_name not in ("GateCoolingDown", "SettlementPending"):
                    raise
                # An earlier gate (abandoned by a crash that outlasted its deadline) is still
                # pending or cooling down: the contract says until when.
                until = int(str(refused.error_args[-1]))
                self._log("gate_waits", interval=book.interval_start, reason=refused.error_name, until=until)
                while self._chain.timestamp < until:
                    time.sleep(self._config.poll_s)

    def _frozen_book(self, interval: int) -> IntervalBook:
        """The interval's book as frozen at its gate (the same one after any restart)."""
        path = self._book_path(interval)
        if path.exists():
            return IntervalBook.load(path)
        book = IntervalBook(self._pair_id, interval, self._domain)
        now = self._chain.timestamp
        for received_ms, signed, source in self._inbox(interval):
            try:
                book.add(signed, received_ms, now)
            except OrderRejected as rejected:
                self._log("order_rejected", interval=interval, file=source, reason=rejected.reason)
        self._publish(book)
        return book

    def _inbox(self, interval: int) -> list[tuple[int, SignedOrder, str]]:
        def unreadable(name: str, reason: str) -> None:
            self._log("order_unreadable", interval=interval, file=name, reason=reason)

        return [
            (received_ms, signed, path.name)
            for received_ms, signed, path in read_inbox(self._config.orders / str(interval), unreadable)
        ]

    def _publish(self, book: IntervalBook) -> None:
        path = self._book_path(book.interval_start)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_json_atomically(path, json.loads(book.to_json()))

    def _book_path(self, interval: int) -> Path:
        return frozen_book_path(self._config.state, interval)

    # ------------------------------------------------------------ progress and health
    def _finish(self, interval: int, settled: bool) -> None:
        self.last_processed = interval
        if settled:
            self.last_settled = interval
        progress = {"lastProcessed": self.last_processed, "lastSettled": self.last_settled}
        write_json_atomically(self._config.state / STATE_FILE, progress)
        self._write_health(self._chain.timestamp)

    def _read_progress(self) -> dict[str, Any]:
        path = self._config.state / STATE_FILE
        if not path.exists():
            return {}
        return read_json_object(path, "operator progress", MarketError)

    def health(self, chain_now: int) -> dict[str, object]:
        """Last settled and processed intervals and how far behind the chain's clock it is."""
        due = self.next_interval(chain_now)
        lag = max(0, chain_now - self.gate_time(due))
        return {
            "lastProcessedInterval": self.last_processed,
            "lastSettledInterval": self.last_settled,
            "nextInterval": due,
            "chainTime": chain_now,
            "lagSeconds": lag,
        }

    def _write_health(self, chain_now: int) -> None:
        write_json_atomically(self._config.state / HEALTH_FILE, self.health(chain_now))


def serve_health(state: Path, port: int) -> ThreadingHTTPServer:
    """GET /health on 127.0.0.1:`port` answers the operator's last health record (a thread)."""

    class Health(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = state / HEALTH_FILE
            if self.path != "/health" or not path.exists():
                self.send_error(404)
                return
            body = path.read_bytes()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return  # the operator's own log is the record

    try:
        server = ThreadingHTTPServer(("127.0.0.1", port), Health)
    except OSError as taken:
        raise InputError(f"cannot serve health on 127.0.0.1:{port}: {taken.strerror or taken}") from taken
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
