"""deploy_system: the whole system with its roles and the governance multisig."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from eth_utils.address import to_checksum_address
from eth_utils.conversions import to_bytes

from gridledger.chain.abi import Artifact, EventLog, load_artifact
from gridledger.chain.eip712 import SigningKey
from gridledger.chain.hashing import keccak

(
    ADMIN,
    METER_OPERATOR,
    GATEWAY,
    GRID_OPERATOR,
    MARKET_OPERATOR,
    VERIFIER,
    REGULATOR,
    EMERGENCY,
    MARKET_ESCROW,
) = range(9)

# Which role may call each restricted function (docs/governance.md).
FUNCTION_ROLES: dict[str, dict[str, int]] = {
    "SmartMeterRegistry": {
        "registerDevice": METER_OPERATOR,
        "setDeviceStatus": METER_OPERATOR,
        "transferDevice": METER_OPERATOR,
        "rotateDeviceKey": METER_OPERATOR,
        "setRatedPower": METER_OPERATOR,
        "decommissionDevice": METER_OPERATOR,
        "setGridManagement": ADMIN,
        "setLargeDeviceThreshold": ADMIN,
        "approveLargeDevice": ADMIN,
        "submitReadings": GATEWAY,
        "resetQuarantine": ADMIN,
        "setFirmwareApproval": ADMIN,
        "setReadingWindow": ADMIN,
        "unpause": ADMIN,
        "pause": EMERGENCY,
    },
    "EnergyToken": {
        "setParticipant": REGULATOR,
        "setMeterRegistry": ADMIN,
        "escrowEnergy": MARKET_ESCROW,
        "releaseEnergy": MARKET_ESCROW,
        "unpause": ADMIN,
        "pause": EMERGENCY,
    },
    "EnergyMarket": {
        "settleInterval": MARKET_OPERATOR,
        "closeGate": MARKET_OPERATOR,
        "releaseGate": MARKET_OPERATOR,
        "setGridFee": ADMIN,
        "setGridGuard": ADMIN,
        "unpause": ADMIN,
        "pause": EMERGENCY,
    },
    "GridManagement": {
        "registerNode": GRID_OPERATOR,
        "assignNode": GRID_OPERATOR,
        "createZone": GRID_OPERATOR,
        "setZoneCapacity": GRID_OPERATOR,
        "setConnectionCapacity": GRID_OPERATOR,
        "updateLoadBalance": GRID_OPERATOR,
        "reportLosses": GRID_OPERATOR,
        "reportServiceQuality": GRID_OPERATOR,
        "setPeak": GRID_OPERATOR,
        "requestEnergyTransfer": MARKET_OPERATOR,
        "requestEnergyTransfers": MARKET_OPERATOR,
        "declareEmergency": EMERGENCY,
        "pause": EMERGENCY,
        "endEmergency": ADMIN,
        "setPeakParameters": ADMIN,
        "unpause": ADMIN,
    },
    "CarbonCredit": {
        "issueCreditsCertificate": VERIFIER,
        "setEmissionFactor": ADMIN,
        "setCreditLifetime": ADMIN,
        "unpause": ADMIN,
        "pause": EMERGENCY,
    },
    "CarbonExchange": {
        "unpause": ADMIN,
        "pause": EMERGENCY,
    },
}

ENERGY_PAIR_ID = 1
# Local deployments: 2 cents per kWh in a 6-decimal test dollar.
DEFAULT_GRID_FEE_PER_KWH = 20_000
# Peak periods: triple the grid fee; one transfer carries at most 2.5 kWh (10 kW for 15 minutes).
DEFAULT_PEAK_FEE_PER_KWH = 60_000
DEFAULT_PEAK_NODE_CAP_WH = 2_500
# Grid emission factors (g CO2e per kWh) by jurisdiction: Germany's electricity mix in 2023
# (Umweltbundesamt, 380 g/kWh). Later changes go through the multisig.
DEFAULT_EMISSION_FACTORS: dict[int, int] = {276: 380}
# Credits stay valid for two years after their vintage ends.
DEFAULT_CREDIT_LIFETIME_SECONDS = 2 * 365 * 86_400
CARBON_METADATA_URI = "https://gridledger.example/carbon/{id}.json"
# The platform's pool: solar, wind, hydro, biomass and geothermal credits of any region, valid for
# at least 30 days at deposit; picking a certificate costs 1 %, paid to the multisig (treasury).
POOL_SOURCE_MASK = 0b11111
POOL_MIN_VALIDITY_SECONDS = 30 * 86_400
POOL_SELECTIVE_FEE_BPS = 100


class Chain(Protocol):
    def deploy(self, name: str, args: tuple[object, ...], sender: str) -> str: ...

    def transact(self, sender: str, artifact: Artifact, address: str, fn: str, *args: object) -> object: ...

    def call(self, artifact: Artifact, address: str, fn: str, *args: object) -> tuple[Any, ...]: ...

    def set_time(self, timestamp: int) -> None: ...

    def snapshot(self) -> int: ...

    def revert(self, snapshot_id: int) -> None: ...

    def logs(self, address: str, topic0: bytes) -> list[EventLog]: ...

    @property
    def chain_id(self) -> int: ...


class ClockedChain(Chain, Protocol):
    """A chain that also tells its clock and what its last transaction did: EmbeddedChain,
    RpcChain, LiveChain and the simulation's MeteredChain all are one."""

    @property
    def timestamp(self) -> int: ...

    @property
    def last_logs(self) -> list[EventLog]: ...

    @property
    def last_gas_used(self) -> int: ...


@dataclass(frozen=True)
class System:
    manager: str
    token: str
    registry: str
    multisig: str
    market: str
    payment_token: str
    grid: str
    carbon: str
    carbon_pool: str
    carbon_exchange: str


def deploy_system(
    chain: Chain,
    *,
    deployer: str,
    multisig_signers: list[str],
    threshold: int,
    actors: dict[int, list[str]],
    firmware_hashes: list[bytes],
    grid_fee_collector: str,
    payment_token: str | None = None,
    grid_fee_per_kwh: int = DEFAULT_GRID_FEE_PER_KWH,
    peak_fee_per_kwh: int = DEFAULT_PEAK_FEE_PER_KWH,
    peak_node_cap_wh: int = DEFAULT_PEAK_NODE_CAP_WH,
    epoch_seconds: int = 86_400,
    max_reading_age_seconds: int = 86_400,
    emission_factors: dict[int, int] | None = None,
    credit_lifetime_seconds: int = DEFAULT_CREDIT_LIFETIME_SECONDS,
) -> System:
    """Deploy and wire everything; the deployer ends with no role at all.

    Without `payment_token` a TestStablecoin is deployed, owned (minted) by the deployer.
    """
    manager_abi = load_artifact("GridAccessManager")
    manager = chain.deploy("GridAccessManager", (deployer,), deployer)
    token = chain.deploy("EnergyToken", (manager, epoch_seconds), deployer)
    registry = chain.deploy("SmartMeterRegistry", (manager, token, max_reading_age_seconds), deployer)
    signers = [to_bytes(hexstr=s) for s in multisig_signers]
    multisig = chain.deploy("GovernanceMultisig", (signers, threshold), deployer)
    if payment_token is None:
        payment_token = chain.deploy("TestStablecoin", (deployer,), deployer)
    market = chain.deploy(
        "EnergyMarket",
        (manager, ENERGY_PAIR_ID, token, payment_token, grid_fee_collector, grid_fee_per_kwh),
        deployer,
    )

    grid = chain.deploy("GridManagement", (manager,), deployer)
    carbon = chain.deploy(
        "CarbonCredit", (manager, registry, token, credit_lifetime_seconds, CARBON_METADATA_URI), deployer
    )
    pool_criteria: tuple[object, ...] = (0, POOL_MIN_VALIDITY_SECONDS, POOL_SOURCE_MASK, [], [])
    carbon_pool = chain.deploy(
        "CarbonPool",
        ("GridLedger Renewable Carbon", "GRC", carbon, pool_criteria, POOL_SELECTIVE_FEE_BPS, multisig),
        deployer,
    )

    carbon_exchange = chain.deploy("CarbonExchange", (manager, carbon, payment_token), deployer)

    contracts = (
        ("SmartMeterRegistry", registry),
        ("EnergyToken", token),
        ("EnergyMarket", market),
        ("GridManagement", grid),
        ("CarbonCredit", carbon),
        ("CarbonExchange", carbon_exchange),
    )
    for name, address in contracts:
        artifact = load_artifact(name)
        by_role: dict[int, list[bytes]] = {}
        for fn, role in FUNCTION_ROLES[name].items():
            by_role.setdefault(role, []).append(artifact.selector(fn))
        for role, selectors in by_role.items():
            chain.transact(deployer, manager_abi, manager, "setTargetFunctionRole", address, selectors, role)
    for role, members in actors.items():
        for member in members:
            chain.transact(deployer, manager_abi, manager, "grantRole", role, member, 0)

    chain.transact(deployer, manager_abi, manager, "grantRole", MARKET_ESCROW, market, 0)
    token_abi = load_artifact("EnergyToken")
    chain.transact(deployer, token_abi, token, "setMeterRegistry", registry)
    # The market holds escrowed energy, so it must be a verified participant itself.
    chain.transact(deployer, manager_abi, manager, "grantRole", REGULATOR, deployer, 0)
    chain.transact(deployer, token_abi, token, "setParticipant", market, True, 0)
    chain.transact(deployer, manager_abi, manager, "renounceRole", REGULATOR, deployer)
    # The market asks the grid once per settlement, and about each fill while a zone is halted
    # (no settlement there) or in peak (the peak fee applies there).
    chain.transact(deployer, load_artifact("EnergyMarket"), market, "setGridGuard", grid)
    grid_abi = load_artifact("GridManagement")
    chain.transact(
        deployer, grid_abi, grid, "setPeakParameters", peak_node_cap_wh, grid_fee_per_kwh, peak_fee_per_kwh
    )
    carbon_abi = load_artifact("CarbonCredit")
    factors = DEFAULT_EMISSION_FACTORS if emission_factors is None else emission_factors
    for region, grams_per_kwh in factors.items():
        chain.transact(deployer, carbon_abi, carbon, "setEmissionFactor", region, grams_per_kwh)
    registry_abi = load_artifact("SmartMeterRegistry")
    for firmware in firmware_hashes:
        chain.transact(deployer, registry_abi, registry, "setFirmwareApproval", firmware, True)
    # Rated powers are bounded by the connection capacities the grid operator records there.
    chain.transact(deployer, registry_abi, registry, "setGridManagement", grid)
    chain.transact(deployer, manager_abi, manager, "grantRole", ADMIN, multisig, 0)
    chain.transact(deployer, manager_abi, manager, "renounceRole", ADMIN, deployer)
    return System(
        manager=manager,
        token=token,
        registry=registry,
        multisig=multisig,
        market=market,
        payment_token=payment_token,
        grid=grid,
        carbon=carbon,
        carbon_pool=carbon_pool,
        carbon_exchange=carbon_exchange,
    )


def named_account(label: str) -> str:
    """A deterministic address for a named actor of a local run (demo, bench, tests)."""
    return to_checksum_address(keccak(text=label)[-20:])


def governor_keys() -> list[SigningKey]:
    """The three signer keys of a local deployment's 2-of-3 multisig ("governor-0..2")."""
    return [SigningKey(keccak(text=f"governor-{i}")) for i in range(3)]


def deploy_local_system(chain: Chain, firmware_hashes: list[bytes]) -> System:
    """The system with named operators ("gateway", "operator", "grid-operator", "market-operator",
    "verifier", "regulator" also EMERGENCY), grid fees to "dso", a test dollar minted by "deployer"
    and a 2-of-3 multisig of "governor-0..2", as local runs use it."""
    regulator = named_account("regulator")
    return deploy_system(
        chain,
        deployer=named_account("deployer"),
        multisig_signers=[key.address for key in governor_keys()],
        threshold=2,
        actors={
            METER_OPERATOR: [named_account("operator")],
            GATEWAY: [named_account("gateway")],
            GRID_OPERATOR: [named_account("grid-operator")],
            MARKET_OPERATOR: [named_account("market-operator")],
            VERIFIER: [named_account("verifier")],
            REGULATOR: [regulator],
            EMERGENCY: [regulator],
        },
        firmware_hashes=firmware_hashes,
        grid_fee_collector=named_account("dso"),
    )
