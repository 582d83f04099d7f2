"""Does a run's account agree with the chain and with SimBench? Every check reads chain state
or chain events afresh, independently of what the run recorded along the way.

- Energy minted on chain (the token's EnergyMinted events, which the registry's
  ReadingAccepted events must match) equals the PV energy in the profiles, within register
  rounding (under 1 Wh per generation meter), less what the grid's export envelope
  curtailed, and what the run recorded.
- Energy tokens are conserved: supply = sum of all balances = minted - burned - expired, with
  burns read by cause from EnergyBurned (consumption against the run's consumption, holder
  burns against the utility's exports) and the ERC-20 Transfer events agreeing; the market
  holds exactly the energy its escrow accounts say.
- Payments are conserved: every test dollar minted is in a wallet or in the market, and the
  market holds exactly what its escrow accounts say.
- Every trade of the run is a fill of an IntervalSettled event on chain, and vice versa, and
  what each settlement gave the DSO is the grid fees the run recorded plus the rounding.
- Carbon credits rest on energy: every generation meter's certificates cover exactly the
  energy the registry minted for it, each certificate's credits are its energy x its factor,
  every certificate's credits are held or retired (nothing more, nothing less), the retirement
  events replay to the contract's retirement log, the pool's tokens equal the credits it holds,
  the exchange holds exactly what its offers have left, and the run's daily records (credits
  issued, dollars paid for credits) agree with the events.
- The quality of service in force on chain per zone and day is what the run posted.
"""

from __future__ import annotations

from collections import Counter

from gridledger.carbon.events import CarbonLedger, read_ledger, retirement_log_head
from gridledger.chain.abi import load_artifact
from gridledger.chain.deploy import ClockedChain
from gridledger.market.orders import Side
from gridledger.meter.gateway import ACCEPTED_TOPIC
from gridledger.sim.run import (
    BURN_OF_CONSUMPTION,
    BURNED_TOPIC,
    EXPIRED_TOPIC,
    MINTED_TOPIC,
    TRANSFER_TOPIC,
    ZERO_WORD,
    SimulationResult,
    Trade,
    log_words,
    trades_of_settlement,
)


def reconcile(chain: ClockedChain, result: SimulationResult) -> list[str]:
    """Every disagreement found, in words; an empty list means the run reconciles."""
    return [
        *_energy_minted(chain, result),
        *_tokens_conserved(chain, result),
        *_payments_conserved(chain, result),
        *_trades_on_chain(chain, result),
        *_fees_on_chain(chain, result),
        *_carbon_on_chain(chain, result),
        *_quality_on_chain(chain, result),
    ]


def _energy_minted(chain: ClockedChain, result: SimulationResult) -> list[str]:
    findings = []
    system, community = result.system, result.community
    minted_on_chain = _minted_wh(chain, result)
    reported_by_registry = sum(log_words(log.data)[4] for log in chain.logs(system.registry, ACCEPTED_TOPIC))
    if reported_by_registry != minted_on_chain:
        findings.append(
            f"the token minted {minted_on_chain} Wh, "
            f"the registry's accepted readings say {reported_by_registry} Wh"
        )
    recorded = sum(r.minted_wh for r in result.intervals)
    if minted_on_chain != recorded:
        findings.append(f"the chain minted {minted_on_chain} Wh, the run recorded {recorded} Wh")
    # Generation registers hold the profile energy rounded (under 0.5 Wh per meter), less what
    # the export envelope curtailed.
    curtailed = sum(r.curtailed_wh for r in result.intervals)
    available = int(community.export_register_wh()[:, -1].sum())
    if minted_on_chain != available - curtailed:
        findings.append(
            f"minted {minted_on_chain} Wh but the PV could give {available} Wh of which {curtailed} Wh "
            "were curtailed"
        )
    profile_wh = float(community.pv_wh.sum())
    generation_meters = sum(p.has_pv for p in community.participants)
    if abs(available - profile_wh) > 0.5 * generation_meters:
        findings.append(
            f"the PV registers would hold {available} Wh but the SimBench PV profiles {profile_wh:.1f} Wh "
            f"(more than register rounding of {generation_meters} meters)"
        )
    return findings


QUALITY_EVENT_FIELDS = (
    "busMinutesOutside5Percent",
    "busMinutesOutside10Percent",
    "interruptions",
    "interruptionMinutes",
    "customerMinutesInterrupted",
)


def _quality_on_chain(chain: ClockedChain, result: SimulationResult) -> list[str]:
    """The quality of service in force on chain for each zone and day (its last report) is what
    the run recorded posting, and there is none it did not post."""
    grid = load_artifact("GridManagement")
    on_chain: dict[tuple[int, int], tuple[int, ...]] = {}
    for log in chain.logs(result.system.grid, grid.event_topic("ServiceQualityReported")):
        decoded = grid.decode_event(log)
        if decoded is not None:
            event = decoded[1]
            on_chain[(int(event["zoneId"]), int(event["dayStart"]))] = tuple(
                int(event[name]) for name in QUALITY_EVENT_FIELDS
            )
    recorded = {(r.zone_id, r.day_start): r.quality.as_call_argument() for r in result.grid_quality}
    return [
        f"quality of service of zone {zone} on day {day}: on chain {on_chain.get((zone, day))}, "
        f"the run recorded {recorded.get((zone, day))}"
        for zone, day in sorted(on_chain.keys() | recorded.keys())
        if on_chain.get((zone, day)) != recorded.get((zone, day))
    ]


def _minted_wh(chain: ClockedChain, result: SimulationResult) -> int:
    """Energy the token minted: both epoch parts of every EnergyMinted event."""
    return sum(sum(log_words(log.data)[1:3]) for log in chain.logs(result.system.token, MINTED_TOPIC))


def _holders(result: SimulationResult) -> list[str]:
    return [*result.traders, result.utility, result.dso, result.carbon_buyer]


def _tokens_conserved(chain: ClockedChain, result: SimulationResult) -> list[str]:
    findings = []
    token, market = load_artifact("EnergyToken"), load_artifact("EnergyMarket")
    system = result.system
    supply = int(chain.call(token, system.token, "totalSupply")[0])
    wallets = sum(int(chain.call(token, system.token, "balanceOf", h)[0]) for h in _holders(result))
    market_held = int(chain.call(token, system.token, "balanceOf", system.market)[0])
    if wallets + market_held != supply:
        findings.append(f"energy supply {supply} Wh but wallets and market hold {wallets + market_held} Wh")
    escrowed = sum(int(chain.call(market, system.market, "accountOf", h)[1]) for h in _holders(result))
    if escrowed != market_held:
        findings.append(f"the market holds {market_held} Wh of energy but its accounts say {escrowed} Wh")

    minted = _minted_wh(chain, result)
    burned_by_cause = Counter[int]()
    for log in chain.logs(system.token, BURNED_TOPIC):
        amount, cause = log_words(log.data)
        burned_by_cause[cause] += amount
    expired = sum(log_words(log.data)[0] for log in chain.logs(system.token, EXPIRED_TOPIC))
    burned = sum(burned_by_cause.values())
    if minted - burned - expired != supply:
        findings.append(
            f"minted - burned - expired on chain is {minted - burned - expired} Wh, "
            f"but the supply is {supply} Wh"
        )
    consumption = sum(r.burned_by_consumption_wh for r in result.intervals)
    if burned_by_cause[BURN_OF_CONSUMPTION] != consumption:
        findings.append(
            f"the chain burned {burned_by_cause[BURN_OF_CONSUMPTION]} Wh against consumption, "
            f"the run recorded {consumption} Wh"
        )
    exported = sum(r.exported_to_utility_wh for r in result.intervals)
    if burned - burned_by_cause[BURN_OF_CONSUMPTION] != exported:
        findings.append(
            f"holders burned {burned - burned_by_cause[BURN_OF_CONSUMPTION]} Wh, "
            f"the run recorded {exported} Wh exported by the utility"
        )
    # A wallet sees only the ERC-20 events: they must tell the same story.
    created = destroyed = 0
    for log in chain.logs(system.token, TRANSFER_TOPIC):
        amount = log_words(log.data)[0]
        if log.topics[1] == ZERO_WORD:
            created += amount
        elif log.topics[2] == ZERO_WORD:
            destroyed += amount
    if created != minted or destroyed != burned + expired:
        findings.append(
            f"Transfer events create {created} Wh and destroy {destroyed} Wh, the token's events "
            f"mint {minted} Wh and burn or expire {burned + expired} Wh"
        )
    return findings


def _payments_conserved(chain: ClockedChain, result: SimulationResult) -> list[str]:
    findings = []
    dollar, market = load_artifact("TestStablecoin"), load_artifact("EnergyMarket")
    system = result.system
    wallets = sum(int(chain.call(dollar, system.payment_token, "balanceOf", h)[0]) for h in _holders(result))
    market_held = int(chain.call(dollar, system.payment_token, "balanceOf", system.market)[0])
    if wallets + market_held != result.dollars_minted:
        findings.append(
            f"{result.dollars_minted} dollar units were minted "
            f"but wallets and market hold {wallets + market_held}"
        )
    escrowed = sum(int(chain.call(market, system.market, "accountOf", h)[0]) for h in _holders(result))
    if escrowed != market_held:
        findings.append(f"the market holds {market_held} dollar units but its accounts say {escrowed}")
    return findings


def settled_trades(chain: ClockedChain, market_address: str) -> list[Trade]:
    """Every fill of every IntervalSettled event of `market_address`, read from the chain."""
    market = load_artifact("EnergyMarket")
    trades = []
    for log in chain.logs(market_address, market.event_topic("IntervalSettled")):
        decoded = market.decode_event(log)
        if decoded is not None:
            trades += trades_of_settlement(decoded[1])
    return trades


def _trades_on_chain(chain: ClockedChain, result: SimulationResult) -> list[str]:
    on_chain = Counter(settled_trades(chain, result.system.market))
    reported = Counter(result.trades)
    findings = [f"trade not on chain: {t}" for t in (reported - on_chain).elements()]
    findings += [f"chain fill missing from the run: {t}" for t in (on_chain - reported).elements()]
    return findings[:20]


def _fees_on_chain(chain: ClockedChain, result: SimulationResult) -> list[str]:
    """What each settlement gave the collector is the buys' grid fees (as the run recorded
    them, the peak fee in peak zones) plus what buyers paid beyond what sellers received."""
    market = load_artifact("EnergyMarket")
    findings = []
    for log in chain.logs(result.system.market, market.event_topic("IntervalSettled")):
        decoded = market.decode_event(log)
        if decoded is None:
            continue
        event = decoded[1]
        trades = trades_of_settlement(event)
        fees = sum(result.buy_fee_units.get(t.order_hash, 0) for t in trades if t.side == Side.BUY)
        spread = sum(t.payment_units if t.side == Side.BUY else -t.payment_units for t in trades)
        if int(event["collectorUnits"]) != fees + spread:
            findings.append(
                f"interval {event['intervalStart']}: the collector got {event['collectorUnits']} units, "
                f"the run's fees and spread come to {fees + spread}"
            )
    return findings


def _carbon_on_chain(chain: ClockedChain, result: SimulationResult) -> list[str]:
    findings: list[str] = []
    system = result.system
    carbon, pool = load_artifact("CarbonCredit"), load_artifact("CarbonPool")
    ledger = read_ledger(result.carbon_logs, system.carbon)
    certified_by_device: Counter[int] = Counter()
    for certificate in ledger.certificates.values():
        certified_by_device[certificate.device_id] += certificate.energy_wh
        backed = certificate.energy_wh * certificate.emission_factor_g_per_kwh // 1000
        if certificate.co2e_grams != backed:
            findings.append(
                f"certificate {certificate.certificate_id} has {certificate.co2e_grams} g for "
                f"{certificate.energy_wh} Wh at {certificate.emission_factor_g_per_kwh} g/kWh ({backed} g)"
            )
    for log in chain.logs(system.token, MINTED_TOPIC):
        device_id = int.from_bytes(log.topics[1], "big") >> 64  # lot id = device id << 64 | sequence
        certified_by_device[device_id] -= sum(log_words(log.data)[1:3])
    uncovered = {device: wh for device, wh in certified_by_device.items() if wh != 0}
    # Consumption meters mint nothing, so only a generation meter can leave a difference.
    if uncovered:
        findings.append(f"certified energy minus minted energy per device, Wh: {uncovered}")
    holders = [*_holders(result), system.carbon_pool, system.carbon_exchange]
    retired_by_certificate: Counter[int] = Counter()
    for retirement in ledger.retirements:
        retired_by_certificate[retirement.certificate_id] += retirement.co2e_grams
    for certificate_id, certificate in ledger.certificates.items():
        record = chain.call(carbon, system.carbon, "getEmissionReductions", certificate_id)[0]
        issued, retired = int(record[12]), int(record[13])
        (balances,) = chain.call(
            carbon, system.carbon, "balanceOfBatch", holders, [certificate_id] * len(holders)
        )
        held = sum(int(balance) for balance in balances)
        if issued != certificate.co2e_grams or held + retired != issued:
            findings.append(
                f"certificate {certificate_id}: issued {issued} g ({certificate.co2e_grams} g in its event), "
                f"held {held} g + retired {retired} g"
            )
        if retired != retired_by_certificate[certificate_id]:
            findings.append(
                f"certificate {certificate_id}: {retired} g retired on chain, "
                f"{retired_by_certificate[certificate_id]} g in retirement events"
            )
    on_chain_log = tuple(int(v) for v in chain.call(carbon, system.carbon, "retirementLog"))
    if on_chain_log != retirement_log_head(ledger.retirements):
        findings.append("the retirement events do not replay to the contract's retirement log")
    supply = int(chain.call(pool, system.carbon_pool, "totalSupply")[0])
    live = sum(
        int(chain.call(pool, system.carbon_pool, "heldGrams", c)[0])
        for c in chain.call(pool, system.carbon_pool, "holdings")[0]
    )
    expired = int(chain.call(pool, system.carbon_pool, "expiredGrams")[0])
    if supply != live + expired:
        findings.append(f"pool tokens {supply} g but the pool holds {live} g live and {expired} g expired")
    findings += _exchange_on_chain(chain, result, ledger)
    recorded = sum(day.issued_g for day in result.carbon)
    on_chain = sum(c.co2e_grams for c in ledger.certificates.values())
    if recorded != on_chain:
        findings.append(f"the run recorded {recorded} g of credits issued, the chain's events {on_chain} g")
    return findings


def _exchange_on_chain(chain: ClockedChain, result: SimulationResult, ledger: CarbonLedger) -> list[str]:
    """The exchange holds exactly what its offers have left, and buyers paid what the run says."""
    findings = []
    carbon, system = load_artifact("CarbonCredit"), result.system
    waiting: Counter[int] = Counter()
    for offer_id, (certificate_id, grams) in ledger.offered.items():
        waiting[certificate_id] += grams - ledger.cancelled_returned.get(offer_id, 0)
    for trade in ledger.trades:
        waiting[trade.certificate_id] -= trade.co2e_grams
    for certificate_id, grams in waiting.items():
        held = int(chain.call(carbon, system.carbon, "balanceOf", system.carbon_exchange, certificate_id)[0])
        if held != grams:
            findings.append(
                f"the exchange holds {held} g of certificate {certificate_id}, its offers {grams} g"
            )
    paid = sum(trade.payment_units for trade in ledger.trades)
    recorded = sum(day.paid_units for day in result.carbon)
    if paid != recorded:
        findings.append(f"carbon buyers paid {paid} units on chain, the run recorded {recorded}")
    return findings
