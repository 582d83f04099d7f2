"""The read routes: status, participants, devices, energy, intervals, grid, carbon, reports and
the audit feed. Each is a thin call into `core`; errors are raised there as ApiError."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request

from gridledger.api.core import (
    carbon,
    community,
    devices,
    energy,
    events,
    grid,
    intervals,
    participants,
    reports,
    status,
)
from gridledger.api.core.common import Page, address
from gridledger.api.deps import Address, Db, Paging, Span
from gridledger.api.models import ItemPage, Status

UINT256_MAX = 2**256 - 1
DeviceId = Annotated[int, Path(ge=0, le=UINT256_MAX, description="The registry's device id.")]


def _page(page: Page) -> dict[str, Any]:
    return {"items": page.items, "next_cursor": page.next_cursor}


status_router = APIRouter(tags=["status"])


@status_router.get("/status", response_model=Status)
def get_status(db: Db, request: Request) -> dict[str, Any]:
    """The indexer's progress: chain id, deployment, cursor/head/confirmed block, lag, reorgs;
    and the JSON-RPC URL wallets may add for the chain, where the server was given one."""
    return {**status.status(db), "rpc_url": request.app.state.settings.public_rpc_url}


participants_router = APIRouter(prefix="/participants", tags=["participants"])


@participants_router.get("", response_model=ItemPage)
def list_participants(db: Db, page: Paging) -> dict[str, Any]:
    """Every participant with its newest ParticipantSet (verified, jurisdiction), by address."""
    return _page(participants.list_participants(db, page))


@participants_router.get("/{holder}")
def get_participant(db: Db, holder: Address) -> dict[str, Any]:
    """Energy balance, market escrow (payment and energy), devices and carbon of a participant.
    `payment_escrow_units` is null when a settlement's grid fees cannot be split per buy."""
    return participants.summary(db, holder)


@participants_router.get("/{holder}/trades", response_model=ItemPage)
def list_participant_trades(db: Db, holder: Address, page: Paging) -> dict[str, Any]:
    """The participant's fills: interval, side, Wh, payment units, clearing price, grid fee."""
    return _page(participants.participant_trades(db, holder, page))


@participants_router.get("/{holder}/lots", response_model=ItemPage)
def list_energy_lots(db: Db, holder: Address, page: Paging) -> dict[str, Any]:
    """Energy lots minted to the holder (lot ids as strings)."""
    return _page(energy.lots(db, holder, page))


@participants_router.get("/{holder}/burns", response_model=ItemPage)
def list_energy_burns(db: Db, holder: Address, page: Paging) -> dict[str, Any]:
    """Energy the holder burned (own burns, consumption) or lost to expiry."""
    return _page(energy.burns(db, holder, page))


devices_router = APIRouter(prefix="/devices", tags=["devices"])


@devices_router.get("", response_model=ItemPage)
def list_devices(db: Db, page: Paging) -> dict[str, Any]:
    """Registered meters with current owner and status, by device id."""
    return _page(devices.list_devices(db, page))


@devices_router.get("/{device_id}")
def get_device(db: Db, device_id: DeviceId) -> dict[str, Any]:
    """One meter: registration, current owner and status, its 20 latest changes (all of them at
    /history) and its 10 latest readings."""
    return devices.device(db, device_id)


@devices_router.get("/{device_id}/history", response_model=ItemPage)
def list_device_history(db: Db, device_id: DeviceId, page: Paging) -> dict[str, Any]:
    """The meter's changes in chain order: status, quarantines, owner, key, firmware, rated
    power, quarantine resets."""
    return _page(devices.history(db, device_id, page))


@devices_router.get("/{device_id}/readings", response_model=ItemPage)
def list_readings(db: Db, device_id: DeviceId, span: Span, page: Paging) -> dict[str, Any]:
    """Readings accepted and rejected (with reason) with block time in [from, to)."""
    return _page(devices.readings(db, device_id, span, page))


intervals_router = APIRouter(prefix="/intervals", tags=["market"])


@intervals_router.get("", response_model=ItemPage)
def list_intervals(db: Db, span: Span, page: Paging) -> dict[str, Any]:
    """Intervals starting in [from, to): gate, settlement (price, volume, pricing), fill count."""
    return _page(intervals.list_intervals(db, span, page))


@intervals_router.get("/{interval_start}")
def get_interval(
    request: Request, db: Db, interval_start: Annotated[int, Path(ge=0, le=2**63 - 1)]
) -> dict[str, Any]:
    """One interval with its fills and, if the server has the operator's state, its book."""
    return intervals.interval(db, interval_start, request.app.state.settings.state_dir)


grid_router = APIRouter(prefix="/grid", tags=["grid"])


ZoneId = Annotated[int, Path(ge=0, le=2**32 - 1, description="GridManagement's zone id.")]


@grid_router.get("/zones", response_model=ItemPage)
def list_zones(db: Db, page: Paging) -> dict[str, Any]:
    """Zones by id: parent, current capacity and state, reported losses (count and total)."""
    return _page(grid.zones(db, page))


@grid_router.get("/zones/{zone_id}/history", response_model=ItemPage)
def list_zone_history(db: Db, zone_id: ZoneId, page: Paging) -> dict[str, Any]:
    """The zone's state and capacity changes in chain order."""
    return _page(grid.zone_history(db, zone_id, page))


@grid_router.get("/zones/{zone_id}/losses", response_model=ItemPage)
def list_zone_losses(db: Db, zone_id: ZoneId, span: Span, page: Paging) -> dict[str, Any]:
    """Losses reported for the zone, for intervals starting in [from, to), by interval."""
    return _page(grid.zone_losses(db, zone_id, span, page))


@grid_router.get("/zones/{zone_id}/quality", response_model=ItemPage)
def list_zone_quality(db: Db, zone_id: ZoneId, span: Span, page: Paging) -> dict[str, Any]:
    """Quality of service reported for the zone, for days starting in [from, to), by day:
    bus-minutes outside ±5 % and ±10 %, interruptions, their minutes and customer-minutes."""
    return _page(grid.zone_quality(db, zone_id, span, page))


carbon_router = APIRouter(prefix="/carbon", tags=["carbon"])


@carbon_router.get("/certificates", response_model=ItemPage)
def list_certificates(
    db: Db, page: Paging, generator: Annotated[str | None, Query(description="Filter by generator.")] = None
) -> dict[str, Any]:
    """Certificates with their terms, by certificate id."""
    return _page(
        carbon.certificates(db, page, None if generator is None else address(generator, "generator"))
    )


@carbon_router.get("/retirements", response_model=ItemPage)
def list_retirements(
    db: Db, page: Paging, retiree: Annotated[str | None, Query(description="Filter by retiree.")] = None
) -> dict[str, Any]:
    """Retirements: retiree, beneficiary, grams, purpose."""
    return _page(carbon.retirements(db, page, None if retiree is None else address(retiree, "retiree")))


@carbon_router.get("/pools")
def get_pools(db: Db) -> dict[str, Any]:
    """The carbon pool: counts and grams of its deposits, redemptions (and their fees),
    retirements and write-offs, and its balance by certificate."""
    return {"items": [carbon.pools(db)]}


@carbon_router.get("/pools/activity", response_model=ItemPage)
def list_pool_activity(db: Db, page: Paging) -> dict[str, Any]:
    """The pool's deposits, redemptions, retirements and write-offs in chain order."""
    return _page(carbon.pool_activity(db, page))


reports_router = APIRouter(prefix="/reports", tags=["reports"])


@reports_router.get("/regulator")
def regulator_report(db: Db, span: Span) -> dict[str, Any]:
    """Totals of [from, to): energy minted, traded, fees, readings, quarantines, carbon."""
    return reports.regulator(db, span)


community_router = APIRouter(prefix="/community", tags=["community"])


@community_router.get("/energy")
def community_energy(db: Db, span: Span) -> dict[str, Any]:
    """Per interval starting in [from, to): Wh the meters generated (minted) and consumed, and
    Wh traded (sold) in the market."""
    return {"items": community.energy_by_interval(db, span)}


events_router = APIRouter(tags=["audit"])


@events_router.get("/events", response_model=ItemPage)
def audit_feed(
    db: Db,
    page: Paging,
    contract: Annotated[str | None, Query(max_length=32)] = None,
    event: Annotated[str | None, Query(max_length=64)] = None,
    from_block: Annotated[int | None, Query(ge=0, le=2**63 - 1)] = None,
    to_block: Annotated[int | None, Query(ge=0, le=2**63 - 1)] = None,
) -> dict[str, Any]:
    """Every indexed log in chain order, filtered by contract, event and inclusive block range."""
    return _page(events.audit_feed(db, page, contract, event, from_block, to_block))


ROUTERS = (
    status_router,
    participants_router,
    devices_router,
    intervals_router,
    grid_router,
    carbon_router,
    reports_router,
    community_router,
    events_router,
)
