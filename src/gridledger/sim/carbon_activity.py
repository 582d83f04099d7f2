"""Carbon in a simulated run: once a day the verifier certifies every generation meter's energy
minted that day; each prosumer then retires, pools or keeps its new credits (a seeded choice,
fixed for the run), and those who pool retire half of their pool tokens from the pool on behalf
of the municipality's climate programme (docs/simulation.md)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from gridledger.carbon.verifier import CarbonVerifier
from gridledger.chain.abi import load_artifact
from gridledger.chain.deploy import Chain, System, named_account

RETIRE, POOL, KEEP = "retire", "pool", "keep"
# Shares of prosumers who retire their credits themselves, pool them, or keep them.
CHOICE_SHARES = {RETIRE: 0.3, POOL: 0.4, KEEP: 0.3}


@dataclass
class CarbonDayRecord:
    day: str  # YYYY-MM-DD
    certificates: int = 0
    energy_wh: int = 0
    issued_g: int = 0
    retired_by_holders_g: int = 0
    pooled_g: int = 0
    retired_from_pool_g: int = 0


class CarbonActivity:
    """The verifier and the prosumers' carbon choices of one run."""

    def __init__(self, chain: Chain, system: System, generation_meters: dict[int, str], seed: int) -> None:
        """`generation_meters`: device id -> owner address of every PV meter."""
        self._chain = chain
        self._system = system
        self._carbon = load_artifact("CarbonCredit")
        self._pool = load_artifact("CarbonPool")
        self._verifier = CarbonVerifier(
            chain, system.carbon, system.registry, system.token, named_account("verifier")
        )
        self._meters = generation_meters
        self.municipality = named_account("municipality")
        rng = np.random.default_rng([seed, 0xC0])
        owners = sorted({owner.lower() for owner in generation_meters.values()})
        picks = rng.choice(list(CHOICE_SHARES), size=len(owners), p=list(CHOICE_SHARES.values()))
        self.choice_of = {owner: str(pick) for owner, pick in zip(owners, picks, strict=True)}
        self._approved: set[str] = set()

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
                if owner not in self._approved:
                    chain.transact(owner, self._carbon, carbon, "setApprovalForAll", pool, True)
                    self._approved.add(owner)
                chain.transact(owner, self._pool, pool, "deposit", certificate_id, grams)
                record.pooled_g += grams
                half = grams // 2
                if half > 0:
                    purpose = f"municipal climate programme {day}"
                    chain.transact(
                        owner, self._pool, pool, "retireFromPool", half, self.municipality, purpose
                    )
                    record.retired_from_pool_g += half
        return record
