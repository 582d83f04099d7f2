"""gridledger deploy against anvil with nothing impersonated: each role to its own key from an
encrypted keystore, the admin role to the multisig, a manifest that --check reads back, a run
killed part way that resumes without sending any step twice, and one clear line for bad input.
Anvil's dev methods only fund the deployer (a faucet) and plant faults."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from eth_account import Account
from live_cli import deploy_args, one_line_exit_2
from typer.testing import CliRunner, Result

from gridledger.chain.abi import load_artifact
from gridledger.chain.deploy import GATEWAY
from gridledger.chain.eip712 import SigningKey
from gridledger.chain.governance import Governance
from gridledger.chain.live import LiveChain
from gridledger.chain.rpc import anvil_node, hardhat_node
from gridledger.chain.sender import JsonRpc
from gridledger.cli.main import app
from gridledger.ops.deployment import ROLE_OF_KEY, Manifest
from gridledger.ops.keys import Keystore

START = 1_750_000_000
KILL_AFTER_STEPS = 12
FAULT_WAIT_S = 120.0  # bound of the wait for the killed run to reach its step
GRIDLEDGER = Path(sys.executable).parent / "gridledger"


@pytest.fixture(params=["anvil"])
def node(request: pytest.FixtureRequest, keystore: Path) -> Iterator[str]:
    """A fresh node (anvil unless a test names Hardhat Network) whose only help is ether for
    the deployer."""
    kind = str(request.param)
    with {"anvil": anvil_node, "hardhat": hardhat_node}[kind](START) as url:
        deployer = Keystore(keystore).find("deployer").address
        JsonRpc(url).request(f"{kind}_setBalance", [deployer, hex(10**21)])
        yield url


def _run(args: list[str]) -> Result:
    return CliRunner().invoke(app, args)


def _deploy_args(url: str, keystore: Path, password_file: Path, deployments: Path) -> list[str]:
    return deploy_args(url, keystore, password_file, deployments, "--firmware", "0x" + "ab" * 32)


def _check(url: str, deployments: Path) -> Result:
    return _run(["deploy", "--check", "--rpc-url", url, "--deployments", str(deployments)])


@pytest.mark.parametrize("node", ["anvil", "hardhat"], indirect=True)
def test_deploy_handsEachRoleToItsKey_andTheCheckPasses(
    node: str, keystore: Path, password_file: Path, tmp_path: Path
) -> None:
    deployments = tmp_path / "deployments"
    ran = _run(_deploy_args(node, keystore, password_file, deployments))
    assert ran.exit_code == 0, ran.output
    manifest = Manifest.load(deployments / "31337.json")
    assert manifest.complete and manifest.deploy_block is not None
    keys = {key.name: key.address for key in Keystore(keystore).stored()}
    assert manifest.plan["roleHolders"] == {name: keys[name] for name in ROLE_OF_KEY}
    assert manifest.plan["multisig"]["signers"] == [keys["signer-1"], keys["signer-2"], keys["signer-3"]]
    # Every transaction was signed by the deployer's key and sent by its own nonce.
    rpc = JsonRpc(node)
    nonce = int(rpc.request("eth_getTransactionCount", [keys["deployer"], "latest"]), 16)
    assert nonce == len(manifest.steps) and all(step["status"] == "done" for step in manifest.steps)

    checked = _check(node, deployments)
    assert checked.exit_code == 0, checked.output
    assert "FAILED" not in checked.output

    again = _run(_deploy_args(node, keystore, password_file, deployments))
    assert again.exit_code == 0 and "complete already" in again.output
    assert int(rpc.request("eth_getTransactionCount", [keys["deployer"], "latest"]), 16) == nonce


def test_check_aContractsCodeGone_failsNamingIt(
    node: str, keystore: Path, password_file: Path, tmp_path: Path
) -> None:
    deployments = tmp_path / "deployments"
    assert _run(_deploy_args(node, keystore, password_file, deployments)).exit_code == 0
    market = Manifest.load(deployments / "31337.json").address("market")
    JsonRpc(node).request("anvil_setCode", [market, "0x"])
    checked = _check(node, deployments)
    assert checked.exit_code == 1
    assert "no code at" in checked.output and "FAILED" in checked.output


def test_check_aRoleRevokedByTheMultisig_failsNamingItsHolder(
    node: str, keystore: Path, password_file: Path, tmp_path: Path
) -> None:
    """Two signers revoke the gateway's role through the multisig: the code is unchanged, and
    the role checks catch it."""
    deployments = tmp_path / "deployments"
    assert _run(_deploy_args(node, keystore, password_file, deployments)).exit_code == 0
    manifest = Manifest.load(deployments / "31337.json")
    store = Keystore(keystore)
    password = password_file.read_text().strip()
    deployer = store.unlock("deployer", password)
    chain = LiveChain(JsonRpc(node), [deployer])
    signers = [SigningKey(bytes(store.unlock(name, password).key)) for name in ("signer-1", "signer-2")]
    governance = Governance(chain, manifest.address("multisig"), signers, deployer.address)
    gateway = manifest.plan["roleHolders"]["gateway"]
    governance.execute(
        load_artifact("GridAccessManager"), manifest.address("manager"), "revokeRole", GATEWAY, gateway
    )
    checked = _check(node, deployments)
    assert checked.exit_code == 1
    failed = [line for line in checked.output.splitlines() if "FAILED" in line]
    assert len(failed) == 1 and "gateway" in failed[0], checked.output


def test_deploy_killedPartWay_resumesWithoutSendingAStepTwice(
    node: str, keystore: Path, password_file: Path, tmp_path: Path
) -> None:
    deployments = tmp_path / "deployments"
    manifest_file = deployments / "31337.json"
    command = [str(GRIDLEDGER), *_deploy_args(node, keystore, password_file, deployments)]
    killed = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    try:
        deadline = time.monotonic() + FAULT_WAIT_S
        while True:
            if manifest_file.exists():
                steps = json.loads(manifest_file.read_text())["steps"]  # replaced atomically
                if sum(step["status"] == "done" for step in steps) >= KILL_AFTER_STEPS:
                    break
            assert killed.poll() is None, "the deployment ended before it could be killed"
            assert time.monotonic() < deadline, "the deployment never reached the step to kill it at"
            time.sleep(0.02)  # polling another process's file, not a timing assumption
        os.killpg(killed.pid, signal.SIGKILL)
    finally:
        if killed.poll() is None:
            os.killpg(killed.pid, signal.SIGKILL)
        killed.wait(timeout=10)
    partial = Manifest.load(manifest_file)
    assert not partial.complete

    resumed = _run(_deploy_args(node, keystore, password_file, deployments))
    assert resumed.exit_code == 0, resumed.output
    assert "resuming" in resumed.output
    manifest = Manifest.load(manifest_file)
    deployer = Keystore(keystore).find("deployer").address
    nonce = int(JsonRpc(node).request("eth_getTransactionCount", [deployer, "latest"]), 16)
    assert manifest.complete and nonce == len(manifest.steps), "a step was sent twice or lost"
    assert _check(node, deployments).exit_code == 0


# ---------------------------------------------------------------- bad input: one line, exit 2
def test_deploy_wrongPassword_isOneLine(node: str, keystore: Path, tmp_path: Path) -> None:
    wrong = tmp_path / "wrong"
    wrong.write_text("not the password\n")
    ran = _run(_deploy_args(node, keystore, wrong, tmp_path / "deployments"))
    one_line_exit_2(ran, "wrong password", "deployer")
    assert not (tmp_path / "deployments").exists()


def test_deploy_missingRoleKey_isOneLine(node: str, password_file: Path, tmp_path: Path) -> None:
    partial = Keystore(tmp_path / "partial")
    partial.create("deployer", password_file.read_text().strip())
    ran = _run(_deploy_args(node, tmp_path / "partial", password_file, tmp_path / "deployments"))
    one_line_exit_2(ran, "no key for", "gateway")


def test_deploy_withoutAPaymentToken_isOneLine(
    node: str, keystore: Path, password_file: Path, tmp_path: Path
) -> None:
    args = [a for a in _deploy_args(node, keystore, password_file, tmp_path / "d") if a != "--test-dollar"]
    one_line_exit_2(_run(args), "--payment-token", "--test-dollar")


def test_deploy_paymentTokenWithoutCode_isOneLine(
    node: str, keystore: Path, password_file: Path, tmp_path: Path
) -> None:
    args = [a for a in _deploy_args(node, keystore, password_file, tmp_path / "d") if a != "--test-dollar"]
    empty = Account.create().address
    one_line_exit_2(_run([*args, "--payment-token", empty]), "no contract", empty)


def test_check_manifestOfAnotherChain_isOneLine(
    node: str, keystore: Path, password_file: Path, tmp_path: Path
) -> None:
    deployments = tmp_path / "deployments"
    assert _run(_deploy_args(node, keystore, password_file, deployments)).exit_code == 0
    with anvil_node(START, chain_id=4242) as other:
        one_line_exit_2(_check(other, deployments), "no deployment manifest", "4242.json")
        # A manifest whose own chain id is not the node's, under the node's file name.
        (deployments / "31337.json").rename(deployments / "4242.json")
        one_line_exit_2(_check(other, deployments), "of chain 31337", "4242")


def test_deploy_unreachableNode_isOneLine(keystore: Path, password_file: Path, tmp_path: Path) -> None:
    with anvil_node(START) as url:
        pass  # stopped again: its port refuses
    ran = _run(_deploy_args(url, keystore, password_file, tmp_path / "deployments"))
    one_line_exit_2(ran, "did not answer", "attempts")


def test_deploy_fundRoles_topsUpEachOperatorKeyOnce(
    node: str, keystore: Path, password_file: Path, tmp_path: Path
) -> None:
    deployments = tmp_path / "deployments"
    args = [*_deploy_args(node, keystore, password_file, deployments), "--fund-roles", "0.5"]
    assert _run(args).exit_code == 0
    rpc = JsonRpc(node)
    keys = {key.name: key.address for key in Keystore(keystore).stored()}
    for name in ROLE_OF_KEY:
        assert int(rpc.request("eth_getBalance", [keys[name], "latest"]), 16) == 5 * 10**17, name
    nonce = int(rpc.request("eth_getTransactionCount", [keys["deployer"], "latest"]), 16)
    assert _run(args).exit_code == 0  # complete and funded: nothing is sent again
    assert int(rpc.request("eth_getTransactionCount", [keys["deployer"], "latest"]), 16) == nonce


@pytest.mark.parametrize("amount", ["abc", "-1", "0", "0.0000000000000000001"])
def test_deploy_badFundRoles_isOneLine(
    node: str, keystore: Path, password_file: Path, tmp_path: Path, amount: str
) -> None:
    args = [*_deploy_args(node, keystore, password_file, tmp_path / "d"), "--fund-roles", amount]
    one_line_exit_2(_run(args), "--fund-roles")
    assert not (tmp_path / "d").exists()
