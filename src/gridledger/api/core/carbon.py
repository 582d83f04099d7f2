"""Carbon credits: certificates with their terms, retirements, pools, and who holds what.

Holdings are ERC-1155 balances summed from TransferSingle and TransferBatch; a certificate's
grams past its expiry still show here (the contract's `liveBalanceOf` drops them at read time,
with no event per holder).
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from sqlalchemy import Connection, String, cast, func, literal, null, select, union_all

from gridledger.api.core.common import (
    Page,
    PageRequest,
    event_table,
    index_state,
    keyset_page,
    latest_rows,
    meta_columns,
    row_meta,
)
from gridledger.indexer.schema import as_int

ZERO = "0x" + "0" * 40


def _json_ints(value: Any) -> list[int]:
    items = json.loads(value) if isinstance(value, str) else value
    return [int(v) for v in items]


def balances(connection: Connection, holder: str | None = None) -> dict[tuple[str, int], int]:
    """(holder, certificate id) → grams, over every ERC-1155 transfer (for one holder if given)."""
    single = event_table("carbon", "TransferSingle")
    batch = event_table("carbon", "TransferBatch")
    totals: dict[tuple[str, int], int] = defaultdict(int)
    query = select(single.c["from"], single.c.to, single.c.id, single.c.value)
    if holder is not None:
        query = query.where((single.c["from"] == holder) | (single.c.to == holder))
    for sender, receiver, id_, value in connection.execute(query).all():
        totals[(sender, as_int(id_))] -= as_int(value)
        totals[(receiver, as_int(id_))] += as_int(value)
    query_batch = select(batch.c["from"], batch.c.to, batch.c.ids, batch.c["values"])
    if holder is not None:
        query_batch = query_batch.where((batch.c["from"] == holder) | (batch.c.to == holder))
    for sender, receiver, ids, values in connection.execute(query_batch).all():
        for id_, value in zip(_json_ints(ids), _json_ints(values), strict=True):
            totals[(sender, id_)] -= value
            totals[(receiver, id_)] += value
    return {key: grams for key, grams in totals.items() if key[0] != ZERO and grams != 0}


def holdings(connection: Connection, holder: str) -> dict[str, Any]:
    """What `holder` holds by certificate, and what it retired."""
    retired = event_table("carbon", "CreditsRetired")
    held = {id_: grams for (who, id_), grams in balances(connection, holder).items() if who == holder}
    retired_grams = connection.execute(
        select(func.coalesce(func.sum(retired.c.co2e_grams), 0)).where(retired.c.retiree == holder)
    ).scalar()
    return {
        "held": [{"certificate_id": str(id_), "co2e_grams": grams} for id_, grams in sorted(held.items())],
        "held_co2e_grams": sum(held.values()),
        "retired_co2e_grams": as_int(retired_grams or 0),
    }


def _certificate(row: dict[str, Any], terms: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "certificate_id": str(as_int(row["certificate_id"])),
        "generator": row["generator"],
        "device_id": str(as_int(row["device_id"])),
        "previous_sequence": as_int(row["previous_sequence"]),
        "last_sequence": as_int(row["last_sequence"]),
        "vintage_start": as_int(row["vintage_start"]),
        "vintage_end": as_int(row["vintage_end"]),
        "energy_wh": as_int(row["energy_wh"]),
        "co2e_grams": as_int(row["co2e_grams"]),
        "expires_at": as_int(row["expires_at"]),
        "issued_at": row_meta(row),
        "terms": None
        if terms is None
        else {
            "region": int(terms["region"]),
            "energy_source": int(terms["energy_source"]),
            "emission_factor_grams_per_kwh": as_int(terms["emission_factor_grams_per_kwh"]),
            "methodology": terms["methodology"],
            "document_hash": terms["document_hash"],
            "document_uri": terms["document_uri"],
        },
    }


def certificates(connection: Connection, page: PageRequest, generator: str | None = None) -> Page:
    issued = event_table("carbon", "CertificateIssued")
    terms = event_table("carbon", "CertificateTerms")
    query = select(issued)
    if generator is not None:
        query = query.where(issued.c.generator == generator)
    rows, cursor = keyset_page(connection, query, [issued.c.certificate_id], page)
    ids = [as_int(row["certificate_id"]) for row in rows]
    terms_of = latest_rows(connection, terms, terms.c.certificate_id, ids)
    return Page([_certificate(row, terms_of.get(id_)) for row, id_ in zip(rows, ids, strict=True)], cursor)


def retirements(connection: Connection, page: PageRequest, retiree: str | None = None) -> Page:
    retired = event_table("carbon", "CreditsRetired")
    query = select(retired)
    if retiree is not None:
        query = query.where(retired.c.retiree == retiree)
    rows, cursor = keyset_page(connection, query, [retired.c.retirement_id], page)
    items = [
        {
            "retirement_id": str(as_int(r["retirement_id"])),
            "certificate_id": str(as_int(r["certificate_id"])),
            "retiree": r["retiree"],
            "beneficiary": r["beneficiary"],
            "co2e_grams": as_int(r["co2e_grams"]),
            "retired_at": as_int(r["retired_at"]),
            "purpose": r["purpose"],
            **row_meta(r),
        }
        for r in rows
    ]
    return Page(items, cursor)


# The pool's activity: each event, what its grams column is, and who acted.
_POOL_ACTIVITY = (
    ("Deposited", "deposit", "depositor"),
    ("Redeemed", "redemption", "redeemer"),
    ("RetiredFromPool", "retirement", "holder"),
    ("ExpiredWrittenOff", "write_off", None),
)


def pools(connection: Connection) -> dict[str, Any]:
    """The carbon pool: how many deposits, redemptions, retirements and write-offs it saw and
    their grams (one aggregate query each), and its grams by certificate (its ERC-1155 balance).
    The events themselves page at /carbon/pools/activity."""
    pool = index_state(connection).deployment.get("carbon_pool")
    held = (
        {id_: grams for (who, id_), grams in balances(connection, pool).items() if who == pool}
        if pool is not None
        else {}
    )
    totals: dict[str, Any] = {"address": pool}
    for event, kind, _ in _POOL_ACTIVITY:
        table = event_table("carbon_pool", event)
        count, grams = connection.execute(
            select(func.count(), func.coalesce(func.sum(table.c.co2e_grams), 0))
        ).one()
        totals[f"{kind}s"] = int(count)
        totals[f"{kind}_co2e_grams"] = as_int(grams)
    redeemed = event_table("carbon_pool", "Redeemed")
    fees = connection.execute(select(func.coalesce(func.sum(redeemed.c.fee_grams), 0))).scalar_one()
    return {
        **totals,
        "redemption_fee_grams": as_int(fees),
        "balances": [{"certificate_id": str(id_), "co2e_grams": g} for id_, g in sorted(held.items())],
        "balance_co2e_grams": sum(held.values()),
    }


def pool_activity(connection: Connection, page: PageRequest) -> Page:
    """The pool's deposits, redemptions, retirements and write-offs in chain order."""
    parts = []
    for event, kind, actor in _POOL_ACTIVITY:
        table = event_table("carbon_pool", event)
        retirement_id = cast(table.c.retirement_id, String) if kind == "retirement" else null()
        parts.append(
            select(
                *meta_columns(table),
                literal(kind).label("kind"),
                (null() if actor is None else table.c[actor]).label("account"),
                cast(table.c.certificate_id, String).label("certificate_id"),
                cast(table.c.co2e_grams, String).label("co2e_grams"),
                (cast(table.c.fee_grams, String) if kind == "redemption" else null()).label("fee_grams"),
                retirement_id.label("retirement_id"),
            )
        )
    query = select(union_all(*parts).subquery())
    columns = [query.selected_columns.block_number, query.selected_columns.log_index]
    rows, cursor = keyset_page(
        connection, query, columns, page, key_of=lambda r: (r["block_number"], r["log_index"])
    )
    items = [
        {
            "kind": r["kind"],
            **row_meta(r),
            "account": r["account"],
            "certificate_id": r["certificate_id"],
            "co2e_grams": int(r["co2e_grams"]),
            **({"fee_grams": int(r["fee_grams"])} if r["kind"] == "redemption" else {}),
            **({"retirement_id": r["retirement_id"]} if r["kind"] == "retirement" else {}),
        }
        for r in rows
    ]
    return Page(items, cursor)
