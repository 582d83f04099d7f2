"""The regulator's carbon report: per day and region, credits issued, retired, expired, pooled
and traded, and every retirement with its beneficiary, from the carbon ledger (chain events)."""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta

from gridledger.carbon.events import CarbonLedger, IssuedCertificate
from gridledger.errors import CarbonError

DAY_S = 86_400


@dataclass
class PeriodRegionRow:
    """One day and region. Issued counts by issuance time, retired by retirement time, expired
    at the moment the credits expired, pool movements by their block time."""

    period: str  # YYYY-MM-DD (UTC)
    region: int
    certificates_issued: int = 0
    energy_wh: int = 0
    issued_g: int = 0
    retirements: int = 0
    retired_g: int = 0
    beneficiaries: int = 0
    expired_g: int = 0
    pooled_g: int = 0
    redeemed_from_pool_g: int = 0
    retired_from_pool_g: int = 0
    traded_g: int = 0  # bought on the carbon/payment exchange
    traded_payment_units: int = 0


@dataclass(frozen=True)
class RetirementRow:
    retirement_id: int
    retired_at: str  # ISO 8601 UTC
    certificate_id: int
    region: int
    energy_source: str
    vintage_start: str
    vintage_end: str
    retiree: str
    beneficiary: str
    co2e_g: int
    purpose: str


@dataclass(frozen=True)
class CarbonReport:
    first_day: date
    last_day: date
    periods: list[PeriodRegionRow]
    retirements: list[RetirementRow]
    certificates: list[IssuedCertificate]

    def totals(self) -> dict[str, int]:
        keys = (
            *("certificates_issued", "energy_wh", "issued_g", "retirements", "retired_g", "expired_g"),
            *("pooled_g", "redeemed_from_pool_g", "retired_from_pool_g"),
            *("traded_g", "traded_payment_units"),
        )
        return {key: sum(int(getattr(row, key)) for row in self.periods) for key in keys}


def _iso(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat().replace("+00:00", "Z")


def _day(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, UTC).date().isoformat()


def build_report(ledger: CarbonLedger, first_day: date, last_day: date) -> CarbonReport:
    """The report of the UTC days first_day..last_day, both included."""
    if last_day < first_day:
        raise CarbonError(f"the report ends ({last_day}) before it starts ({first_day})")
    begin = int(datetime(first_day.year, first_day.month, first_day.day, tzinfo=UTC).timestamp())
    end = begin + ((last_day - first_day) + timedelta(days=1)).days * DAY_S

    def inside(timestamp: int) -> bool:
        return begin <= timestamp < end

    rows: dict[tuple[str, int], PeriodRegionRow] = {}
    beneficiaries: dict[tuple[str, int], set[str]] = defaultdict(set)

    def row(timestamp: int, region: int) -> PeriodRegionRow:
        key = (_day(timestamp), region)
        if key not in rows:
            rows[key] = PeriodRegionRow(*key)
        return rows[key]

    def certificate(certificate_id: int) -> IssuedCertificate:
        found = ledger.certificates.get(certificate_id)
        if found is None:
            raise CarbonError(f"an event names certificate {certificate_id}, which was never issued")
        return found

    for issued in ledger.certificates.values():
        if inside(issued.issued_at):
            target = row(issued.issued_at, issued.region)
            target.certificates_issued += 1
            target.energy_wh += issued.energy_wh
            target.issued_g += issued.co2e_grams
    retirement_rows = []
    for retirement in sorted(ledger.retirements, key=lambda r: r.retirement_id):
        if not inside(retirement.retired_at):
            continue
        issued = certificate(retirement.certificate_id)
        target = row(retirement.retired_at, issued.region)
        target.retirements += 1
        target.retired_g += retirement.co2e_grams
        beneficiaries[(target.period, target.region)].add(retirement.beneficiary.lower())
        retirement_rows.append(
            RetirementRow(
                retirement.retirement_id,
                _iso(retirement.retired_at),
                issued.certificate_id,
                issued.region,
                issued.energy_source,
                _iso(issued.vintage_start),
                _iso(issued.vintage_end),
                retirement.retiree,
                retirement.beneficiary,
                retirement.co2e_grams,
                retirement.purpose,
            )
        )
    for expiry in ledger.expiries:
        if inside(expiry.expires_at):
            row(
                expiry.expires_at, certificate(expiry.certificate_id).region
            ).expired_g += expiry.outstanding_grams
    for movement in ledger.pool_movements:
        if not inside(movement.at):
            continue
        target = row(movement.at, certificate(movement.certificate_id).region)
        if movement.kind == "deposit":
            target.pooled_g += movement.co2e_grams
        elif movement.kind == "redeem":
            target.redeemed_from_pool_g += movement.co2e_grams
        elif movement.kind == "retire":
            target.retired_from_pool_g += movement.co2e_grams
    for trade in ledger.trades:
        if inside(trade.at):
            target = row(trade.at, certificate(trade.certificate_id).region)
            target.traded_g += trade.co2e_grams
            target.traded_payment_units += trade.payment_units
    for key, names in beneficiaries.items():
        rows[key].beneficiaries = len(names)
    certificates = sorted(
        (c for c in ledger.certificates.values() if inside(c.issued_at)), key=lambda c: c.certificate_id
    )
    return CarbonReport(
        first_day,
        last_day,
        sorted(rows.values(), key=lambda r: (r.period, r.region)),
        retirement_rows,
        certificates,
    )


def render_json(report: CarbonReport) -> str:
    document = {
        "from": report.first_day.isoformat(),
        "to": report.last_day.isoformat(),
        "unit": "g CO2e",
        "totals": report.totals(),
        "periods": [asdict(row) for row in report.periods],
        "retirements": [asdict(row) for row in report.retirements],
        "certificates": [asdict(c) for c in report.certificates],
    }
    return json.dumps(document, indent=2) + "\n"


TABLES = ("periods", "retirements", "certificates")


def render_csv(report: CarbonReport, table: str = "periods") -> str:
    """One of the report's tables as CSV: periods (default), retirements or certificates."""
    records: list[dict[str, object]]
    if table == "periods":
        records = [asdict(row) for row in report.periods]
        fields = list(PeriodRegionRow.__dataclass_fields__)
    elif table == "retirements":
        records = [asdict(row) for row in report.retirements]
        fields = list(RetirementRow.__dataclass_fields__)
    elif table == "certificates":
        records = [asdict(c) for c in report.certificates]
        fields = list(IssuedCertificate.__dataclass_fields__)
    else:
        raise CarbonError(f"unknown table {table!r}: choose one of {', '.join(TABLES)}")
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows(records)
    return buffer.getvalue()
