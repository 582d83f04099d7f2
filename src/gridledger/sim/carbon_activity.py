"""Carbon in a simulated run: once a day the verifier certifies every generation meter's energy
minted that day; each prosumer then retires, pools or sells its new credits (a seeded choice,
fixed for the run). Those who pool retire half of their pool tokens from the pool on behalf of
the municipality's climate programme; those who sell offer them on the carbon/payment exchange
at a seeded price, and a local business buys every offer within its limit price and retires
what it bought for its own electricity (docs/simulation.md)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from gridledger.carbon.exchange import cost_of
from gridledger.carbon.verifier import CarbonVerifier
from gridledger.chain.abi import load_artifact
from gridledger.chain.deploy import Chain, System, named_account

RETIRE, POOL, SELL = "retire", "pool", "sell"
# Shares of prosumers who retire their credits themselves, pool them, or sell them.
CHOICE_SHARES = {RETIRE: 0.3, POOL: 0.4, SELL: 0.3}
UNITS_PER_DOLLAR = 1_000_000
# Sellers ask 60 to 120 test dollars per tonne; the business pays up to 100.
ASK_RANGE_PER_TONNE = (60 * UNITS_PER_DOLLAR, 120 * UNITS_PER_DOLLAR)
BUYER_LIMIT_PER_TONNE = 100 * UNITS_PER_DOLLAR


@dataclass
class CarbonDayRecord:
    day: str  # YYYY-MM-DD
    certificates: int = 0
    energy_wh: int = 0
    issued_g: int = 0
    retired_by_holders_g: int = 0
    pooled_g: int = 0
    retired_from_pool_g: int = 0
    offered_g: int = 0
    bought_g: int = 0
    paid_units: int = 0


class CarbonActivity:
    """The verifier and the prosumers' carbon choices of one run."""

    def __init__(
        self,
        chain: Chain,
        system: System,
        generation_meters: dict[int, str],
        rated_pv_w: dict[int, int],
        seed: int,
    ) -> None:
        """`generation_meters`: device id -> owner address of every PV meter; `rated_pv_w`:
        device id -> its rated power."""
        self._chain = chain
        self._system = system
        self._carbon = load_artifact("CarbonCredit")
        self._pool = load_artifact("CarbonPool")
        self._exchange = load_artifact("CarbonExchange")
        self._dollar = load_artifact("TestStablecoin")
        self._verifier = CarbonVerifier(
            chain, system.carbon, system.registry, system.token, named_account("verifier")
        )
        self._meters = generation_meters
        self.municipality = named_account("municipality")
        self.business = named_account("bakery-mueller")
        rng = np.random.default_rng([seed, 0xC0])
        owners = sorted({owner.lower() for owner in generation_meters.values()})
        picks = rng.choice(list(CHOICE_SHARES), size=len(owners), p=list(CHOICE_SHARES.values()))
        self.choice_of = {owner: str(pick) for owner, pick in zip(owners, picks, strict=True)}
        asks = rng.integers(*ASK_RANGE_PER_TONNE, size=len(owners), endpoint=True)
        self.ask_of = {owner: int(ask) for owner, ask in zip(owners, asks, strict=True)}
        self._approved: set[tuple[str, str]] = set()
        self._open_offers: list[tuple[int, int, int, int]] = []  # (offer id, certificate, grams, ask)
        rated_w = sum(rated_pv_w.values())
        self._community_cap_g_per_day = rated_w * 24 * 2_000 // 1000  # Wh x g/kWh ceiling / 1000

    def fund_business(self, minter: str, days: int) -> int:
        """Test dollars for the business to buy every day's credits of the whole community at its
        limit price (the community's rated PV over 24 h at the highest emission factor); returns
        the units minted."""
        units = days * cost_of(self._community_cap_g_per_day, BUYER_LIMIT_PER_TONNE)
        system = self._system
        self._chain.transact(minter, self._dollar, system.payment_token, "mint", self.business, units)
        self._chain.transact(
            self.business, self._dollar, system.payment_token, "approve", system.carbon_exchange, units
        )
        return units

    def _approve(self, owner: str, operator: str) -> None:
        if (owner, operator) not in self._approved:
            self._chain.transact(
                owner, self._carbon, self._system.carbon, "setApprovalForAll", operator, True
            )
            self._approved.add((owner, operator))

    def end_of_day(self, day_start: int) -> CarbonDayRecord:
        """Certify the day's generation of every meter, then let each owner act on its credits."""
        day = datetime.fromtimestamp(day_start, UTC).date().isoformat()
        record = CarbonDayRecord(day)
        chain, carbon, pool = self._chain, self._system.carbon, self._system.carbon_pool
        for device_id, owner in sorted(self._meters.items()):
            certification = self._verifier.pending(device_id, day_start)
            if certification is None:
                continue
            certificate_id = self._verifier.issue(certification)
            grams = certification.co2e_grams
            record.certificates += 1
            record.energy_wh += certification.energy_wh
            record.issued_g += grams
            choice = self.choice_of[owner.lower()]
            if choice == RETIRE:
                purpose = f"household electricity {day}: own solar generation"
                chain.transact(
                    owner,
                    self._carbon,
                    carbon,
                    "retireCertificateCredits",
                    certificate_id,
                    grams,
                    owner,
                    purpose,
                )
                record.retired_by_holders_g += grams
            elif choice == POOL:
                self._approve(owner, pool)
                chain.transact(owner, self._pool, pool, "deposit", certificate_id, grams)
                record.pooled_g += grams
                half = grams // 2
                if half > 0:
                    purpose = f"municipal climate programme {day}"
                    chain.transact(
                        owner, self._pool, pool, "retireFromPool", half, self.municipality, purpose
                    )
                    record.retired_from_pool_g += half
            else:
                self._offer(owner, certificate_id, grams, record)
        self._buy_and_retire(day, record)
        return record

    def _offer(self, owner: str, certificate_id: int, grams: int, record: CarbonDayRecord) -> None:
        exchange = self._system.carbon_exchange
        self._approve(owner, exchange)
        ask = self.ask_of[owner.lower()]
        self._chain.transact(owner, self._exchange, exchange, "offer", certificate_id, grams, ask)
        offer_id = int(self._chain.call(self._exchange, exchange, "offerCount")[0])
        self._open_offers.append((offer_id, certificate_id, grams, ask))
        record.offered_g += grams

    def _buy_and_retire(self, day: str, record: CarbonDayRecord) -> None:
        """The business takes every open offer at or below its limit price and retires it; offers
        above the limit stay open."""
        chain, exchange, carbon = self._chain, self._system.carbon_exchange, self._system.carbon
        still_open = []
        for offer_id, certificate_id, grams, ask in self._open_offers:
            if ask > BUYER_LIMIT_PER_TONNE:
                still_open.append((offer_id, certificate_id, grams, ask))
                continue
            chain.transact(
                self.business, self._exchange, exchange, "buy", offer_id, grams, BUYER_LIMIT_PER_TONNE
            )
            record.bought_g += grams
            record.paid_units += cost_of(grams, ask)
            purpose = f"Baeckerei Mueller electricity {day}: local solar"
            chain.transact(
                self.business,
                self._carbon,
                carbon,
                "retireCertificateCredits",
                certificate_id,
                grams,
                self.business,
                purpose,
            )
            record.retired_by_holders_g += grams
        self._open_offers = still_open
