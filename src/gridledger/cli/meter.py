"""`gridledger meter ...`: meters' certificates and signing keys, from the platform's own CA."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gridledger.cli.admin import CSV_COLUMNS
from gridledger.cli.meter_run import meter_run_command
from gridledger.errors import PkiError
from gridledger.iot import pki as pki_files
from gridledger.iot.topics import checked_device_name

meter_app = typer.Typer(help="Meters: provisioning and simulated meters over MQTT/TLS.", no_args_is_help=True)
meter_app.command("run")(meter_run_command)

DEFAULT_PKI = Path("pki")
PkiOption = Annotated[
    Path, typer.Option("--pki", help="The PKI folder: the CA, and a folder per device and gateway.")
]


def ensure_ca(pki: Path) -> None:
    """Create the CA of `pki` if it has none, saying so: its ca.crt is what every party will trust."""
    if (pki / pki_files.CA_CERTIFICATE).exists():
        return
    pki_files.create_ca(pki)
    typer.echo(
        f"note: created a new certificate authority in {pki}: {pki / pki_files.CA_CERTIFICATE} is what "
        f"the broker, meters and gateways trust; keep {pki / pki_files.CA_FOLDER} private"
    )


@meter_app.command("provision")
def provision_command(
    names: Annotated[list[str], typer.Argument(help="Names of the devices (their MQTT identities).")],
    pki: PkiOption = DEFAULT_PKI,
) -> None:
    """Issue each device a TLS client certificate and an EIP-712 signing key, in <pki>/devices/<name>/;
    the CA is created on first use."""
    if len(set(names)) != len(names):
        raise PkiError("a device name is given twice")
    for name in names:
        checked_device_name(name)
    ensure_ca(pki)
    # Checked before any certificate is issued, so that a refused run leaves no half of its devices.
    taken = sorted(
        {entry.name for entry in pki_files.issued(pki) if entry.kind == "device" and entry.active}
        & set(names)
    )
    if taken:
        held = (
            f"device {taken[0]} holds a certificate"
            if len(taken) == 1
            else f"devices {', '.join(taken)} hold certificates"
        )
        raise PkiError(f"{held} of {pki} already; revoke first to provision anew")
    for name in names:
        device = pki_files.provision_device(pki, name)
        typer.echo(f"device {device.name}")
        typer.echo(f"  signer address  {device.signer_address}")
        typer.echo(f"  certificate     SHA256 {device.fingerprint}")
        typer.echo(f"  folder          {device.folder}")
    typer.echo(
        f"Register each signer address on-chain as the {CSV_COLUMNS[0]} column of "
        "`gridledger device register --csv FILE`; copy a device's folder to its meter."
    )


@meter_app.command("revoke")
def revoke_command(
    name: Annotated[str, typer.Argument(help="The device to revoke (or gateway-<name> for a gateway).")],
    pki: PkiOption = DEFAULT_PKI,
) -> None:
    """Revoke a device's certificate: it is added to the CA's CRL, which is re-signed."""
    revoked = pki_files.revoke(pki, name)
    crl = pki / pki_files.CA_FOLDER / pki_files.CRL
    typer.echo(f"revoked {revoked.name} (serial {revoked.serial:x}); re-signed the CRL {crl}")
    typer.echo(
        "A running broker enforces it once reloaded (SIGHUP: `kill -HUP <mosquitto pid>`), refusing the "
        "certificate's next connection; restart the broker to cut a connection open now."
    )
