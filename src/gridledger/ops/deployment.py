"""A live deployment: deploy_system on a live node, resumable, recorded in a manifest, checkable.

`deploy_live` runs the same `deploy_system` as every local run, through a `JournaledChain`
that writes each transaction to the manifest's journal before it waits for it. A run that stops
anywhere (a crash, a lost node, a kill) is run again with the same inputs: the steps the
journal holds as done are not sent again, a step sent but not confirmed is found on the node
(mined, still pending, or dropped and sent anew), and the rest continues. deploy_system is
deterministic in its inputs, so step i of the second run is step i of the first; each step's
digest (sender, target, calldata) is compared, and a run with other inputs is refused.

`check_deployment` reads a manifest back against the chain: chain id, the code at every
address, the artifacts it was built from, the wiring between the contracts, the role of every
restricted function and the holders of every role.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth_utils.address import to_checksum_address

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
    deploy_system,
)
from gridledger.chain.hashing import keccak
from gridledger.chain.live import LiveChain
from gridledger.chain.sender import PendingTransaction
from gridledger.errors import ChainError
from gridledger.ops.files import read_json_object, write_json_atomically

MANIFEST_VERSION = 1
# Which keystore key holds which AccessManager role (docs/operations.md).
ROLE_OF_KEY: dict[str, int] = {
    "meter-operator": METER_OPERATOR,
    "gateway": GATEWAY,
    "grid-operator": GRID_OPERATOR,
    "market-operator": MARKET_OPERATOR,
    "verifier": VERIFIER,
    "regulator": REGULATOR,
    "emergency": EMERGENCY,
}
# System field -> the artifact its contract is built from.
CONTRACT_ARTIFACTS: dict[str, str] = {
    "manager": "GridAccessManager",
    "token": "EnergyToken",
    "registry": "SmartMeterRegistry",
    "multisig": "GovernanceMultisig",
    "market": "EnergyMarket",
    "payment_token": "TestStablecoin",
    "grid": "GridManagement",
    "carbon": "CarbonCredit",
    "carbon_pool": "CarbonPool",
    "carbon_exchange": "CarbonExchange",
}


class DeploymentError(ChainError):
    """A deployment cannot start, resume or be read: wrong chain, other inputs, a bad manifest."""


@dataclass(frozen=True)
class DeploymentPlan:
    """What a live deployment is made of: who holds which role, and the parameters."""

    deployer: str
    role_holders: dict[str, str]  # keystore key name -> address, for ROLE_OF_KEY's keys
    multisig_signers: list[str]
    threshold: int
    firmware_hashes: list[bytes]
    grid_fee_collector: str
    payment_token: str | None  # None: deploy the test dollar (local networks only)

    def __post_init__(self) -> None:
        missing = sorted(set(ROLE_OF_KEY) - set(self.role_holders))
        if missing:
            raise DeploymentError(f"no key for the role(s) {', '.join(missing)}")
        if not 1 <= self.threshold <= len(self.multisig_signers):
            raise DeploymentError(
                f"a threshold of {self.threshold} needs between 1 and {len(self.multisig_signers)} "
                "multisig signers"
            )
        everyone = [self.deployer, *self.role_holders.values(), *self.multisig_signers]
        if len({address.lower() for address in everyone}) != len(everyone):
            raise DeploymentError("every role needs a key of its own: two roles share an address")

    def as_json(self) -> dict[str, Any]:
        return {
            "deployer": self.deployer,
            "roleHolders": dict(sorted(self.role_holders.items())),
            "multisig": {"signers": self.multisig_signers, "threshold": self.threshold},
            "firmwareHashes": ["0x" + firmware.hex() for firmware in self.firmware_hashes],
            "gridFeeCollector": self.grid_fee_collector,
            "paymentToken": self.payment_token,
        }


@dataclass
class Manifest:
    """`deployments/<chain-id>.json`: the addresses, the journal of the deployment's
    transactions and, once complete, what `check_deployment` compares the chain against."""

    path: Path
    chain_id: int
    plan: dict[str, Any]
    steps: list[dict[str, Any]] = field(default_factory=list)
    contracts: dict[str, dict[str, str]] = field(default_factory=dict)
    deploy_block: int | None = None
    complete: bool = False

    @classmethod
    def load(cls, path: Path) -> Manifest:
        document = read_json_object(path, "deployment manifest", DeploymentError)
        try:
            if document["version"] != MANIFEST_VERSION:
                raise DeploymentError(f"{path} is a manifest of version {document['version']}")
            return cls(
                path=path,
                chain_id=int(document["chainId"]),
                plan=dict(document["plan"]),
                steps=list(document["steps"]),
                contracts={name: dict(entry) for name, entry in document["contracts"].items()},
                deploy_block=document["deployBlock"],
                complete=bool(document["complete"]),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as malformed:
            raise DeploymentError(
                f"{path} is not a gridledger deployment manifest ({malformed})"
            ) from malformed

    def save(self) -> None:
        """Write the manifest whole (a crash mid-write leaves the previous one)."""
        document = {
            "version": MANIFEST_VERSION,
            "chainId": self.chain_id,
            "deployBlock": self.deploy_block,
            "complete": self.complete,
            "contracts": self.contracts,
            "plan": self.plan,
            "steps": self.steps,
        }
        write_json_atomically(self.path, document)

    def address(self, name: str) -> str:
        """The address of the contract `name` (a System field: "token", "market", ...)."""
        try:
            return self.contracts[name]["address"]
        except KeyError as missing:
            raise DeploymentError(f"the manifest {self.path} has no contract {name!r}") from missing

    def system(self) -> System:
        if not self.complete:
            raise DeploymentError(
                f"the deployment in {self.path} is not complete: run gridledger deploy again"
            )
        return System(**{name: self.address(name) for name in CONTRACT_ARTIFACTS})


def manifest_path(directory: Path, chain_id: int) -> Path:
    return directory / f"{chain_id}.json"


class JournaledChain:
    """A LiveChain whose transactions are journaled in a manifest, step by step, so that a
    deployment run again resumes where the last run stopped (module docstring)."""

    def __init__(self, chain: LiveChain, manifest: Manifest, log: Callable[[str], None]) -> None:
        self._chain = chain
        self._manifest = manifest
        self._log = log
        self._next_step = 0
        self.chain_id = chain.chain_id

    def deploy(self, name: str, args: tuple[Any, ...], sender: str) -> str:
        address = self._step(f"deploy {name}", sender, None, load_artifact(name).encode_constructor(args))
        assert address is not None
        return address

    def transact(self, sender: str, artifact: Artifact, address: str, fn: str, *args: Any) -> tuple[Any, ...]:
        self._step(f"{artifact.name}.{fn}", sender, address, artifact.encode_call(fn, args))
        return ()

    def call(self, artifact: Artifact, address: str, fn: str, *args: Any) -> tuple[Any, ...]:
        return self._chain.call(artifact, address, fn, *args)

    def logs(self, address: str, topic0: bytes) -> Any:
        return self._chain.logs(address, topic0)

    def set_time(self, timestamp: int) -> None:
        self._chain.set_time(timestamp)

    def snapshot(self) -> int:
        return self._chain.snapshot()

    def revert(self, snapshot_id: int) -> None:
        self._chain.revert(snapshot_id)

    def _step(self, what: str, sender: str, to: str | None, data: bytes) -> str | None:
        index = self._next_step
        self._next_step += 1
        digest = "0x" + keccak(sender.lower().encode() + (to or "").lower().encode() + data).hex()
        steps = self._manifest.steps
        if index < len(steps):
            record = steps[index]
            if record["digest"] != digest:
                raise DeploymentError(
                    f"step {index + 1} of the deployment in {self._manifest.path} was "
                    f"{record['what']!r}; this run's is {what!r} with other inputs: the manifest was made "
                    "with other keys or parameters (use another --deployments folder to start afresh)"
                )
            if record["status"] == "done":
                return record.get("contract")
            pending = None
            if "nonce" in record:
                pending = self._chain.sender(sender).resume(int(record["nonce"]), list(record["hashes"]))
            if pending is not None:
                self._log(f"step {index + 1} ({what}): found the transaction sent before the restart")
                return self._confirm(record, sender, lambda: pending)
            self._log(f"step {index + 1} ({what}): not on the node (dropped or never sent); sending it")
            del steps[index:]
        fresh: dict[str, Any] = {"what": what, "digest": digest, "sender": sender, "status": "sent"}
        steps.append(fresh)
        return self._confirm(fresh, sender, lambda: self._chain.submit(sender, to, data))

    def _confirm(
        self, record: dict[str, Any], sender: str, submit: Callable[[], PendingTransaction]
    ) -> str | None:
        """Submit (or take up) the step's transaction and wait for it. Every hash it is
        broadcast under is journaled before it is sent, so a run stopped at any point finds it."""
        account = self._chain.sender(sender)

        def journal(sent: PendingTransaction) -> None:
            record.update(nonce=sent.nonce, hashes=list(sent.hashes))
            self._manifest.save()

        account.on_broadcast = journal
        try:
            receipt = self._chain.confirm(sender, submit())
        except BaseException:
            if "nonce" not in record:  # refused before it was sent: nothing to find later
                self._manifest.steps.remove(record)
            raise
        finally:
            account.on_broadcast = None
        record.update(status="done", tx=receipt.tx_hash, block=receipt.block_number)
        if receipt.contract_address is not None:
            record["contract"] = to_checksum_address(receipt.contract_address)
        if self._manifest.deploy_block is None:
            self._manifest.deploy_block = receipt.block_number
        self._manifest.save()
        self._log(f"{record['what']}: {receipt.tx_hash} in block {receipt.block_number}")
        return record.get("contract")


def deploy_live(
    chain: LiveChain, plan: DeploymentPlan, directory: Path, log: Callable[[str], None] = lambda _: None
) -> Manifest:
    """Deploy and wire the system as `plan` says, or resume a deployment of the same plan that
    stopped part way; returns the complete manifest (written to `directory`)."""
    path = manifest_path(directory, chain.chain_id)
    if path.exists():
        manifest = Manifest.load(path)
        if manifest.chain_id != chain.chain_id:
            raise DeploymentError(
                f"{path} is of chain {manifest.chain_id}, the node is chain {chain.chain_id}"
            )
        if manifest.plan != plan.as_json():
            raise DeploymentError(
                f"{path} is a deployment with other keys or parameters; "
                "use another --deployments folder to start afresh"
            )
        if manifest.complete:
            log(f"the deployment in {path} is complete already")
            return manifest
        done = sum(step["status"] == "done" for step in manifest.steps)
        log(f"resuming the deployment in {path} after step {done}")
    else:
        manifest = Manifest(path=path, chain_id=chain.chain_id, plan=plan.as_json())
    journaled = JournaledChain(chain, manifest, log)
    actors = {role: [plan.role_holders[key]] for key, role in ROLE_OF_KEY.items()}
    system = deploy_system(
        journaled,
        deployer=plan.deployer,
        multisig_signers=plan.multisig_signers,
        threshold=plan.threshold,
        actors=actors,
        firmware_hashes=plan.firmware_hashes,
        grid_fee_collector=plan.grid_fee_collector,
        payment_token=plan.payment_token,
    )
    for name, artifact_name in CONTRACT_ARTIFACTS.items():
        address = to_checksum_address(getattr(system, name))
        entry = {"address": address, "codeHash": "0x" + keccak(chain.code(address)).hex()}
        if name != "payment_token" or plan.payment_token is None:
            entry["artifact"] = artifact_name
            entry["artifactHash"] = artifact_hash(artifact_name)
        manifest.contracts[name] = entry
    manifest.complete = True
    manifest.save()
    return manifest


def fund_role_keys(
    chain: LiveChain, plan: DeploymentPlan, wei_each: int, log: Callable[[str], None] = lambda _: None
) -> int:
    """Top up every role key that sends transactions (ROLE_OF_KEY) to `wei_each`, from the
    deployer, with ordinary signed transfers; returns the wei sent. Run again, it sends only
    what is missing."""
    sent = 0
    for key, address in sorted(plan.role_holders.items()):
        balance = int(chain.rpc.request("eth_getBalance", [address, "latest"]), 16)
        if balance >= wei_each:
            continue
        chain.sender(plan.deployer).send(address, b"", wei_each - balance)
        sent += wei_each - balance
        log(f"funded {key} {address} with {wei_each - balance} wei")
    return sent


def runs_artifact_code(code: bytes, name: str) -> bool:
    """Whether `code` (a contract's runtime code on the chain) is the committed artifact's
    runtime code. The constructor writes immutables into 32-byte slots the artifact leaves
    zero, so bytes may differ only inside runs of 32 or more zero bytes of the artifact."""
    expected = load_artifact(name).deployed_bytecode
    if len(code) != len(expected):
        return False
    in_zero_run = bytearray(len(expected))
    start = None
    for position, byte in enumerate((*expected, 1)):  # a non-zero sentinel ends the last run
        if byte == 0 and start is None:
            start = position
        elif byte != 0 and start is not None:
            if position - start >= 32:
                in_zero_run[start:position] = b"\x01" * (position - start)
            start = None
    return all(
        got == want or in_zero_run[i] for i, (got, want) in enumerate(zip(code, expected, strict=True))
    )


def artifact_hash(name: str) -> str:
    """keccak of the committed creation bytecode of `name`: which build a contract came from."""
    return "0x" + keccak(load_artifact(name).bytecode).hex()


@dataclass(frozen=True)
class Finding:
    """One check of a deployment against the chain."""

    what: str
    ok: bool
    detail: str = ""


def check_deployment(chain: LiveChain, manifest: Manifest) -> list[Finding]:
    """Every check of `manifest` against `chain` (DeploymentError when they cannot be compared
    at all: another chain, an incomplete deployment)."""
    if manifest.chain_id != chain.chain_id:
        raise DeploymentError(
            f"the manifest {manifest.path} is of chain {manifest.chain_id}, the node of {chain.chain_id}"
        )
    system = manifest.system()
    findings: list[Finding] = []
    for name, entry in manifest.contracts.items():
        code = chain.code(entry["address"])
        if not code:
            findings.append(Finding(f"{name} has code", False, f"no code at {entry['address']}"))
            continue
        actual = "0x" + keccak(code).hex()
        findings.append(
            Finding(f"{name} code hash", actual == entry["codeHash"], f"{actual} at {entry['address']}")
        )
        if "artifact" in entry:
            findings.append(
                Finding(
                    f"{name} runs this gridledger's {entry['artifact']} code",
                    runs_artifact_code(code, entry["artifact"]),
                    "",
                )
            )
            current = artifact_hash(entry["artifact"])
            findings.append(
                Finding(
                    f"{name} built from this gridledger's {entry['artifact']}",
                    current == entry["artifactHash"],
                    "" if current == entry["artifactHash"] else "deployed from other artifacts",
                )
            )
    if not all(finding.ok for finding in findings):
        return findings  # the wiring cannot be asked of missing or foreign code
    findings += _wiring(chain, system)
    findings += _roles(chain, system, manifest.plan)
    return findings


def _wiring(chain: LiveChain, system: System) -> list[Finding]:
    expected: list[tuple[str, str, str, str]] = [
        ("EnergyToken", system.token, "meterRegistry", system.registry),
        ("SmartMeterRegistry", system.registry, "energyToken", system.token),
        ("SmartMeterRegistry", system.registry, "gridManagement", system.grid),
        ("EnergyMarket", system.market, "energyToken", system.token),
        ("EnergyMarket", system.market, "paymentToken", system.payment_token),
        ("EnergyMarket", system.market, "gridGuard", system.grid),
        ("CarbonCredit", system.carbon, "meterRegistry", system.registry),
        ("CarbonCredit", system.carbon, "energyToken", system.token),
        ("CarbonPool", system.carbon_pool, "credits", system.carbon),
        ("CarbonPool", system.carbon_pool, "feeCollector", system.multisig),
        ("CarbonExchange", system.carbon_exchange, "credits", system.carbon),
        ("CarbonExchange", system.carbon_exchange, "paymentToken", system.payment_token),
    ]
    for name, address in (
        ("EnergyToken", system.token),
        ("SmartMeterRegistry", system.registry),
        ("EnergyMarket", system.market),
        ("GridManagement", system.grid),
        ("CarbonCredit", system.carbon),
        ("CarbonExchange", system.carbon_exchange),
    ):
        expected.append((name, address, "authority", system.manager))
    findings = []
    for name, address, getter, wanted in expected:
        actual = to_checksum_address(chain.call(load_artifact(name), address, getter)[0])
        findings.append(
            Finding(
                f"{name}.{getter}", actual == to_checksum_address(wanted), f"{actual} (expected {wanted})"
            )
        )
    return findings


def _roles(chain: LiveChain, system: System, plan: dict[str, Any]) -> list[Finding]:
    manager = load_artifact("GridAccessManager")
    findings = []
    targets = {
        "SmartMeterRegistry": system.registry,
        "EnergyToken": system.token,
        "EnergyMarket": system.market,
        "GridManagement": system.grid,
        "CarbonCredit": system.carbon,
        "CarbonExchange": system.carbon_exchange,
    }
    for name, functions in FUNCTION_ROLES.items():
        artifact = load_artifact(name)
        wrong = [
            fn
            for fn, role in functions.items()
            if chain.call(
                manager, system.manager, "getTargetFunctionRole", targets[name], artifact.selector(fn)
            )[0]
            != role
        ]
        findings.append(Finding(f"roles of {name}'s restricted functions", not wrong, ", ".join(wrong)))

    def holds(role: int, address: str) -> bool:
        return bool(chain.call(manager, system.manager, "hasRole", role, address)[0])

    for key, role in ROLE_OF_KEY.items():
        holder = plan["roleHolders"][key]
        findings.append(Finding(f"{key} {holder} holds its role", holds(role, holder)))
    findings.append(Finding("the multisig holds ADMIN", holds(ADMIN, system.multisig)))
    findings.append(Finding("the market may escrow energy", holds(MARKET_ESCROW, system.market)))
    deployer = plan["deployer"]
    findings.append(Finding(f"the deployer {deployer} holds no ADMIN", not holds(ADMIN, deployer)))
    multisig = load_artifact("GovernanceMultisig")
    threshold = int(chain.call(multisig, system.multisig, "threshold")[0])
    findings.append(
        Finding(
            "multisig threshold", threshold == plan["multisig"]["threshold"], f"{threshold} of the signers"
        )
    )
    for signer in plan["multisig"]["signers"]:
        signer_bytes = bytes.fromhex(signer.removeprefix("0x"))
        is_signer = bool(chain.call(multisig, system.multisig, "isSigner", signer_bytes)[0])
        findings.append(Finding(f"{signer} signs for the multisig", is_signer))
    return findings
