"""The API's bench line (`make bench`):

- `api.p99_ms`: the 99th percentile latency of one request of the participant page, over an
  index at the scale of a year's community: 10,000 participants and 35,040 fifteen-minute
  intervals. The index is synthetic, written straight into its tables (SQLAlchemy Core
  executemany, rows shaped as `indexer.decode` writes them: lower-case addresses, 0x-hex
  bytes32, fills unpacked into `market_fills`), in a temporary SQLite file migrated as the
  indexer's is. What it holds:

  - per participant: a ParticipantSet (a tenth of them set twice), one device (DeviceRegistered)
    with the last `READING_DAYS` days x 96 ReadingAccepted rows, a PaymentDeposited a month;
  - per generator (`GENERATOR_SHARE` of the participants): a mint a day (Transfer from the zero
    address and EnergyMinted, one lot), and a weekly energy deposit into the market (Transfer
    to the market);
  - per interval: GateClosed and IntervalSettled (the scalar fields set, the fill arrays left
    as empty JSON lists: the fills are in `market_fills`), and `FILLS_PER_INTERVAL` fills
    (half sells, half buys with their grid fee) by randomly chosen participants: ~1.4 M fills,
    ~140 per participant;
  - carbon: a certificate a month for a tenth of the generators (CertificateIssued and its
    TransferSingle mint), half of them partly retired (CreditsRetired and a TransferSingle
    burn);
  - the blocks (`indexed_blocks`, one per interval's block) and `indexer_state`.

  The audit feed (`events`) is left empty: the participant page does not read it.

  Then `SAMPLED_PARTICIPANTS` random participants each get the requests the web app makes for
  their page, one after another: `GET /status` (the app's poll), `/participants/{a}`,
  `/devices/{id}` for each of their devices, `/participants/{a}/trades?limit=100` (what
  participant.js calls), plus `/participants/{a}/lots`, `/carbon/retirements?retiree={a}` and
  the dashboard's `/intervals?from=&to=` over one day. The API runs as it is deployed:
  uvicorn serving `create_app` on 127.0.0.1 (in a thread of this process), asked over HTTP by
  an httpx client; each request's wall time is taken at the client. The line is the 99th
  percentile over every request; the percentiles per request type go to stderr with the
  build's timings.
"""

from __future__ import annotations

import contextlib
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Connection, Table, create_engine, insert

from gridledger.api.app import ApiSettings, create_app
from gridledger.api.server import api_server
from gridledger.indexer.db import migrate, open_database
from gridledger.indexer.schema import EVENT_TABLES, indexed_blocks, indexer_state, market_fills
from gridledger.market.settlement import ceil_payment_units

PARTICIPANTS = 10_000
INTERVALS = 35_040  # a year of 15-minute intervals
INTERVAL_S = 900
READING_DAYS = 2  # the readings each device has in the index (the newest days)
GENERATOR_SHARE = 0.3
FILLS_PER_INTERVAL = 40
SAMPLED_PARTICIPANTS = 300
YEAR_START = 1_704_067_200  # 2024-01-01T00:00Z, on an interval boundary
FIRST_BLOCK = 1_000
BATCH = 50_000
PRICE_PER_KWH = 150_000  # payment units (6 decimals) per kWh
FEE_PER_KWH = 30_000
ZERO = "0x" + "0" * 40
SEED = 20_240_101


def _line(name: str, value: float, unit: str) -> None:
    print(f"BENCH {name} {value:.1f} {unit}", flush=True)


def _log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _table(contract: str, event: str) -> Table:
    return EVENT_TABLES[(contract, event)].table


class _Rand:
    """Addresses and hashes from one seeded generator."""

    def __init__(self, seed: int) -> None:
        self.random = random.Random(seed)

    def address(self) -> str:
        return f"0x{self.random.getrandbits(160):040x}"

    def hash32(self) -> str:
        return f"0x{self.random.getrandbits(256):064x}"


def _block(interval: int, offset: int) -> int:
    """Each interval has three blocks: market (gate, settlement), readings, token/escrow."""
    return FIRST_BLOCK + 3 * interval + offset


def _block_time(interval: int, offset: int) -> int:
    return YEAR_START + INTERVAL_S * (interval + 1) + 30 + 2 * offset


class _Writer:
    """Batches rows per table and writes them with executemany: `insert(table)` compiled once
    and given tuples in column order, which skips SQLAlchemy's per-row bind processing (every
    value here is already what it would bind: ints below 2^63, JSON as text)."""

    def __init__(self, connection: Connection, rand: _Rand) -> None:
        self.connection = connection
        self.rand = rand
        self.pending: dict[Table, list[tuple[Any, ...]]] = {}
        self.statements: dict[Table, tuple[str, list[str]]] = {}
        self.counts: dict[str, int] = {}
        self.tx_hashes = [rand.hash32() for _ in range(4096)]

    def _columns(self, table: Table) -> list[str]:
        if table not in self.statements:
            names = [c.name for c in table.c]
            sql = str(insert(table).compile(dialect=self.connection.dialect, column_keys=names))
            self.statements[table] = (sql, names)
        return self.statements[table][1]

    def row(
        self, table: Table, interval: int, offset: int, log_index: int, address: str, **values: Any
    ) -> None:
        """An event row in the interval's block `offset`."""
        values.update(
            block_number=_block(interval, offset),
            log_index=log_index,
            tx_hash=self.tx_hashes[(interval * 7 + offset * 131 + log_index) % len(self.tx_hashes)],
            block_time=_block_time(interval, offset),
            address=address,
            confirmed=True,
        )
        self.raw(table, values)

    def raw(self, table: Table, values: dict[str, Any]) -> None:
        rows = self.pending.setdefault(table, [])
        rows.append(tuple(values[name] for name in self._columns(table)))
        if len(rows) >= BATCH:
            self.flush(table)

    def flush(self, table: Table | None = None) -> None:
        for each in [table] if table is not None else list(self.pending):
            rows = self.pending.get(each)
            if rows:
                self.connection.exec_driver_sql(self.statements[each][0], rows)
                self.counts[each.name] = self.counts.get(each.name, 0) + len(rows)
                self.pending[each] = []


def build_index(path: Path) -> dict[str, Any]:
    """Write the synthetic year (module docstring) into a new SQLite index at `path`; what the
    measurement needs to know of it (participants, their devices, the deployment)."""
    rand = _Rand(SEED)
    deployment = {
        name: rand.address()
        for name in ("token", "registry", "market", "grid", "carbon", "carbon_pool", "payment_token")
    }
    participants = [rand.address() for _ in range(PARTICIPANTS)]
    devices = [rand.address() for _ in range(PARTICIPANTS)]
    generators = set(rand.random.sample(range(PARTICIPANTS), int(PARTICIPANTS * GENERATOR_SHARE)))
    collector = rand.address()
    engine = open_database(str(path))
    migrate(engine)
    engine.dispose()
    began = time.perf_counter()
    # The build's own engine: no WAL (the indexer's pragmas) and a large page cache, for speed;
    # the file is put back in WAL mode before the API opens it.
    builder = create_engine(f"sqlite:///{path}")
    with builder.connect() as connection:
        for pragma in ("journal_mode=OFF", "synchronous=OFF", "cache_size=-1000000", "temp_store=MEMORY"):
            connection.exec_driver_sql(f"PRAGMA {pragma}")
        connection.commit()
        with connection.begin():
            w = _Writer(connection, rand)

            def done() -> None:
                w.flush()
                _log(f"api bench: {time.perf_counter() - began:6.1f} s, {sum(w.counts.values()):,} rows")

            _setup(w, deployment, participants, devices, generators, collector)
            done()
            _market(w, deployment, participants)
            done()
            _readings(w, deployment, generators)
            done()
            _energy(w, deployment, participants, generators)
            done()
            _carbon(w, deployment, participants, generators)
            _blocks(w)
            done()
            head = _block(INTERVALS - 1, 2)
            connection.execute(
                insert(indexer_state),
                {
                    "id": 1,
                    "chain_id": 31337,
                    "deployment": deployment,
                    "start_block": FIRST_BLOCK,
                    "cursor_block": head,
                    "head_block": head,
                    "confirmed_block": head,
                    "confirmation_depth": 0,
                    "reorgs": 0,
                    "deepest_reorg": 0,
                    "updated_at": int(time.time()),
                },
            )
        connection.exec_driver_sql("PRAGMA journal_mode=WAL")
        connection.commit()
    builder.dispose()
    elapsed = time.perf_counter() - began
    rows = sum(w.counts.values())
    _log(f"api bench: built {rows:,} rows in {elapsed:.1f} s: {w.counts}")
    return {
        "participants": participants,
        "build_s": elapsed,
        "rows": rows,
    }


def _blocks(w: _Writer) -> None:
    """The indexer keeps every block that held a log."""
    for interval in range(INTERVALS):
        for offset in range(3):
            w.raw(
                indexed_blocks,
                {
                    "number": _block(interval, offset),
                    "hash": w.rand.hash32(),
                    "parent_hash": w.rand.hash32(),
                    "timestamp": _block_time(interval, offset),
                    "log_count": 1,
                },
            )


def _setup(
    w: _Writer,
    deployment: dict[str, str],
    participants: list[str],
    devices: list[str],
    generators: set[int],
    collector: str,
) -> None:
    """Verification, meters and the grid fee, in the year's first interval's blocks (and
    re-verifications spread over the year)."""
    participant_set = _table("token", "ParticipantSet")
    registered = _table("registry", "DeviceRegistered")
    fee_set = _table("market", "GridFeeSet")
    w.row(fee_set, 0, 0, 0, deployment["market"], collector=collector, fee_per_kwh=FEE_PER_KWH)
    for index, (participant, device) in enumerate(zip(participants, devices, strict=True)):
        w.row(
            participant_set,
            0,
            2,
            1 + 2 * index,
            deployment["token"],
            participant=participant,
            verified=True,
            jurisdiction=1 + index % 4,
        )
        w.row(
            registered,
            0,
            1,
            PARTICIPANTS + index,
            deployment["registry"],
            device_id=index + 1,
            device=device,
            owner=participant,
            grid_node_id=100 + index % 500,
            kind=2 if index in generators else 1,
            source=0 if index in generators else 5,
            rated_power_w=5_000 if index in generators else 0,
            firmware_hash=w.rand.hash32(),
        )
        if index % 10 == 0:  # re-verified later in the year
            interval = w.rand.random.randrange(96, INTERVALS)
            w.row(
                participant_set,
                interval,
                2,
                900_000 + index,
                deployment["token"],
                participant=participant,
                verified=True,
                jurisdiction=1 + index % 4,
            )


def _market(w: _Writer, deployment: dict[str, str], participants: list[str]) -> None:
    """Every interval's gate and settlement, and its fills."""
    gate = _table("market", "GateClosed")
    settled = _table("market", "IntervalSettled")
    pick = w.rand.random.randrange
    half = FILLS_PER_INTERVAL // 2
    for interval in range(INTERVALS):
        start = YEAR_START + INTERVAL_S * interval
        price = PRICE_PER_KWH + pick(-50_000, 50_000)
        w.row(
            gate,
            interval,
            0,
            0,
            deployment["market"],
            interval_start=start,
            orders_commitment=w.rand.hash32(),
            deadline=start + INTERVAL_S + 60,
        )
        block, block_time = _block(interval, 0), _block_time(interval, 0)
        volume = fees = 0
        for fill in range(FILLS_PER_INTERVAL):
            side = "sell" if fill < half else "buy"
            filled = pick(100, 5_000)
            payment = filled * price // 1000
            fee = ceil_payment_units(filled, FEE_PER_KWH) if side == "buy" else None
            if fee is not None:
                fees += fee
                volume += filled
            w.raw(
                market_fills,
                {
                    "block_number": block,
                    "log_index": 1,
                    "fill_index": fill,
                    "block_time": block_time,
                    "interval_start": start,
                    "order_hash": w.rand.hash32(),
                    "trader": participants[pick(PARTICIPANTS)],
                    "side": side,
                    "filled_wh": filled,
                    "payment_units": payment,
                    "grid_fee_units": fee,
                    "clearing_price_per_kwh": price,
                    "confirmed": True,
                },
            )
        w.row(
            settled,
            interval,
            0,
            1,
            deployment["market"],
            interval_start=start,
            pricing=0,
            clearing_price_per_kwh=price,
            volume_wh=volume,
            collector_units=fees,
            book_hash=w.rand.hash32(),
            order_hashes="[]",
            traders="[]",
            fills="[]",
        )


def _readings(w: _Writer, deployment: dict[str, str], generators: set[int]) -> None:
    """The newest READING_DAYS days of readings of every device, one per interval."""
    accepted = _table("registry", "ReadingAccepted")
    registry = deployment["registry"]
    count = READING_DAYS * 96
    first = INTERVALS - count
    for device in range(PARTICIPANTS):
        generates = device in generators
        import_wh, export_wh = 1_000_000 + device, 500_000 if generates else 0
        for sequence, interval in enumerate(range(first, INTERVALS), start=first):
            consumed = 50 + (sequence * 7 + device) % 400
            minted = (sequence * 13 + device) % 600 if generates and interval % 96 in range(28, 72) else 0
            import_wh += consumed
            export_wh += minted
            w.row(
                accepted,
                interval,
                1,
                device,
                registry,
                device_id=device + 1,
                sequence=sequence,
                interval_start=YEAR_START + INTERVAL_S * interval,
                import_wh=import_wh,
                export_wh=export_wh,
                minted_wh=minted,
                consumed_wh=consumed,
                flags=0,
            )


def _energy(w: _Writer, deployment: dict[str, str], participants: list[str], generators: set[int]) -> None:
    """A mint a day per generator (Transfer + EnergyMinted), a weekly energy deposit into the
    market, and a monthly payment deposit per participant."""
    transfer = _table("token", "Transfer")
    minted = _table("token", "EnergyMinted")
    deposited = _table("market", "PaymentDeposited")
    token, market = deployment["token"], deployment["market"]
    ordered = sorted(generators)
    lot = 0
    for day in range(INTERVALS // 96):
        interval = day * 96 + 95
        for position, index in enumerate(ordered):
            lot += 1
            wh = 5_000 + (day * 31 + index) % 20_000
            w.row(
                minted,
                interval,
                2,
                4 * position,
                token,
                lot_id=lot,
                generator=participants[index],
                interval_start=YEAR_START + INTERVAL_S * (day * 96 + 48),
                previous_epoch_wh=0,
                current_epoch_wh=wh,
            )
            w.row(
                transfer,
                interval,
                2,
                4 * position + 1,
                token,
                **{"from": ZERO, "to": participants[index]},
                value=wh,
            )
            if day % 7 == index % 7:
                w.row(
                    transfer,
                    interval,
                    2,
                    4 * position + 2,
                    token,
                    **{"from": participants[index], "to": market},
                    value=wh // 2,
                )
        for index in range(PARTICIPANTS):
            if index % 30 == day % 30:
                w.row(
                    deposited,
                    interval,
                    2,
                    200_000 + index,
                    market,
                    trader=participants[index],
                    units=50_000_000,
                )


def _carbon(w: _Writer, deployment: dict[str, str], participants: list[str], generators: set[int]) -> None:
    """Monthly certificates for a tenth of the generators, half of them partly retired."""
    issued = _table("carbon", "CertificateIssued")
    single = _table("carbon", "TransferSingle")
    retired = _table("carbon", "CreditsRetired")
    carbon = deployment["carbon"]
    certified = sorted(generators)[::10]
    certificate = retirement = 0
    for month in range(12):
        interval = month * 2_920 + 2_000
        for position, index in enumerate(certified):
            certificate += 1
            holder = participants[index]
            grams = 10_000 + position
            w.row(
                issued,
                interval,
                2,
                300_000 + 3 * position,
                carbon,
                certificate_id=certificate,
                generator=holder,
                device_id=index + 1,
                previous_sequence=0,
                last_sequence=0,
                vintage_start=YEAR_START + month * 2_592_000,
                vintage_end=YEAR_START + (month + 1) * 2_592_000,
                energy_wh=grams * 2,
                co2e_grams=grams,
                expires_at=YEAR_START + 3 * 31_536_000,
            )
            w.row(
                single,
                interval,
                2,
                300_000 + 3 * position + 1,
                carbon,
                operator=carbon,
                **{"from": ZERO, "to": holder},
                id=certificate,
                value=grams,
            )
            if position % 2 == 0:
                retirement += 1
                later = interval + 500
                w.row(
                    retired,
                    later,
                    2,
                    400_000 + 2 * position,
                    carbon,
                    retirement_id=retirement,
                    certificate_id=certificate,
                    retiree=holder,
                    beneficiary=holder,
                    co2e_grams=grams // 2,
                    retired_at=_block_time(later, 2),
                    purpose="scope 2 offset",
                )
                w.row(
                    single,
                    later,
                    2,
                    400_000 + 2 * position + 1,
                    carbon,
                    operator=holder,
                    **{"from": holder, "to": ZERO},
                    id=certificate,
                    value=grams // 2,
                )


# ---------------------------------------------------------------- the measurement
@contextlib.contextmanager
def _serve(path: Path) -> Iterator[str]:
    engine = open_database(str(path))
    try:
        with api_server(create_app(engine, ApiSettings())) as running:
            yield f"{running.url}/api/v1"
    finally:
        engine.dispose()


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def measure(path: Path, participants: list[str]) -> dict[str, list[float]]:
    """Each sampled participant's page, request by request: milliseconds by request type."""
    chosen = random.Random(SEED + 1).sample(participants, SAMPLED_PARTICIPANTS)
    day_start = YEAR_START + INTERVAL_S * (INTERVALS - 96)
    times: dict[str, list[float]] = {}
    with _serve(path) as base, httpx.Client(base_url=base, timeout=30) as client:

        def timed(kind: str, url: str, params: dict[str, Any] | None = None) -> Any:
            began = time.perf_counter()
            answer = client.get(url, params=params)
            elapsed = (time.perf_counter() - began) * 1000
            if answer.status_code != 200:
                raise RuntimeError(f"GET {url} answered {answer.status_code}: {answer.text[:200]}")
            times.setdefault(kind, []).append(elapsed)
            return answer.json()

        for address in chosen[:5]:  # warm up: connections, caches, the app's first calls
            client.get(f"/participants/{address}")
            client.get(f"/participants/{address}/trades", params={"limit": 100})
        page: list[tuple[str, Callable[[str], tuple[str, dict[str, Any] | None]]]] = [
            ("trades", lambda a: (f"/participants/{a}/trades", {"limit": 100})),
            ("lots", lambda a: (f"/participants/{a}/lots", None)),
            ("retirements", lambda a: ("/carbon/retirements", {"retiree": a})),
            ("intervals_day", lambda a: ("/intervals", {"from": day_start, "to": day_start + 86_400})),
        ]
        for address in chosen:
            timed("status", "/status")
            summary = timed("participant", f"/participants/{address}")
            for device in summary["devices"]:
                timed("device", f"/devices/{device['device_id']}")
            for kind, request in page:
                url, params = request(address)
                timed(kind, url, params)
    return times


def run_api() -> None:
    with tempfile.TemporaryDirectory(prefix="gridledger-api-bench-") as folder:
        path = Path(folder) / "index.sqlite"
        built = build_index(path)
        times = measure(path, built["participants"])
    for kind, values in times.items():
        _log(
            f"api bench: {kind:<14} n={len(values):<5} p50 {statistics.median(values):7.1f} ms"
            f"  p99 {_percentile(values, 0.99):7.1f} ms  max {max(values):7.1f} ms"
        )
    every = [v for values in times.values() for v in values]
    _log(f"api bench: all            n={len(every):<5} p50 {statistics.median(every):7.1f} ms")
    _line("api.p99_ms", _percentile(every, 0.99), "ms")


if __name__ == "__main__":
    run_api()
