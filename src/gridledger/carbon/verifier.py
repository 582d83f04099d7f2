"""The carbon verifier: certifies each renewable meter's energy lots minted since its last
certificate, with credits = energy x the region's emission factor (docs/carbon.md).

The contract checks everything again; the verifier computes the same figures first so that
it sends only what the contract will accept, and writes the verification document it
commits to (its hash on-chain, its URI in the CertificateIssued event).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from eth_abi.abi import encode

from gridledger.chain.abi import load_artifact
from gridledger.chain.deploy import Chain
from gridledger.chain.hashing import keccak
from gridledger.errors import CarbonError, ContractRevertError

# The CDM methodology for grid-connected renewable generation: credits = generation x the grid's
# emission factor (here the regulator's factor for the generator's region).
METHODOLOGY_GRID_RENEWABLE = b"ACM0002".ljust(32, b"\0")
VERIFICATION_TYPE = "(uint64,uint64,uint64,uint64,bytes32,bytes32,string)"
RENEWABLE_SOURCES = range(5)  # ISmartMeter.EnergySource: Solar, Wind, Hydro, Biomass, Geothermal
QUARANTINED = 4  # ISmartMeter.DeviceStatus


@dataclass(frozen=True)
class Certification:
    """What the verifier found for one device: the lot range, its energy and the credits."""

    device_id: int
    generator: str
    previous_sequence: int
    last_sequence: int
    vintage_start: int
    vintage_end: int
    energy_wh: int
    region: int
    emission_factor_g_per_kwh: int
    co2e_grams: int

    def document(self, chain_id: int, carbon: str) -> bytes:
        """The verification report, canonical JSON: what the document hash commits to."""
        facts = {
            "chain_id": chain_id,
            "carbon_contract": carbon.lower(),
            "device_id": self.device_id,
            "generator": self.generator.lower(),
            "lots": {"after_sequence": self.previous_sequence, "through_sequence": self.last_sequence},
            "vintage": {"start": self.vintage_start, "end": self.vintage_end},
            "energy_wh": self.energy_wh,
            "region": self.region,
            "emission_factor_g_per_kwh": self.emission_factor_g_per_kwh,
            "co2e_grams": self.co2e_grams,
            "methodology": "ACM0002",
        }
        return json.dumps(facts, sort_keys=True, separators=(",", ":")).encode()


class CarbonVerifier:
    """Certifies meters' minted renewable energy on `carbon` as the VERIFIER `account`."""

    def __init__(self, chain: Chain, carbon: str, registry: str, token: str, account: str) -> None:
        self._chain = chain
        self._carbon_address = carbon
        self._registry_address = registry
        self._token_address = token
        self._account = account
        self._carbon = load_artifact("CarbonCredit")
        self._registry = load_artifact("SmartMeterRegistry")
        self._token = load_artifact("EnergyToken")

    def pending(self, device_id: int, vintage_start: int) -> Certification | None:
        """The certification of `device_id`'s lots since its last certificate through its last
        accepted reading, or None when they minted nothing or that reading is the one a
        quarantine reset rewrote (the next reading can end a certificate). `vintage_start` is
        the start of the first new lot's interval, as the verifier's own records say."""
        chain, carbon, registry = self._chain, self._carbon_address, self._registry_address
        device = chain.call(self._registry, registry, "getDevice", device_id)[0]
        owner, source, status, last_sequence = device[1], int(device[4]), int(device[6]), int(device[8])
        if source not in RENEWABLE_SOURCES:
            raise CarbonError(f"device {device_id} does not meter renewable generation (source {source})")
        if status == QUARANTINED:
            raise CarbonError(f"device {device_id} is quarantined; its readings are in doubt")
        previous_sequence, certified_wh = chain.call(self._carbon, carbon, "certifiedThrough", device_id)
        if last_sequence <= int(previous_sequence):
            return None
        try:
            minted = chain.call(self._registry, registry, "mintedExportThrough", device_id, last_sequence)[0]
        except ContractRevertError as refused:
            if refused.error_name != "ReadingBeforeReset":
                raise
            # The last reading is the one a quarantine reset rewrote: wait for the next one.
            return None
        energy_wh = int(minted[4]) - int(certified_wh)
        if energy_wh == 0:
            return None
        region = int(chain.call(self._token, self._token_address, "jurisdictionOf", owner)[0])
        factor = int(chain.call(self._carbon, carbon, "emissionFactorOf", region)[0])
        if factor == 0:
            raise CarbonError(f"no emission factor is set for region {region}")
        co2e_grams = energy_wh * factor // 1000
        if co2e_grams == 0:
            return None
        return Certification(
            device_id=device_id,
            generator=str(owner),
            previous_sequence=int(previous_sequence),
            last_sequence=last_sequence,
            vintage_start=vintage_start,
            vintage_end=int(minted[3]) + 900,
            energy_wh=energy_wh,
            region=region,
            emission_factor_g_per_kwh=factor,
            co2e_grams=co2e_grams,
        )

    def issue(self, certification: Certification) -> int:
        """Issue the certificate on-chain; returns its id."""
        document = certification.document(self._chain.chain_id, self._carbon_address)
        uri = (
            f"urn:gridledger:verification:{self._chain.chain_id}:"
            f"{certification.device_id}:{certification.previous_sequence}-{certification.last_sequence}"
        )
        data = encode(
            [VERIFICATION_TYPE],
            [
                (
                    certification.device_id,
                    certification.previous_sequence,
                    certification.last_sequence,
                    certification.vintage_start,
                    METHODOLOGY_GRID_RENEWABLE,
                    keccak(document),
                    uri,
                )
            ],
        )
        self._chain.transact(
            self._account,
            self._carbon,
            self._carbon_address,
            "issueCreditsCertificate",
            certification.generator,
            certification.co2e_grams,
            data,
        )
        return int(self._chain.call(self._carbon, self._carbon_address, "certificateCount")[0])
