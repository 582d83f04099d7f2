"""Administering a live deployment on anvil, nothing impersonated: multisig operations as
files (proposed, signed offline, executed), and the direct-role commands each signed by its
role's key. Every refusal is one line and exit code 2, and changes nothing on the chain."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from live_cli import deploy, one_line_exit_2
from typer.testing import CliRunner, Result

from gridledger.chain.abi import load_artifact
from gridledger.chain.deploy import System
from gridledger.chain.rpc import anvil_node
from gridledger.chain.sender import JsonRpc
from gridledger.cli.main import app
from gridledger.ops.deployment import Manifest
from gridledger.ops.keys import Keystore

START = 1_750_000_000
FIRMWARE = "0x" + "cd" * 32


@dataclass(frozen=True)
class Live:
    url: str
    deployments: Path
    keystore: Path
    password_file: Path
    system: System
    keys: dict[str, str]  # key name -> address

    def run(self, *args: str, signed: bool = True) -> Result:
        common = ["--rpc-url", self.url, "--deployments", str(self.deployments)]
        if signed:
            common += ["--keystore", str(self.keystore), "--password-file", str(self.password_file)]
        return CliRunner().invoke(app, [*args, *common])

    def call(self, contract: str, address: str, fn: str, *args: object) -> object:
        request = {"to": address, "data": "0x" + load_artifact(contract).encode_call(fn, args).hex()}
        answer = JsonRpc(self.url).request("eth_call", [request, "latest"])
        return load_artifact(contract).decode_output(fn, bytes.fromhex(answer[2:]))[0]


@pytest.fixture(scope="module")
def deployed(keystore: Path, password_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    deployments = tmp_path_factory.mktemp("deployments")
    keys = {key.name: key.address for key in Keystore(keystore).stored()}
    with anvil_node(START) as url:
        rpc = JsonRpc(url)
        for name in ("deployer", "regulator", "meter-operator", "grid-operator", "emergency"):
            rpc.request("anvil_setBalance", [keys[name], hex(10**21)])  # a dev node's faucet
        deploy(url, keystore, password_file, deployments)
        system = Manifest.load(deployments / "31337.json").system()
        yield Live(url, deployments, keystore, password_file, system, keys)


@pytest.fixture
def live(deployed: Live) -> Iterator[Live]:
    """The deployment, returned to its deployed state after each test."""
    rpc = JsonRpc(deployed.url)
    snapshot = rpc.request("evm_snapshot", [])
    yield deployed
    assert rpc.request("evm_revert", [snapshot]) is True


def _propose_firmware(live: Live, tmp_path: Path) -> Path:
    proposal = tmp_path / "firmware.json"
    ran = live.run("firmware", "approve", FIRMWARE, "--out", str(proposal), signed=False)
    assert ran.exit_code == 0, ran.output
    return proposal


def _sign(live: Live, proposal: Path, key: str) -> Result:
    """Offline: no node is named."""
    return CliRunner().invoke(
        app,
        [
            "multisig", "sign", str(proposal), "--key", key,
            "--keystore", str(live.keystore), "--password-file", str(live.password_file),
        ],
    )  # fmt: skip


def _firmware_approved(live: Live) -> bool:
    return bool(
        live.call(
            "SmartMeterRegistry", live.system.registry, "isFirmwareApproved", bytes.fromhex(FIRMWARE[2:])
        )
    )


# ---------------------------------------------------------------- the multisig
def test_multisig_proposedSignedOfflineByTwoAndExecuted_approvesTheFirmware(
    live: Live, tmp_path: Path
) -> None:
    proposal = _propose_firmware(live, tmp_path)
    shown = CliRunner().invoke(app, ["multisig", "show", str(proposal)])
    assert "SmartMeterRegistry.setFirmwareApproval" in shown.output and "EIP-712 digest 0x" in shown.output
    for signer in ("signer-1", "signer-3"):
        signed = _sign(live, proposal, signer)
        assert signed.exit_code == 0, signed.output
        assert live.keys[signer] in signed.output
    assert not _firmware_approved(live)
    executed = live.run("multisig", "execute", str(proposal))
    assert executed.exit_code == 0, executed.output
    assert _firmware_approved(live)


def test_multisig_oneApprovalOfTwo_isRefusedAndNothingChanges(live: Live, tmp_path: Path) -> None:
    proposal = _propose_firmware(live, tmp_path)
    assert _sign(live, proposal, "signer-2").exit_code == 0
    one_line_exit_2(live.run("multisig", "execute", str(proposal)), "1 distinct signer", "needs 2")
    assert not _firmware_approved(live)


def test_multisig_approvalByANonSigner_isRefused(live: Live, tmp_path: Path) -> None:
    proposal = _propose_firmware(live, tmp_path)
    assert _sign(live, proposal, "signer-1").exit_code == 0
    assert _sign(live, proposal, "gateway").exit_code == 0  # any key can sign a file...
    ran = live.run("multisig", "execute", str(proposal))  # ...the multisig says who counts
    one_line_exit_2(ran, live.keys["gateway"], "not a signer")
    assert not _firmware_approved(live)


def test_multisig_tamperedProposal_isRefusedBeforeSigning(live: Live, tmp_path: Path) -> None:
    proposal = _propose_firmware(live, tmp_path)
    document = json.loads(proposal.read_text())
    document["arguments"][1] = "false"  # shows "revoke" while the digest signs "approve"
    proposal.write_text(json.dumps(document))
    one_line_exit_2(_sign(live, proposal, "signer-1"), "calldata is not the call it shows")
    assert not list(tmp_path.glob("*.approval.json"))


def test_multisig_staleNonce_isRefused(live: Live, tmp_path: Path) -> None:
    first = _propose_firmware(live, tmp_path)
    second = tmp_path / "second.json"
    assert (
        live.run(
            "multisig",
            "propose",
            "EnergyMarket",
            "setGridFee",
            live.keys["grid-operator"],
            "30000",
            "--out",
            str(second),
            signed=False,
        ).exit_code
        == 0
    )
    for proposal in (first, second):
        for signer in ("signer-1", "signer-2"):
            assert _sign(live, proposal, signer).exit_code == 0
    assert live.run("multisig", "execute", str(first)).exit_code == 0
    one_line_exit_2(live.run("multisig", "execute", str(second)), "nonce 0", "its next is 1")


def test_multisig_proposeBadArgument_isOneLine(live: Live, tmp_path: Path) -> None:
    out = str(tmp_path / "p.json")
    one_line_exit_2(
        live.run(
            "multisig",
            "propose",
            "EnergyMarket",
            "setGridFee",
            "0x" + "ab" * 20,
            str(2**64),
            "--out",
            out,
            signed=False,
        ),
        "feePerKWh",
        "uint64",
    )
    one_line_exit_2(
        live.run("multisig", "propose", "EnergyMarket", "noSuchFunction", "--out", out, signed=False),
        "has no function noSuchFunction",
    )


# ---------------------------------------------------------------- direct roles
def test_participant_verifyThenRevoke_byTheRegulatorsKey(live: Live) -> None:
    member = "0x" + "12" * 20
    assert live.run("participant", "verify", member, "--jurisdiction", "276").exit_code == 0
    assert live.call("EnergyToken", live.system.token, "isVerified", member) is True
    assert live.run("participant", "revoke", member).exit_code == 0
    assert live.call("EnergyToken", live.system.token, "isVerified", member) is False


def test_participant_verifyWithAnotherRolesKey_isRefusedByTheChain(live: Live) -> None:
    member = "0x" + "12" * 20
    ran = live.run("participant", "verify", member, "--jurisdiction", "276", "--key", "meter-operator")
    one_line_exit_2(ran, "AccessManagedUnauthorized", live.keys["meter-operator"].lower())
    assert live.call("EnergyToken", live.system.token, "isVerified", member) is False


def _meter_csv(live: Live, tmp_path: Path, rows: list[str]) -> Path:
    path = tmp_path / "meters.csv"
    header = "device_address,owner,grid_node_id,kind,source,rated_power_w,firmware_hash"
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def _grid_and_owner(live: Live, tmp_path: Path, owner: str) -> None:
    assert live.run("zone", "create", "1", "--capacity-wh", "1000000").exit_code == 0
    assert live.run("node", "register", owner, "--zone", "1", "--capacity-w", "10000").exit_code == 0
    assert live.run("participant", "verify", owner, "--jurisdiction", "276").exit_code == 0
    proposal = _propose_firmware(live, tmp_path)
    for signer in ("signer-1", "signer-2"):
        assert _sign(live, proposal, signer).exit_code == 0
    assert live.run("multisig", "execute", str(proposal)).exit_code == 0


def test_device_registerFromCsv_registersEachOnce_andAgainSkipsThem(live: Live, tmp_path: Path) -> None:
    owner = "0x" + "34" * 20
    _grid_and_owner(live, tmp_path, owner)
    meters = [f"0x{i:040x},{owner},1,prosumer,solar,{2_000 + i},{FIRMWARE}" for i in (1, 2, 3)]
    csv_file = _meter_csv(live, tmp_path, meters)
    first = live.run("device", "register", "--csv", str(csv_file))
    assert first.exit_code == 0, first.output
    assert "registered 3 meter(s); 0 registered already" in first.output
    assert live.call("SmartMeterRegistry", live.system.registry, "deviceCount") == 3
    again = live.run("device", "register", "--csv", str(csv_file))
    assert "registered 0 meter(s); 3 registered already" in again.output
    assert live.run("device", "status", "2", "suspended").exit_code == 0
    device = live.call("SmartMeterRegistry", live.system.registry, "getDevice", 2)
    assert isinstance(device, tuple)
    signer, device_owner, _, _, _, rated_power_w, status = device[:7]
    assert (signer.lower(), device_owner.lower(), rated_power_w) == (f"0x{2:040x}", owner, 2_002)
    assert status == 3  # ISmartMeter.DeviceStatus.Suspended
    one_line_exit_2(live.run("device", "status", "2", "suspended"), "InvalidStatusChange")


def test_device_registerCsvWithABadLine_sendsNothing(live: Live, tmp_path: Path) -> None:
    owner = "0x" + "34" * 20
    good = f"0x{1:040x},{owner},1,prosumer,solar,2000,{FIRMWARE}"
    bad = f"0x{2:040x},{owner},1,windmill,solar,2000,{FIRMWARE}"
    ran = live.run("device", "register", "--csv", str(_meter_csv(live, tmp_path, [good, bad])))
    one_line_exit_2(ran, "line 3", "kind is one of")
    assert live.call("SmartMeterRegistry", live.system.registry, "deviceCount") == 0


def test_device_registerRefusedByTheRegistry_namesTheLine(live: Live, tmp_path: Path) -> None:
    """The owner is not verified: the registry's own check, reported with the CSV line."""
    meters = [f"0x{1:040x},0x{'56' * 20},1,prosumer,solar,2000,{FIRMWARE}"]
    ran = live.run("device", "register", "--csv", str(_meter_csv(live, tmp_path, meters)))
    one_line_exit_2(ran, "line 2", "OwnerNotVerified")


def test_pause_byTheEmergencyKey_stopsTheMarket(live: Live) -> None:
    assert live.run("pause", "EnergyMarket").exit_code == 0
    assert live.call("EnergyMarket", live.system.market, "paused") is True
    one_line_exit_2(live.run("pause", "Nowhere"), "CONTRACT is one of")


def test_commands_wrongPasswordOrNoManifest_areOneLine(live: Live, tmp_path: Path) -> None:
    wrong = tmp_path / "wrong"
    wrong.write_text("not it\n")
    ran = CliRunner().invoke(
        app,
        [
            "pause", "EnergyMarket", "--rpc-url", live.url, "--deployments", str(live.deployments),
            "--keystore", str(live.keystore), "--password-file", str(wrong),
        ],
    )  # fmt: skip
    one_line_exit_2(ran, "wrong password", "emergency")
    empty = tmp_path / "none"
    ran = CliRunner().invoke(
        app, ["zone", "capacity", "1", "5", "--rpc-url", live.url, "--deployments", str(empty)]
    )
    one_line_exit_2(ran, "no deployment manifest", "31337.json")
