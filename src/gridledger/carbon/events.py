"""The carbon ledger as the chain's events tell it: certificates issued, retirements, expiries
and pool movements. Reports and the simulation's reconciliation read it from here, from a live
chain or from logs a run saved (the same decoding either way)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from eth_abi.abi import encode

from gridledger.chain.abi import EventLog, load_artifact
from gridledger.chain.hashing import keccak
from gridledger.errors import CarbonError

CARBON_EVENTS = ("CertificateIssued", "CertificateTerms", "CreditsRetired", "CreditsExpired")
POOL_EVENTS = ("Deposited", "Redeemed", "RetiredFromPool", "ExpiredWrittenOff")
EXCHANGE_EVENTS = ("Offered", "Bought", "Cancelled")
SOURCE_NAMES = ("solar", "wind", "hydro", "biomass", "geothermal", "grid-mix", "storage")


class LogSource(Protocol):
    def logs(self, address: str, topic0: bytes) -> list[EventLog]: ...


@dataclass(frozen=True)
class IssuedCertificate:
    certificate_id: int
    generator: str
    device_id: int
    previous_sequence: int
    last_sequence: int
    vintage_start: int
    vintage_end: int
    energy_wh: int
    co2e_grams: int
    expires_at: int
    issued_at: int
    region: int = 0
    energy_source: str = ""
    emission_factor_g_per_kwh: int = 0
    methodology: str = ""
    document_hash: str = ""
    document_uri: str = ""


@dataclass(frozen=True)
class Retirement:
    retirement_id: int
    certificate_id: int
    retiree: str
    beneficiary: str
    co2e_grams: int
    retired_at: int
    purpose: str


@dataclass(frozen=True)
class Expiry:
    certificate_id: int
    outstanding_grams: int
    expires_at: int


@dataclass(frozen=True)
class PoolMovement:
    """A deposit, redemption, retirement from the pool or write-off of expired credits."""

    kind: str  # "deposit" | "redeem" | "retire" | "write-off"
    pool: str
    holder: str  # depositor, redeemer or retiring holder; the pool itself for a write-off
    certificate_id: int
    co2e_grams: int
    fee_grams: int
    at: int


@dataclass(frozen=True)
class CarbonTrade:
    """A purchase on the carbon/payment exchange."""

    offer_id: int
    buyer: str
    seller: str
    certificate_id: int
    co2e_grams: int
    payment_units: int
    at: int


@dataclass
class CarbonLedger:
    certificates: dict[int, IssuedCertificate] = field(default_factory=dict)
    retirements: list[Retirement] = field(default_factory=list)
    expiries: list[Expiry] = field(default_factory=list)
    pool_movements: list[PoolMovement] = field(default_factory=list)
    trades: list[CarbonTrade] = field(default_factory=list)
    # Offers on the exchange: offered grams by offer id, certificate of each, grams returned.
    offered: dict[int, tuple[int, int]] = field(default_factory=dict)
    cancelled_returned: dict[int, int] = field(default_factory=dict)


RETIREMENT_TYPE = "(address,address,uint256,uint256,uint256,string)"
LOG_HEAD_MASK = (1 << 192) - 1


def retirement_log_head(retirements: Iterable[Retirement]) -> tuple[int, int]:
    """(count, head) of the contract's retirement log replayed from these retirements: what
    CarbonCredit.retirementLog() must return if the events are complete and unaltered."""
    head, count = 0, 0
    for retirement in sorted(retirements, key=lambda r: r.retirement_id):
        count += 1
        if retirement.retirement_id != count:
            raise CarbonError(f"retirement {count} is missing from the events")
        record = (
            retirement.retiree,
            retirement.beneficiary,
            retirement.certificate_id,
            retirement.co2e_grams,
            retirement.retired_at,
            retirement.purpose,
        )
        step = encode(["uint256", "uint256", RETIREMENT_TYPE], [head, retirement.retirement_id, record])
        head = int.from_bytes(keccak(step), "big") & LOG_HEAD_MASK
    return count, head


def collect_logs(
    chain: LogSource, carbon: str, pools: list[str], exchanges: list[str] | None = None
) -> list[EventLog]:
    """Every log of the carbon contract, the pools and the exchanges that the ledger reads."""
    credit_abi, pool_abi = load_artifact("CarbonCredit"), load_artifact("CarbonPool")
    exchange_abi = load_artifact("CarbonExchange")
    logs = [log for name in CARBON_EVENTS for log in chain.logs(carbon, credit_abi.event_topic(name))]
    for pool in pools:
        logs += [log for name in POOL_EVENTS for log in chain.logs(pool, pool_abi.event_topic(name))]
    for exchange in exchanges or []:
        logs += [
            log for name in EXCHANGE_EVENTS for log in chain.logs(exchange, exchange_abi.event_topic(name))
        ]
    return logs


def read_ledger(logs: list[EventLog], carbon: str) -> CarbonLedger:
    """Decode `logs` (from the carbon contract at `carbon`, pools and exchanges) into the ledger."""
    credit_abi, pool_abi = load_artifact("CarbonCredit"), load_artifact("CarbonPool")
    exchange_abi = load_artifact("CarbonExchange")
    ledger = CarbonLedger()
    terms: dict[int, dict[str, Any]] = {}
    for log in logs:
        from_carbon = log.address.lower() == carbon.lower()
        decoded = (credit_abi if from_carbon else pool_abi).decode_event(log)
        if decoded is None and not from_carbon:
            decoded = exchange_abi.decode_event(log)
        if decoded is None:
            continue
        name, v = decoded
        if name == "CertificateIssued":
            ledger.certificates[int(v["certificateId"])] = IssuedCertificate(
                int(v["certificateId"]),
                str(v["generator"]),
                int(v["deviceId"]),
                int(v["previousSequence"]),
                int(v["lastSequence"]),
                int(v["vintageStart"]),
                int(v["vintageEnd"]),
                int(v["energyWh"]),
                int(v["co2eGrams"]),
                int(v["expiresAt"]),
                log.timestamp,
            )
        elif name == "CertificateTerms":
            terms[int(v["certificateId"])] = v
        elif name == "CreditsRetired":
            ledger.retirements.append(
                Retirement(
                    int(v["retirementId"]),
                    int(v["certificateId"]),
                    str(v["retiree"]),
                    str(v["beneficiary"]),
                    int(v["co2eGrams"]),
                    int(v["retiredAt"]),
                    str(v["purpose"]),
                )
            )
        elif name == "CreditsExpired":
            ledger.expiries.append(
                Expiry(int(v["certificateId"]), int(v["outstandingGrams"]), int(v["expiresAt"]))
            )
        elif name == "Offered":
            ledger.offered[int(v["offerId"])] = (int(v["certificateId"]), int(v["co2eGrams"]))
        elif name == "Bought":
            ledger.trades.append(
                CarbonTrade(
                    int(v["offerId"]),
                    str(v["buyer"]),
                    str(v["seller"]),
                    int(v["certificateId"]),
                    int(v["co2eGrams"]),
                    int(v["paymentUnits"]),
                    log.timestamp,
                )
            )
        elif name == "Cancelled":
            ledger.cancelled_returned[int(v["offerId"])] = int(v["returnedGrams"])
        else:
            ledger.pool_movements.append(_pool_movement(name, v, log))
    for certificate_id, v in terms.items():
        issued = ledger.certificates.get(certificate_id)
        if issued is None:
            raise CarbonError(f"terms of certificate {certificate_id} without its issuance event")
        ledger.certificates[certificate_id] = IssuedCertificate(
            **{
                **issued.__dict__,
                "region": int(v["region"]),
                "energy_source": SOURCE_NAMES[int(v["energySource"])],
                "emission_factor_g_per_kwh": int(v["emissionFactorGramsPerKWh"]),
                "methodology": bytes(v["methodology"]).rstrip(b"\0").decode(errors="replace"),
                "document_hash": "0x" + bytes(v["documentHash"]).hex(),
                "document_uri": str(v["documentURI"]),
            }
        )
    return ledger


def _pool_movement(name: str, v: dict[str, Any], log: EventLog) -> PoolMovement:
    pool = log.address.lower()
    if name == "Deposited":
        return PoolMovement(
            "deposit",
            pool,
            str(v["depositor"]),
            int(v["certificateId"]),
            int(v["co2eGrams"]),
            0,
            log.timestamp,
        )
    if name == "Redeemed":
        return PoolMovement(
            "redeem",
            pool,
            str(v["redeemer"]),
            int(v["certificateId"]),
            int(v["co2eGrams"]),
            int(v["feeGrams"]),
            log.timestamp,
        )
    if name == "RetiredFromPool":
        return PoolMovement(
            "retire", pool, str(v["holder"]), int(v["certificateId"]), int(v["co2eGrams"]), 0, log.timestamp
        )
    return PoolMovement(
        "write-off", pool, pool, int(v["certificateId"]), int(v["co2eGrams"]), 0, log.timestamp
    )


def save_logs(
    path: Path, carbon: str, pools: list[str], logs: list[EventLog], exchanges: list[str] | None = None
) -> None:
    """Write the carbon logs of a run (e.g. on the in-process chain, which ends with the run)."""
    document = {
        "carbon": carbon,
        "pools": pools,
        "exchanges": exchanges or [],
        "logs": [
            {
                "address": log.address,
                "topics": ["0x" + t.hex() for t in log.topics],
                "data": "0x" + log.data.hex(),
                "transaction": log.transaction,
                "timestamp": log.timestamp,
                "blockNumber": log.block_number,
                "logIndex": log.log_index,
            }
            for log in logs
        ],
    }
    path.write_text(json.dumps(document, indent=1) + "\n")


def load_logs(path: Path) -> tuple[str, list[EventLog]]:
    """(carbon contract address, logs) from a file save_logs wrote."""
    try:
        document = json.loads(path.read_text())
        logs = [
            EventLog(
                str(entry["address"]),
                [bytes.fromhex(t[2:]) for t in entry["topics"]],
                bytes.fromhex(entry["data"][2:]),
                str(entry["transaction"]),
                int(entry["timestamp"]),
                int(entry.get("blockNumber", 0)),
                int(entry.get("logIndex", 0)),
            )
            for entry in document["logs"]
        ]
        return str(document["carbon"]), logs
    except FileNotFoundError as missing:
        raise CarbonError(f"no carbon event file at {path} (run `gridledger simulate` first)") from missing
    except (KeyError, ValueError, TypeError) as malformed:
        raise CarbonError(f"{path} is not a carbon event file: {malformed}") from malformed
