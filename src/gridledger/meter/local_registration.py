"""Meters registered on a local deployment (deploy_local_system's named operators): the
benches and the meter-gateway tests put many meters at one connection point this way."""

from __future__ import annotations

from eth_account import Account

from gridledger.chain.abi import load_artifact
from gridledger.chain.deploy import Chain, System, named_account
from gridledger.grid.onchain import GridRegistrar, NodeType
from gridledger.meter.signing import DeviceKind, EnergySource, encode_device_data

LOCAL_JURISDICTION = 276
LOCAL_ZONE = 1


def register_local_meters(
    chain: Chain, system: System, signers: list[str], rated_w: int, firmware_hash: bytes
) -> list[int]:
    """Register `signers` as solar prosumer meters of one verified owner at one grid node (zone
    1, created here); returns their device ids in order. Needs a chain that signs for the named
    operators (the embedded EVM, or anvil with impersonation)."""
    owner = Account.create().address
    token = load_artifact("EnergyToken")
    chain.transact(
        named_account("regulator"), token, system.token, "setParticipant", owner, True, LOCAL_JURISDICTION
    )
    grid = GridRegistrar(chain, system, named_account("grid-operator"))
    grid.create_zone(LOCAL_ZONE, 0, 10**12)
    node = grid.register_node(owner, NodeType.PROSUMER, LOCAL_ZONE)
    grid.set_connection_capacity(node, rated_w * len(signers))
    registry = load_artifact("SmartMeterRegistry")
    operator = named_account("operator")
    data = encode_device_data(owner, node, DeviceKind.PROSUMER, EnergySource.SOLAR, rated_w, firmware_hash)
    ids = []
    for signer in signers:
        chain.transact(operator, registry, system.registry, "registerDevice", signer, data)
        ids.append(int(chain.call(registry, system.registry, "deviceIdOf", signer)[0]))
    return ids
