"""Direct-role administration of a live deployment, each command signed by its role's key:
`participant verify|revoke` (regulator), `device register|status` (meter operator),
`zone create|capacity` and `node register` (grid operator), `pause` (emergency); `firmware approve` is the
multisig's (ADMIN), so it writes a proposal for the signers."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from gridledger.chain.abi import load_artifact
from gridledger.cli.keys import DEFAULT_KEYSTORE, KeystoreOption, PasswordFileOption
from gridledger.cli.live import (
    DEFAULT_DEPLOYMENTS,
    Deployment,
    DeploymentsOption,
    RpcUrlOption,
    open_deployment,
)
from gridledger.cli.multisig import propose_to_file
from gridledger.cli.options import checked_address
from gridledger.errors import ContractRevertError, InputError
from gridledger.grid.onchain import GridRegistrar, NodeType
from gridledger.meter.signing import DeviceKind, EnergySource, encode_device_data
from gridledger.ops.deployment import CONTRACT_ARTIFACTS

LOCAL_NODE = "http://127.0.0.1:8545"
DEVICE_STATUSES = ("active", "maintenance", "suspended", "quarantined", "decommissioned")
CSV_COLUMNS = ("device_address", "owner", "grid_node_id", "kind", "source", "rated_power_w", "firmware_hash")
PAUSABLE = (
    "SmartMeterRegistry",
    "EnergyToken",
    "EnergyMarket",
    "GridManagement",
    "CarbonCredit",
    "CarbonExchange",
)

participant_app = typer.Typer(
    help="Participants (regulator): who may hold and trade energy.", no_args_is_help=True
)
device_app = typer.Typer(help="Smart meters (meter operator).", no_args_is_help=True)
zone_app = typer.Typer(help="Grid zones (grid operator).", no_args_is_help=True)
node_app = typer.Typer(help="Grid connections (grid operator).", no_args_is_help=True)
firmware_app = typer.Typer(help="Meter firmware (multisig).", no_args_is_help=True)

KeyOption = Annotated[
    str | None, typer.Option("--key", help="Keystore key that signs (default: the role's).")
]


def _open(
    rpc_url: str,
    deployments: Path,
    keystore: Path,
    password_file: Path | None,
    key: str | None,
    role_key: str,
) -> Deployment:
    return open_deployment(rpc_url, deployments, key or role_key, keystore, password_file)


@participant_app.command("verify")
def verify_participant(
    address: Annotated[str, typer.Argument(help="The participant's address.")],
    jurisdiction: Annotated[int, typer.Option(min=1, max=999, help="ISO 3166 numeric country code.")],
    rpc_url: RpcUrlOption = LOCAL_NODE,
    deployments: DeploymentsOption = DEFAULT_DEPLOYMENTS,
    keystore: KeystoreOption = DEFAULT_KEYSTORE,
    password_file: PasswordFileOption = None,
    key: KeyOption = None,
) -> None:
    """Record a participant as verified (KYC done) in a jurisdiction."""
    participant = checked_address(address, "ADDRESS")
    opened = _open(rpc_url, deployments, keystore, password_file, key, "regulator")
    token = load_artifact("EnergyToken")
    opened.chain.transact(
        opened.sender, token, opened.system.token, "setParticipant", participant, True, jurisdiction
    )
    typer.echo(f"{participant} verified in jurisdiction {jurisdiction}")


@participant_app.command("revoke")
def revoke_participant(
    address: Annotated[str, typer.Argument(help="The participant's address.")],
    rpc_url: RpcUrlOption = LOCAL_NODE,
    deployments: DeploymentsOption = DEFAULT_DEPLOYMENTS,
    keystore: KeystoreOption = DEFAULT_KEYSTORE,
    password_file: PasswordFileOption = None,
    key: KeyOption = None,
) -> None:
    """Withdraw a participant's verification: it can no longer receive energy."""
    participant = checked_address(address, "ADDRESS")
    opened = _open(rpc_url, deployments, keystore, password_file, key, "regulator")
    token = load_artifact("EnergyToken")
    opened.chain.transact(opened.sender, token, opened.system.token, "setParticipant", participant, False, 0)
    typer.echo(f"{participant} no longer verified")


@dataclass(frozen=True)
class MeterRow:
    """One meter of a utility's export, checked."""

    line: int
    device: str
    owner: str
    grid_node_id: int
    kind: DeviceKind
    source: EnergySource
    rated_power_w: int
    firmware_hash: bytes


def read_meter_csv(path: Path) -> list[MeterRow]:
    """Every row of `path`, checked before anything is sent; InputError naming the line."""
    try:
        with path.open(newline="", encoding="utf-8") as stream:
            reader = csv.DictReader(stream)
            header = tuple(reader.fieldnames or ())
            if not set(CSV_COLUMNS) <= set(header):
                missing = ", ".join(c for c in CSV_COLUMNS if c not in header)
                raise InputError(f"{path}: the header lacks {missing} (columns: {', '.join(CSV_COLUMNS)})")
            rows = [_meter_row(path, reader.line_num, record) for record in reader]
    except (OSError, UnicodeDecodeError, csv.Error) as unreadable:
        raise InputError(f"cannot read {path}: {unreadable}") from unreadable
    seen: dict[str, int] = {}
    for row in rows:
        if row.device in seen:
            raise InputError(f"{path} line {row.line}: device {row.device} is on line {seen[row.device]} too")
        seen[row.device] = row.line
    if not rows:
        raise InputError(f"{path} has no meters")
    return rows


def _meter_row(path: Path, line: int, record: dict[str, str]) -> MeterRow:
    where = f"{path} line {line}"
    try:
        kind = DeviceKind[record["kind"].strip().upper()]
    except KeyError as bad:
        raise InputError(f"{where}: kind is one of {', '.join(k.name.lower() for k in DeviceKind)}") from bad
    try:
        source = EnergySource[record["source"].strip().upper()]
    except KeyError as bad:
        raise InputError(
            f"{where}: source is one of {', '.join(s.name.lower() for s in EnergySource)}"
        ) from bad
    try:
        grid_node_id = int(record["grid_node_id"])
        rated_power_w = int(record["rated_power_w"])
        firmware_hash = bytes.fromhex(record["firmware_hash"].strip().removeprefix("0x"))
    except ValueError as bad:
        raise InputError(f"{where}: {bad}") from bad
    if not 0 < grid_node_id < 2**64 or not 0 <= rated_power_w < 2**32 or len(firmware_hash) != 32:
        raise InputError(f"{where}: grid_node_id 1..2^64-1, rated_power_w 0..2^32-1, firmware_hash 32 bytes")
    return MeterRow(
        line,
        checked_address(record["device_address"].strip(), f"{where}: device_address"),
        checked_address(record["owner"].strip(), f"{where}: owner"),
        grid_node_id,
        kind,
        source,
        rated_power_w,
        firmware_hash,
    )


@device_app.command("register")
def register_devices(
    meters: Annotated[Path, typer.Option("--csv", help=f"The meters, columns {', '.join(CSV_COLUMNS)}.")],
    rpc_url: RpcUrlOption = LOCAL_NODE,
    deployments: DeploymentsOption = DEFAULT_DEPLOYMENTS,
    keystore: KeystoreOption = DEFAULT_KEYSTORE,
    password_file: PasswordFileOption = None,
    key: KeyOption = None,
) -> None:
    """Register every meter of a CSV export; meters registered already are skipped, so a run
    stopped part way is simply run again."""
    rows = read_meter_csv(meters)
    opened = _open(rpc_url, deployments, keystore, password_file, key, "meter-operator")
    registry = load_artifact("SmartMeterRegistry")
    registered = skipped = 0
    for row in rows:
        if opened.chain.call(registry, opened.system.registry, "deviceIdOf", row.device)[0] != 0:
            skipped += 1
            continue
        data = encode_device_data(
            row.owner, row.grid_node_id, row.kind, row.source, row.rated_power_w, row.firmware_hash
        )
        try:
            opened.chain.transact(
                opened.sender, registry, opened.system.registry, "registerDevice", row.device, data
            )
        except ContractRevertError as refused:
            raise InputError(
                f"{meters} line {row.line}: the registry refused device {row.device}: {refused} "
                f"({registered} registered before it; run again after fixing the line)"
            ) from refused
        registered += 1
    typer.echo(f"registered {registered} meter(s); {skipped} registered already")


@device_app.command("status")
def device_status(
    device_id: Annotated[int, typer.Argument(min=1, help="The device id.")],
    status: Annotated[str, typer.Argument(help=f"One of {', '.join(DEVICE_STATUSES)}.")],
    rpc_url: RpcUrlOption = LOCAL_NODE,
    deployments: DeploymentsOption = DEFAULT_DEPLOYMENTS,
    keystore: KeystoreOption = DEFAULT_KEYSTORE,
    password_file: PasswordFileOption = None,
    key: KeyOption = None,
) -> None:
    """Set a device's status (decommissioned is final)."""
    if status.lower() not in DEVICE_STATUSES:
        raise InputError(f"STATUS is one of {', '.join(DEVICE_STATUSES)}, got {status!r}")
    code = DEVICE_STATUSES.index(status.lower()) + 1  # ISmartMeter.DeviceStatus: 0 is Unregistered
    opened = _open(rpc_url, deployments, keystore, password_file, key, "meter-operator")
    registry = load_artifact("SmartMeterRegistry")
    opened.chain.transact(opened.sender, registry, opened.system.registry, "setDeviceStatus", device_id, code)
    typer.echo(f"device {device_id} is {status.lower()}")


@zone_app.command("create")
def create_zone(
    zone_id: Annotated[int, typer.Argument(min=1, max=2**32 - 1, help="The new zone's id.")],
    capacity_wh: Annotated[int, typer.Option(min=0, max=2**64 - 1, help="Energy per interval it carries.")],
    parent: Annotated[int, typer.Option(min=0, max=2**32 - 1, help="Parent zone (0: none).")] = 0,
    rpc_url: RpcUrlOption = LOCAL_NODE,
    deployments: DeploymentsOption = DEFAULT_DEPLOYMENTS,
    keystore: KeystoreOption = DEFAULT_KEYSTORE,
    password_file: PasswordFileOption = None,
    key: KeyOption = None,
) -> None:
    """Create a grid zone under a parent zone."""
    opened = _open(rpc_url, deployments, keystore, password_file, key, "grid-operator")
    GridRegistrar(opened.chain, opened.system, opened.sender).create_zone(zone_id, parent, capacity_wh)
    typer.echo(f"zone {zone_id} created under {parent or 'no zone'}, {capacity_wh} Wh per interval")


@zone_app.command("capacity")
def zone_capacity(
    zone_id: Annotated[int, typer.Argument(min=1, max=2**32 - 1, help="The zone.")],
    capacity_wh: Annotated[int, typer.Argument(min=0, max=2**64 - 1, help="Energy per interval it carries.")],
    rpc_url: RpcUrlOption = LOCAL_NODE,
    deployments: DeploymentsOption = DEFAULT_DEPLOYMENTS,
    keystore: KeystoreOption = DEFAULT_KEYSTORE,
    password_file: PasswordFileOption = None,
    key: KeyOption = None,
) -> None:
    """Change a zone's capacity per interval."""
    opened = _open(rpc_url, deployments, keystore, password_file, key, "grid-operator")
    GridRegistrar(opened.chain, opened.system, opened.sender).set_zone_capacity(zone_id, capacity_wh)
    typer.echo(f"zone {zone_id} carries {capacity_wh} Wh per interval")


@node_app.command("register")
def register_node(
    address: Annotated[str, typer.Argument(help="The connection's account (its owner).")],
    zone: Annotated[int, typer.Option(min=1, max=2**32 - 1, help="The zone it is in.")],
    capacity_w: Annotated[int, typer.Option(min=1, max=2**32 - 1, help="Connection capacity in W.")],
    node_type: Annotated[
        str, typer.Option("--type", help=f"One of {', '.join(t.name.lower() for t in NodeType)}.")
    ] = "prosumer",
    rpc_url: RpcUrlOption = LOCAL_NODE,
    deployments: DeploymentsOption = DEFAULT_DEPLOYMENTS,
    keystore: KeystoreOption = DEFAULT_KEYSTORE,
    password_file: PasswordFileOption = None,
    key: KeyOption = None,
) -> None:
    """Register a grid connection in a zone with its capacity (which bounds its meters' rated
    power); prints its node id, which the meter CSV refers to."""
    account = checked_address(address, "ADDRESS")
    if node_type.upper() not in NodeType.__members__:
        raise InputError(f"--type is one of {', '.join(t.name.lower() for t in NodeType)}, got {node_type!r}")
    opened = _open(rpc_url, deployments, keystore, password_file, key, "grid-operator")
    registrar = GridRegistrar(opened.chain, opened.system, opened.sender)
    node_id = registrar.register_node(account, NodeType[node_type.upper()], zone)
    registrar.set_connection_capacity(node_id, capacity_w)
    typer.echo(f"node {node_id}: {account} in zone {zone}, {capacity_w} W")


@firmware_app.command("approve")
def approve_firmware(
    firmware_hash: Annotated[str, typer.Argument(help="The firmware image's hash, 32 bytes in hex.")],
    out: Annotated[Path, typer.Option("--out", help="Where to write the proposal.")] = Path("proposal.json"),
    rpc_url: RpcUrlOption = LOCAL_NODE,
    deployments: DeploymentsOption = DEFAULT_DEPLOYMENTS,
) -> None:
    """Propose approving a firmware (the multisig's decision): writes the proposal to sign."""
    propose_to_file(
        rpc_url, deployments, "SmartMeterRegistry", "setFirmwareApproval", [firmware_hash, "true"], out
    )


def pause_command(
    contract: Annotated[str, typer.Argument(help=f"One of {', '.join(PAUSABLE)}.")],
    rpc_url: RpcUrlOption = LOCAL_NODE,
    deployments: DeploymentsOption = DEFAULT_DEPLOYMENTS,
    keystore: KeystoreOption = DEFAULT_KEYSTORE,
    password_file: PasswordFileOption = None,
    key: KeyOption = None,
) -> None:
    """Emergency stop of one contract (unpausing is the multisig's: multisig propose CONTRACT unpause)."""
    if contract not in PAUSABLE:
        raise InputError(f"CONTRACT is one of {', '.join(PAUSABLE)}, got {contract!r}")
    field = next(name for name, artifact in CONTRACT_ARTIFACTS.items() if artifact == contract)
    opened = _open(rpc_url, deployments, keystore, password_file, key, "emergency")
    opened.chain.transact(opened.sender, load_artifact(contract), getattr(opened.system, field), "pause")
    typer.echo(f"{contract} paused")
