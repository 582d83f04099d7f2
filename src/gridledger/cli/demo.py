"""`gridledger demo`: the foundation at work on the embedded EVM.

Deploys the system with its multisig, verifies participants, registers smart meters,
relays a gateway batch of signed readings per interval (one of them forged) and prints
what each participant holds.
"""

from __future__ import annotations

from dataclasses import dataclass

from eth_utils.crypto import keccak
from rich.console import Console
from rich.table import Table

from gridledger.chain.abi import load_artifact
from gridledger.chain.deploy import Chain, System, deploy_local_system, named_account
from gridledger.chain.embedded import EmbeddedChain
from gridledger.meter.signing import DeviceKey, MeterReading, encode_device_data, registry_domain_separator

START_TIME = 1_750_000_500  # 2025-06-15, inside an interval
INTERVAL_S = 900
FIRMWARE = keccak(text="gridledger-meter-fw-1.0")
SOLAR, GRID_MIX = 0, 5
PROSUMER, CONSUMER = 2, 1


_account = named_account


@dataclass
class Participant:
    name: str
    owner: str
    key: DeviceKey
    kind: int
    source: int
    rated_power_w: int
    export_per_interval_wh: int
    import_per_interval_wh: int
    device_id: int = 0
    import_wh: int = 0
    export_wh: int = 0


def build_demo(chain: Chain) -> tuple[System, list[Participant], int]:
    """Deploy, register and relay four intervals; returns the system, participants and rejections seen."""
    gateway, operator, regulator = (_account(n) for n in ("gateway", "operator", "regulator"))
    system = deploy_local_system(chain, [FIRMWARE])
    token, registry = load_artifact("EnergyToken"), load_artifact("SmartMeterRegistry")
    participants = [
        Participant(
            "rooftop-pv-anna",
            _account("anna"),
            DeviceKey(keccak(text="meter-anna")),
            PROSUMER,
            SOLAR,
            5_000,
            900,
            150,
        ),
        Participant(
            "rooftop-pv-ben",
            _account("ben"),
            DeviceKey(keccak(text="meter-ben")),
            PROSUMER,
            SOLAR,
            8_000,
            1_500,
            300,
        ),
        Participant(
            "flat-carla",
            _account("carla"),
            DeviceKey(keccak(text="meter-carla")),
            CONSUMER,
            GRID_MIX,
            6_000,
            0,
            400,
        ),
    ]
    for p in participants:
        chain.transact(regulator, token, system.token, "setParticipant", p.owner, True, 276)
        data = encode_device_data(p.owner, 1, p.kind, p.source, p.rated_power_w, FIRMWARE)
        chain.transact(operator, registry, system.registry, "registerDevice", p.key.address, data)
        p.device_id = chain.call(registry, system.registry, "deviceIdOf", p.key.address)[0]

    domain = registry_domain_separator(chain.chain_id, system.registry)
    first_interval = START_TIME - START_TIME % INTERVAL_S
    forger = DeviceKey(keccak(text="not-a-registered-meter"))
    rejected = 0
    for k in range(4):
        interval_start = first_interval + k * INTERVAL_S
        chain.set_time(interval_start + INTERVAL_S + 30)
        batch = []
        for p in participants:
            p.export_wh += p.export_per_interval_wh
            p.import_wh += p.import_per_interval_wh
            reading = MeterReading(p.device_id, k + 1, interval_start, p.import_wh, p.export_wh, 0, FIRMWARE)
            batch.append(p.key.sign_reading(reading, domain))
        # A forged reading for anna's meter: signed by the wrong key, skipped by the registry.
        forged = MeterReading(participants[0].device_id, 100 + k, interval_start, 0, 10**6, 0, FIRMWARE)
        batch.append(forger.sign_reading(forged, domain))
        chain.transact(gateway, registry, system.registry, "submitReadings", batch)
        # Count acceptances from chain state, which every backend can read back.
        accepted = sum(
            chain.call(registry, system.registry, "getDevice", p.device_id)[0][8] == k + 1
            for p in participants
        )
        rejected += len(batch) - accepted
    return system, participants, rejected


def demo_command() -> None:
    """Deploy on the embedded EVM, register meters, relay signed readings, print balances."""
    console = Console()
    chain = EmbeddedChain(START_TIME)
    system, participants, rejected = build_demo(chain)
    token = load_artifact("EnergyToken")
    console.print(
        f"[bold]gridledger[/] deployed on the embedded EVM: registry {system.registry}, "
        f"token {system.token}, multisig {system.multisig} (2 of 3)"
    )
    table = Table(title="After four 15-minute intervals")
    for column in ("participant", "device", "exported kWh", "imported kWh", "energy held kWh"):
        table.add_column(column, justify="right" if column != "participant" else "left")
    for p in participants:
        held = chain.call(token, system.token, "balanceOf", p.owner)[0]
        table.add_row(
            p.name,
            str(p.device_id),
            f"{p.export_wh / 1000:.3f}",
            f"{p.import_wh / 1000:.3f}",
            f"{held / 1000:.3f}",
        )
    console.print(table)
    supply = chain.call(token, system.token, "totalSupply")[0]
    console.print(f"total live energy {supply / 1000:.3f} kWh; forged readings rejected: {rejected}")
