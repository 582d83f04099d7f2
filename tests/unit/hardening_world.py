"""One deployed system with every named actor, and calls generated from ABI types, for the
access, pause and signature matrices (issue 12, "tests that must become real").

The matrices read the role map (FUNCTION_ROLES) and the committed artifacts, so a function
added later is picked up without editing the tests, except for the one line that says whom
an open function is open to (OPEN_TO_CALLERS) or why a function works while paused.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from pyrevm import EVM, CfgEnv, Env

from gridledger.chain.abi import Artifact, load_artifact
from gridledger.chain.deploy import (
    ADMIN,
    EMERGENCY,
    FUNCTION_ROLES,
    GATEWAY,
    GRID_OPERATOR,
    MARKET_ESCROW,
    MARKET_OPERATOR,
    METER_OPERATOR,
    REGULATOR,
    VERIFIER,
    System,
    governor_keys,
    named_account,
)
from gridledger.chain.embedded import EmbeddedChain
from gridledger.chain.governance import Governance
from gridledger.cli.demo import START_TIME, Participant, build_demo, open_market_interval
from gridledger.errors import ContractRevertError, MultisigError
from gridledger.market.settlement import MarketOperator, Settlement

ROLES = (
    ADMIN,
    METER_OPERATOR,
    GATEWAY,
    GRID_OPERATOR,
    MARKET_OPERATOR,
    VERIFIER,
    REGULATOR,
    EMERGENCY,
    MARKET_ESCROW,
)

# The externally owned actors of a local deployment and the roles each holds
# (deploy_local_system); test_roles_of_named_actors_match_the_chain keeps this true.
ACTOR_ROLES: dict[str, frozenset[int]] = {
    "operator": frozenset({METER_OPERATOR}),
    "gateway": frozenset({GATEWAY}),
    "grid-operator": frozenset({GRID_OPERATOR}),
    "market-operator": frozenset({MARKET_OPERATOR}),
    "verifier": frozenset({VERIFIER}),
    "regulator": frozenset({REGULATOR, EMERGENCY}),
    "participant": frozenset(),  # a verified prosumer holding energy (the demo's anna)
    "outsider": frozenset(),
    "deployer": frozenset(),  # wired everything, then renounced ADMIN
}
# Roles whose only holder is a contract: pyrevm (EIP-3607) cannot send from an account with
# code, so the multisig's ADMIN goes through governance and MARKET_ESCROW is granted to a probe.
ESCROW_PROBE = named_account("escrow-probe")

# Errors that mean "refused for lack of authority", whichever gate raised them.
ACCESS_ERRORS = frozenset(
    {
        "AccessManagedUnauthorized",
        "AccessManagerUnauthorizedAccount",
        "AccessManagerUnauthorizedCall",
        "MultisigOnlySelf",
        "NotMeterRegistry",
        "OwnableUnauthorizedAccount",
    }
)

# Functions of the AccessManager itself that only ADMIN (the multisig) may call; the rest of
# its surface (execute, schedule, cancel, consumeScheduledOp, renounceRole, multicall) checks
# the caller against the role map or the operation's scheduler and is in OPEN_TO_CALLERS.
MANAGER_ADMIN_FUNCTIONS = (
    "labelRole",
    "setRoleAdmin",
    "setRoleGuardian",
    "setGrantDelay",
    "setTargetFunctionRole",
    "setTargetClosed",
    "setTargetAdminDelay",
    "updateAuthority",
    "grantRole",
    "revokeRole",
)
# Signer-set changes of the multisig: only through its own execute().
MULTISIG_SELF_FUNCTIONS = ("addSigners", "removeSigners", "setThreshold")
MANAGED = tuple(FUNCTION_ROLES)

# State-changing functions any caller may call, each acting on the caller's own holdings or
# checked against a signature inside; one line per contract to extend when a function is added.
OPEN_TO_CALLERS: dict[str, frozenset[str]] = {
    "GridAccessManager": frozenset(
        {"execute", "schedule", "cancel", "consumeScheduledOp", "renounceRole", "multicall"}
    ),
    "GovernanceMultisig": frozenset({"execute"}),  # threshold signatures, test_signature_replay
    "EnergyToken": frozenset(
        {
            "approve",
            "permit",
            "transfer",
            "transferFrom",
            "transferEnergy",
            "transferEnergyBatch",
            "burnEnergy",
        }
    ),
    "SmartMeterRegistry": frozenset({"submitReading"}),  # the device's own key (NotDeviceKey)
    "EnergyMarket": frozenset(
        {
            "depositPayment",
            "depositPaymentWithPermit",  # the caller's own permit (test_escrow_permit)
            "withdrawPayment",
            "depositEnergy",
            "withdrawEnergy",
            "invalidateNonces",
        }
    ),
    "GridManagement": frozenset(),
    "CarbonCredit": frozenset(
        {
            "retireCredits",
            "retireCertificateCredits",
            "recordExpiry",
            "pruneQueue",
            "transferCredits",
            "safeTransferFrom",
            "safeBatchTransferFrom",
            "setApprovalForAll",
        }
    ),
    "CarbonPool": frozenset(
        {
            "approve",
            "transfer",
            "transferFrom",
            "deposit",
            "depositWithHint",
            "redeem",
            "redeemSelected",
            "retireFromPool",
            "writeOffExpired",
        }
    ),
    "CarbonExchange": frozenset({"offer", "buy", "cancel"}),
    "TestStablecoin": frozenset({"approve", "permit", "transfer", "transferFrom"}),
}
# Gated by something other than the role map: contract -> function -> the refusal every
# named actor gets. setAuthority of every managed contract answers only its AccessManager.
OTHER_GATES: dict[str, dict[str, str]] = {
    **{name: {"setAuthority": "AccessManagedUnauthorized"} for name in MANAGED},
    "EnergyToken": {"setAuthority": "AccessManagedUnauthorized", "mintEnergy": "NotMeterRegistry"},
    "GridAccessManager": dict.fromkeys(MANAGER_ADMIN_FUNCTIONS, "AccessManagerUnauthorizedAccount"),
    "GovernanceMultisig": dict.fromkeys(MULTISIG_SELF_FUNCTIONS, "MultisigOnlySelf"),
    # The local test dollar is Ownable: only the deployer mints.
    "TestStablecoin": dict.fromkeys(
        ("mint", "transferOwnership", "renounceOwnership"), "OwnableUnauthorizedAccount"
    ),
}
# The named actor that owns an Ownable contract, and so passes its OTHER_GATES.
OWNERS = {"TestStablecoin": "deployer"}


def state_changing(artifact: Artifact) -> list[str]:
    return [
        name for name, entry in artifact.functions.items() if entry["stateMutability"] not in ("view", "pure")
    ]


def _components(inner: str) -> list[str]:
    """Split a tuple type's inside at its top-level commas."""
    parts, depth, start = [], 0, 0
    for i, char in enumerate(inner):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append(inner[start:i])
            start = i + 1
    return [*parts, inner[start:]] if inner else parts


def sample_value(kind: str, address: str) -> Any:
    """A small well-formed value of canonical ABI type `kind` (arrays empty, numbers 1)."""
    if kind.endswith("]"):
        base, _, size = kind[:-1].rpartition("[")
        return [sample_value(base, address) for _ in range(int(size))] if size else []
    if kind.startswith("("):
        return tuple(sample_value(part, address) for part in _components(kind[1:-1]))
    if kind == "address":
        return address
    if kind == "bool":
        return False
    if kind == "string":
        return ""
    if kind == "bytes":
        return b""
    if kind.startswith("bytes"):
        return bytes(int(kind[5:]))
    if kind.startswith(("uint", "int")):
        return 1
    raise ValueError(f"no sample for ABI type {kind}")


def sample_args(artifact: Artifact, fn: str, address: str) -> tuple[Any, ...]:
    return tuple(sample_value(kind, address) for kind in artifact.input_types(fn))


class ChainWithId(EmbeddedChain):
    """The embedded EVM under another chain id (EmbeddedChain is chain 1), for replay tests."""

    def __init__(self, timestamp: int, chain_id: int) -> None:
        super().__init__(timestamp)
        self._chain_id = chain_id
        self._evm = EVM(env=Env(cfg=CfgEnv(chain_id=chain_id)), spec_id="CANCUN")
        self.set_time(timestamp)

    @property
    def chain_id(self) -> int:
        return self._chain_id


@dataclass
class World:
    """The demo's deployment: four metered intervals, anna and ben hold energy, carla none."""

    chain: EmbeddedChain
    system: System
    participants: list[Participant]
    actors: dict[str, str]
    governance: Governance

    @classmethod
    def deploy(cls, chain: EmbeddedChain | None = None) -> World:
        chain = chain or EmbeddedChain(START_TIME)
        system, participants, _ = build_demo(chain)
        actors = {name: named_account(name) for name in ACTOR_ROLES}
        actors["participant"] = participants[0].owner
        governance = Governance(chain, system.multisig, governor_keys()[:2], actors["outsider"])
        return cls(chain, system, participants, actors, governance)

    @contextmanager
    def isolated(self) -> Iterator[World]:
        """Undo whatever a test does to the chain."""
        checkpoint = self.chain.snapshot()
        try:
            yield self
        finally:
            self.chain.revert(checkpoint)

    def address_of(self, contract: str) -> str:
        system = self.system
        return {
            "GridAccessManager": system.manager,
            "GovernanceMultisig": system.multisig,
            "EnergyToken": system.token,
            "SmartMeterRegistry": system.registry,
            "EnergyMarket": system.market,
            "GridManagement": system.grid,
            "CarbonCredit": system.carbon,
            "CarbonPool": system.carbon_pool,
            "CarbonExchange": system.carbon_exchange,
            "TestStablecoin": system.payment_token,
        }[contract]

    def send(self, sender: str, contract: str, fn: str, *args: Any) -> tuple[Any, ...]:
        return self.chain.transact(sender, load_artifact(contract), self.address_of(contract), fn, *args)

    def refusal(self, sender: str, contract: str, fn: str, *args: Any) -> str:
        """The error `sender`'s call is refused with; fails the test if the call succeeds."""
        try:
            self.send(sender, contract, fn, *args)
        except ContractRevertError as refused:
            return refused.error_name
        raise AssertionError(f"{contract}.{fn} by {sender} was not refused")

    def as_role(self, role: int, contract: str, fn: str, *args: Any) -> str | None:
        """Call as a holder of `role`; None if it succeeded, else the name of the revert."""
        try:
            if role == ADMIN:
                artifact = load_artifact(contract)
                self.governance.execute(artifact, self.address_of(contract), fn, *args)
            else:
                self.send(self.holder_of(role), contract, fn, *args)
        except MultisigError as refused:
            cause = refused.__cause__
            assert isinstance(cause, ContractRevertError), refused
            return cause.error_name
        except ContractRevertError as refused:
            return refused.error_name
        return None

    def holder_of(self, role: int) -> str:
        """An externally owned holder of `role` (not ADMIN, which is the multisig's)."""
        if role == MARKET_ESCROW:
            self.governance.execute(
                load_artifact("GridAccessManager"), self.system.manager, "grantRole", role, ESCROW_PROBE, 0
            )
            return ESCROW_PROBE
        return next(self.actors[name] for name, roles in ACTOR_ROLES.items() if role in roles)


def gated_demo_settlement(world: World) -> Settlement:
    """The demo's market interval with its gate closed on-chain (settleInterval requires it),
    cleared as is: without the operator's own exclusions (funding, grid, expiry), so that the
    contract alone decides whether it settles."""
    book = open_market_interval(world.chain, world.system, world.participants)
    operator = MarketOperator(world.chain, world.system.market, world.actors["market-operator"])
    operator.close_gate(book)
    return operator.clear(book)
