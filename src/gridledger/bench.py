"""`make bench`: gas from receipts of real transactions on a local anvil.

Prints one `BENCH <name> <value> <unit>` line per metric. Gas is receipt `gasUsed`
(21,000 base + calldata + execution, cold state as a user meets it), amortised where the
name says so. The reading batch is measured once every device's 16-entry history ring has
been written through (after a device's first four hours, the state it stays in); the
first-round figure, which writes fresh storage, is printed too.
"""

from __future__ import annotations

import dataclasses
import statistics
import time
from collections.abc import Callable
from datetime import date

import numpy as np
from eth_account import Account
from eth_account.signers.local import LocalAccount

from gridledger.api.bench import run_api
from gridledger.carbon.verifier import CarbonVerifier
from gridledger.chain.abi import load_artifact
from gridledger.chain.deploy import (
    ENERGY_PAIR_ID,
    MARKET_OPERATOR,
    System,
    deploy_local_system,
    governor_keys,
    named_account,
)
from gridledger.chain.embedded import EmbeddedChain
from gridledger.chain.governance import Governance
from gridledger.chain.hashing import keccak
from gridledger.chain.live import LiveChain
from gridledger.chain.rpc import RpcChain, anvil_node
from gridledger.chain.sender import JsonRpc, TransactionSender
from gridledger.grid.network import GridNetwork
from gridledger.grid.onchain import HOUSEHOLD_CONNECTION_W, GridRegistrar, NodeType
from gridledger.indexer.bench import run_index
from gridledger.iot.bench import run_iot
from gridledger.market.book import IntervalBook
from gridledger.market.clearing import BookSide, clear_uniform
from gridledger.market.escrow import deposit_energy, deposit_payment_with_permit, mint_test_dollars
from gridledger.market.orders import Order, Side, TraderKey, market_domain_separator
from gridledger.market.settlement import MarketOperator
from gridledger.meter.signing import (
    DeviceKey,
    DeviceKind,
    EnergySource,
    MeterReading,
    encode_device_data,
    pack_readings,
    registry_domain_separator,
)
from gridledger.sim.grid_study import GridStudy, compare_with_acopf, excess_curtailment_pct, study_grid
from gridledger.sim.metered import MeteredChain
from gridledger.sim.reconcile import reconcile
from gridledger.sim.run import Simulation
from gridledger.sim.scenario import build_community

BATCH = 100
HISTORY_LENGTH = 16
INTERVAL_S = 900
START_TIME = 1_750_000_500
FIRMWARE = keccak(text="bench-fw")
RATED_POWER_W = 10_000
LIVE_TRANSACTIONS = 300
FIRST_TRADE = "first trade"
RECURRING_TRADE = "recurring trade"


_account = named_account


def _line(name: str, value: float, unit: str, decimals: int = 0) -> None:
    print(f"BENCH {name} {value:.{decimals}f} {unit}", flush=True)


def run(chain: RpcChain) -> None:
    gateway, operator, regulator = (_account(n) for n in ("gateway", "operator", "regulator"))
    system = deploy_local_system(chain, [FIRMWARE])
    token, registry = load_artifact("EnergyToken"), load_artifact("SmartMeterRegistry")
    # Prosumers have real keys: they sign market orders after they sign nothing else here.
    trader_keys = [TraderKey(keccak(text=f"prosumer-{i}")) for i in range(BATCH + 1)]
    owners = [key.address for key in trader_keys]
    keys = [DeviceKey(keccak(text=f"meter-{i}")) for i in range(BATCH)]
    # Every prosumer has a grid node of its own on one feeder, a household connection.
    grid = GridRegistrar(chain, system, _account("grid-operator"))
    grid.create_zone(1, 0, 10**9)
    for i, owner in enumerate(owners):
        chain.transact(regulator, token, system.token, "setParticipant", owner, True, 276)
        if i < BATCH:
            node = grid.register_node(owner, NodeType.PROSUMER, 1)
            grid.set_connection_capacity(node, HOUSEHOLD_CONNECTION_W)
            data = encode_device_data(
                owner, node, DeviceKind.PROSUMER, EnergySource.SOLAR, RATED_POWER_W, FIRMWARE
            )
            chain.transact(operator, registry, system.registry, "registerDevice", keys[i].address, data)
    domain = registry_domain_separator(chain.chain_id, system.registry)
    first_interval = START_TIME - START_TIME % INTERVAL_S

    def submit_round(k: int) -> int:
        start = first_interval + k * INTERVAL_S
        chain.set_time(start + INTERVAL_S + 30)
        batch = [
            keys[i].sign_reading(
                MeterReading(i + 1, k + 1, start, 150 * (k + 1), 1_500 * (k + 1) + i, 0, FIRMWARE), domain
            )
            for i in range(BATCH)
        ]
        chain.transact(gateway, registry, system.registry, "submitReadings", pack_readings(batch))
        return chain.last_gas_used

    first_round = submit_round(0)
    for k in range(1, HISTORY_LENGTH):
        submit_round(k)
    steady = submit_round(HISTORY_LENGTH)
    _line("gas.meter.per_reading_batch100", steady / BATCH, "gas")
    _line("gas.meter.per_reading_batch100_first_ring_round", first_round / BATCH, "gas")

    # One reading from the device's own key (submitReading), an existing device.
    chain.set_time(first_interval + (HISTORY_LENGTH + 2) * INTERVAL_S + 30)
    chain.transact(
        keys[0].address, registry, system.registry, "submitReading", 1, 1_500 * (HISTORY_LENGTH + 2)
    )
    _line("gas.meter.single_reading", chain.last_gas_used, "gas")

    sender = owners[0]
    chain.transact(sender, token, system.token, "transferEnergy", owners[1], 10)
    chain.transact(sender, token, system.token, "transferEnergy", owners[1], 10)
    _line("gas.token.transfer_existing_holder", chain.last_gas_used, "gas")

    recipients = owners[1 : BATCH + 1]
    chain.transact(sender, token, system.token, "transferEnergyBatch", recipients, [1] * len(recipients))
    batch_gas = chain.last_gas_used
    chain.transact(sender, token, system.token, "transferEnergy", owners[1], 1)
    single_gas = chain.last_gas_used
    _line("gas.token.batch_transfer_per_recipient", (batch_gas - single_gas) / (len(recipients) - 1), "gas")

    run_market(chain, system, trader_keys[:BATCH], first_interval + (HISTORY_LENGTH + 4) * INTERVAL_S)

    run_carbon(
        chain,
        system,
        owners[1],
        device_id=2,
        vintage_start=first_interval,
        more_readings=lambda: submit_round(HISTORY_LENGTH + 8),
    )
    run_consumers(chain, system, grid)


def run_consumers(chain: RpcChain, system: System, grid: GridRegistrar) -> None:
    """Receipt gas of a batch of 100 consumption meters (import only) whose owners hold no
    energy, so a reading mints and burns nothing; measured once their history rings wrapped."""
    token, registry = load_artifact("EnergyToken"), load_artifact("SmartMeterRegistry")
    regulator, operator, gateway = (_account(n) for n in ("regulator", "operator", "gateway"))
    keys = [DeviceKey(keccak(text=f"consumer-meter-{i}")) for i in range(BATCH)]
    device_ids = []
    for i, key in enumerate(keys):
        owner = _account(f"consumer-{i}")
        chain.transact(regulator, token, system.token, "setParticipant", owner, True, 276)
        node = grid.register_node(owner, NodeType.CONSUMER, 1)
        grid.set_connection_capacity(node, HOUSEHOLD_CONNECTION_W)
        data = encode_device_data(
            owner, node, DeviceKind.CONSUMER, EnergySource.GRID_MIX, RATED_POWER_W, FIRMWARE
        )
        chain.transact(operator, registry, system.registry, "registerDevice", key.address, data)
        device_ids.append(int(chain.call(registry, system.registry, "deviceIdOf", key.address)[0]))
    domain = registry_domain_separator(chain.chain_id, system.registry)
    first_interval = chain.timestamp - chain.timestamp % INTERVAL_S + INTERVAL_S
    gas = 0
    for k in range(HISTORY_LENGTH + 1):
        start = first_interval + k * INTERVAL_S
        chain.set_time(start + INTERVAL_S + 30)
        batch = [
            key.sign_reading(MeterReading(device, k + 1, start, 300 * (k + 1), 0, 0, FIRMWARE), domain)
            for key, device in zip(keys, device_ids, strict=True)
        ]
        chain.transact(gateway, registry, system.registry, "submitReadings", pack_readings(batch))
        gas = chain.last_gas_used
    _line("gas.meter.per_reading_consumer_batch100", gas / BATCH, "gas")


# A retirement as a company would record it: a beneficiary and a purpose of ordinary length.
RETIREMENT_PURPOSE = "2026 scope 2 electricity, Baeckerei Mueller GmbH, Kassel"


def run_carbon(
    chain: RpcChain,
    system: System,
    generator: str,
    device_id: int,
    vintage_start: int,
    more_readings: Callable[[], object],
) -> None:
    """Receipt gas of a meter's second certificate (the daily steady state: its certification
    marker exists), of retiring part of it for a named beneficiary with a purpose (after the
    platform's first retirement), of depositing it into the pool, which already holds the
    holder's first certificate, and of a purchase on the exchange by a buyer who bought from the
    offer before (its credit balance exists)."""
    carbon, pool = load_artifact("CarbonCredit"), load_artifact("CarbonPool")
    verifier = CarbonVerifier(chain, system.carbon, system.registry, system.token, _account("verifier"))

    def certify(start: int) -> tuple[int, int]:
        certification = verifier.pending(device_id, start)
        if certification is None:
            raise SystemExit("carbon bench: the meter has no certifiable energy")
        return verifier.issue(certification), certification.co2e_grams

    first_id, first_grams = certify(vintage_start)
    chain.transact(generator, carbon, system.carbon, "setApprovalForAll", system.carbon_pool, True)
    chain.transact(generator, pool, system.carbon_pool, "deposit", first_id, first_grams // 2)
    # Not the platform's first retirement: the retirement log exists, as it does from then on.
    chain.transact(generator, carbon, system.carbon, "retireCredits", first_grams // 4)
    more_readings()
    marker_end = int(chain.call(carbon, system.carbon, "getEmissionReductions", first_id)[0][9])
    second_id, second_grams = certify(marker_end)
    _line("gas.carbon.issue", chain.last_gas_used, "gas")
    beneficiary = _account("baeckerei-mueller")
    chain.transact(
        generator,
        carbon,
        system.carbon,
        "retireCertificateCredits",
        second_id,
        second_grams // 4,
        beneficiary,
        RETIREMENT_PURPOSE,
    )
    _line("gas.carbon.retire", chain.last_gas_used, "gas")
    chain.transact(generator, pool, system.carbon_pool, "deposit", second_id, second_grams // 4)
    _line("gas.carbon.pool_deposit", chain.last_gas_used, "gas")

    # The carbon/payment pair: a business buys part of an offer (its payment balance exists).
    exchange, dollar = load_artifact("CarbonExchange"), load_artifact("TestStablecoin")
    chain.transact(generator, carbon, system.carbon, "setApprovalForAll", system.carbon_exchange, True)
    price_per_tonne = 80_000_000
    chain.transact(
        generator, exchange, system.carbon_exchange, "offer", second_id, second_grams // 4, price_per_tonne
    )
    offer_id = int(chain.call(exchange, system.carbon_exchange, "offerCount")[0])
    buyer = _account("baeckerei-mueller")
    mint_test_dollars(chain, system, _account("deployer"), buyer, 10**9)
    chain.transact(buyer, dollar, system.payment_token, "approve", system.carbon_exchange, 10**9)
    part = second_grams // 16  # the offer is a quarter: two parts leave it open
    chain.transact(buyer, exchange, system.carbon_exchange, "buy", offer_id, part, price_per_tonne)
    chain.transact(buyer, exchange, system.carbon_exchange, "buy", offer_id, part, price_per_tonne)
    _line("gas.carbon.exchange_buy", chain.last_gas_used, "gas")


def run_market(chain: RpcChain, system: System, keys: list[TraderKey], interval_start: int) -> None:
    """Receipt gas of settling 100 matched orders (50 sells, 50 buys, distinct traders whose
    escrow accounts already exist), per order; measured on the second interval settled. And a
    first-time trader's all-in cost per matched order: the buyers' payment deposits (one
    transaction each, with an EIP-2612 permit), the sellers' energy deposits, the gate closure
    and the settlement of their first interval, over its 100 matched orders."""
    traders = [key.address for key in keys]
    sellers, buyers = traders[: BATCH // 2], traders[BATCH // 2 : BATCH]
    # Every trader has the grid node of its own that `run` registered: each fill's grid-guard
    # check reads a node the settlement has not touched yet, as in a real feeder.
    grid_abi = load_artifact("GridManagement")
    node_of = {trader: int(chain.call(grid_abi, system.grid, "nodeIdOf", trader)[0]) for trader in traders}
    minter = _account("deployer")
    metered = MeteredChain(chain)
    metered.phase = FIRST_TRADE
    key_of = dict(zip(traders, keys, strict=True))
    for buyer in buyers:
        mint_test_dollars(chain, system, minter, buyer, 10**9)
        deposit_payment_with_permit(metered, system, key_of[buyer], 10**9, interval_start)
    for seller in sellers:
        deposit_energy(metered, system, seller, 4_000)
    domain = market_domain_separator(chain.chain_id, system.market)
    operator = MarketOperator(metered, system.market, _account("market-operator"))
    gas = 0

    def full_book(k: int) -> IntervalBook:
        """Interval k's book: every seller offers 1 kWh, every buyer bids for 1 kWh, all match."""
        start = interval_start + k * INTERVAL_S
        book = IntervalBook(ENERGY_PAIR_ID, start, domain)
        for i, trader in enumerate(sellers + buyers):
            side = Side.SELL if trader in sellers else Side.BUY
            price = 150_000 + (i % 50) * 1_000 if side == Side.SELL else 250_000 + (i % 50) * 1_000
            order = Order(
                trader, side, ENERGY_PAIR_ID, start, 1_000, price, node_of[trader], start + 3_600, k
            )
            book.add(key_of[trader].sign_order(order, domain), received_at_ms=i, now_s=0)
        return book

    for k in range(2):
        settlement = operator.settle(full_book(k))
        if settlement is None or settlement.matched_orders != BATCH:
            raise SystemExit("market bench: the book did not match 100 orders")
        gas = chain.last_gas_used
        metered.phase = RECURRING_TRADE
    _line("gas.market.per_matched_order_batch100", gas / BATCH, "gas")

    def all_in(phase: str) -> float:
        return sum(entry.gas for (booked, _), entry in metered.gas.items() if booked == phase) / BATCH

    _line("gas.market.first_trade_all_in_per_order", all_in(FIRST_TRADE), "gas")
    _line("gas.market.recurring_trade_all_in_per_order", all_in(RECURRING_TRADE), "gas")
    run_live(chain, system, full_book(2))


def run_live(chain: RpcChain, system: System, book: IntervalBook) -> None:
    """The live side on anvil mining a block every second, nothing impersonated: the wall time
    from gate closure to a confirmed settlement of a 100-order book by a market operator that
    signs its own transactions (LiveChain), and how many locally signed transactions one sender
    pushes and sees confirmed per second (all sent, then all waited for)."""
    node = JsonRpc(str(chain.w3.provider.endpoint_uri))  # type: ignore[attr-defined]
    live_operator: LocalAccount = Account.from_key(keccak(text="live-market-operator"))
    pusher: LocalAccount = Account.from_key(keccak(text="live-pusher"))
    for account in (live_operator, pusher):
        node.request("anvil_setBalance", [account.address, hex(10**21)])
    governance = Governance(chain, system.multisig, governor_keys()[:2], _account("deployer"))
    manager = load_artifact("GridAccessManager")
    governance.execute(manager, system.manager, "grantRole", MARKET_OPERATOR, live_operator.address, 0)
    node.request("evm_setAutomine", [False])
    node.request("evm_setIntervalMining", [1])
    try:
        live = LiveChain(node, [live_operator])
        began = time.perf_counter()
        settlement = MarketOperator(live, system.market, live_operator.address).settle(book)
        latency_s = time.perf_counter() - began
        if settlement is None or settlement.matched_orders != BATCH:
            raise SystemExit("live bench: the book did not match 100 orders")
        _line("live.settle_interval_latency_s", latency_s, "s", decimals=2)

        sender = TransactionSender(node, pusher)
        began = time.perf_counter()
        pending = [sender.submit(_account("live-recipient"), b"", 1) for _ in range(LIVE_TRANSACTIONS)]
        for transaction in pending:
            sender.wait(transaction)
        _line("live.tx_per_s", LIVE_TRANSACTIONS / (time.perf_counter() - began), "tx/s")
    finally:
        node.request("evm_setIntervalMining", [0])
        node.request("evm_setAutomine", [True])


def run_clearing() -> None:
    """Uniform clearing of 100k bids + 100k asks, median of 7 runs."""
    rng = np.random.default_rng(2026)

    def side(n: int) -> BookSide:
        return BookSide(
            rng.integers(50_000, 350_000, n).astype(np.int64),
            rng.integers(100, 5_000, n).astype(np.int64),
            np.arange(n, dtype=np.int64),
            rng.integers(0, 2**63, n).astype(np.uint64),
        )

    bids, asks = side(100_000), side(100_000)
    seconds = []
    for _ in range(7):
        began = time.perf_counter()
        clear_uniform(bids, asks)
        seconds.append(time.perf_counter() - began)
    _line("clear.uniform.orders_per_s", 200_000 / statistics.median(seconds), "orders/s")


def run_simulation(prosumers: int = 1_000) -> None:
    """`gridledger simulate`'s work for 1,000 prosumers over one day on the embedded EVM: loading
    the SimBench grid and profiles, setup, 96 intervals of readings, trading and settlement, and
    the reconciliation against chain state (the report is not written)."""
    began = time.perf_counter()
    community = build_community(prosumers=prosumers)
    chain = EmbeddedChain(int(community.interval_starts[0]))
    result = Simulation(chain, community).run()
    findings = reconcile(chain, result)
    seconds = time.perf_counter() - began
    if findings:
        raise SystemExit(f"simulation bench does not reconcile: {findings[:3]}")
    _line("sim.prosumer_intervals_per_s", prosumers * community.intervals / seconds, "prosumer-intervals/s")


# The grid study: a week of summer profiles with PV scaled by 5 (high PV penetration) on the
# small rural feeder where that congests the grid; and the largest SimBench LV grid with PV
# scaled by 20, where it takes that much for exports to congest it, for the clearing time of
# the intervals the network constrains (each runs the AC rounds). As SimBench ships them,
# neither grid is congested by PV exports.
GRID_WEEK_START = date(2025, 6, 19)
CONGESTED_GRID = "1-LV-rural1--0-sw"
PV_SCALE = 5.0
LARGEST_LV_GRID = "1-LV-rural3--0-sw"
LARGEST_GRID_PV_SCALE = 20.0


def run_grid() -> None:
    """Violations caused by trades over a week, with and without the network in the clearing,
    and the time of a grid-feasible clearing of one constrained interval."""

    def week(code: str, pv_scale: float) -> GridStudy:
        community = build_community(code, start=GRID_WEEK_START, days=7)
        community = dataclasses.replace(community, pv_wh=community.pv_wh * pv_scale)
        return study_grid(community, GridNetwork(code))

    congested = week(CONGESTED_GRID, PV_SCALE)
    _line("grid.violations_caused_by_trades_week", congested.violations_caused_by_trades, "count")
    _line("grid.unconstrained_violations_week", congested.unconstrained_violations, "count")
    _line("grid.congested_clearing_ms", congested.constrained_clearing_ms(50), "ms", decimals=2)
    largest = week(LARGEST_LV_GRID, LARGEST_GRID_PV_SCALE)
    _line("grid.feasible_clearing_ms", largest.constrained_clearing_ms(50), "ms", decimals=2)
    _line("grid.feasible_clearing_p95_ms", largest.constrained_clearing_ms(95), "ms", decimals=2)
    _line("grid.largest_violations_caused_by_trades_week", largest.violations_caused_by_trades, "count")
    _line("grid.largest_unconstrained_violations_week", largest.unconstrained_violations, "count")
    run_acopf_comparison()


# The AC-accuracy scenario set: the congested feeders at high PV, and one where voltage binds
# first (semiurb5 with the upstream grid at 1.05 pu); the day's middle hours, every other
# interval (10:00 to 15:30), each surplus offered in full. (grid, PV scale, upstream pu or None)
ACOPF_SCENARIOS: tuple[tuple[str, float, float | None], ...] = (
    ("1-LV-rural1--0-sw", 3.0, None),
    ("1-LV-rural1--0-sw", 5.0, None),
    ("1-LV-rural2--0-sw", 10.0, None),
    ("1-LV-semiurb5--0-sw", 10.0, 1.05),
)
ACOPF_INTERVALS = list(range(40, 64, 2))


def run_acopf_comparison() -> None:
    """How much more the market's AC-accurate caps curtail than pandapower's AC OPF with the same
    margins, and its distribution over each scenario's intervals."""
    comparisons = []
    for code, scale, upstream_vm_pu in ACOPF_SCENARIOS:
        community = build_community(code, start=GRID_WEEK_START, days=1)
        community = dataclasses.replace(community, pv_wh=community.pv_wh * scale)
        compared = compare_with_acopf(community, GridNetwork(code, upstream_vm_pu), ACOPF_INTERVALS)
        comparisons += compared
        excess = sorted(100 * c.excess_wh / c.offered_wh for c in compared)
        upstream = "" if upstream_vm_pu is None else f" upstream {upstream_vm_pu:g} pu"
        # Kept with the BENCH lines in reports/bench.txt (which reads only those).
        print(
            f"# {code} x{scale:g}{upstream}: {len(compared)} intervals, "
            "curtailment beyond the OPF's in % of the offer: "
            f"min {excess[0]:.2f}, median {statistics.median(excess):.2f}, max {excess[-1]:.2f}; "
            f"violations at the caps {sum(c.new_violations for c in compared)}; "
            f"highest voltage {max(c.max_vm_pu for c in compared):.4f} pu, "
            f"loading {max(c.max_loading_percent for c in compared):.1f} %; "
            f"round kept: most {max(c.rounds for c in compared)}, "
            f"median {statistics.median(c.rounds for c in compared):g}",
            flush=True,
        )
    _line("grid.curtailment_excess_vs_acopf_pct", excess_curtailment_pct(comparisons), "%", decimals=2)


def main() -> None:
    with anvil_node(START_TIME) as url:
        run(RpcChain(url))
    run_clearing()
    run_simulation()
    run_grid()
    run_iot()
    run_index()
    run_api()


if __name__ == "__main__":
    main()
