"""The CI gates in tools/: Slither against its reviewed baseline, forge coverage against the floor."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from gridledger.chain.abi import DEPLOYABLE

TOOLS = Path(__file__).resolve().parents[2] / "tools"


def _tool(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, TOOLS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


slither_gate = _tool("slither_gate")
coverage_gate = _tool("coverage_gate")


# ---------------------------------------------------------------- slither gate
def _function(contract: str, signature: str, lines: list[int]) -> dict[str, Any]:
    return {
        "type": "function",
        "name": signature.split("(")[0],
        "source_mapping": {"filename_relative": f"contracts/{contract}.sol", "lines": lines},
        "type_specific_fields": {
            "parent": {"type": "contract", "name": contract, "type_specific_fields": {}},
            "signature": signature,
        },
    }


def _node(expression: str, function: dict[str, Any], line: int) -> dict[str, Any]:
    return {
        "type": "node",
        "name": expression,
        "source_mapping": {"lines": [line]},
        "type_specific_fields": {"parent": function},
    }


def _result(check: str, impact: str, elements: list[dict[str, Any]]) -> dict[str, Any]:
    return {"check": check, "impact": impact, "description": f"{check} found\n", "elements": elements}


def _report(*results: dict[str, Any]) -> dict[str, Any]:
    return {"success": True, "error": None, "results": {"detectors": list(results)}}


def _timestamp_finding(first_line: int) -> dict[str, Any]:
    fn = _function("EnergyToken", "mintEnergy(address,uint256)", list(range(first_line, first_line + 9)))
    return _result("timestamp", "Low", [fn, _node("lotEpoch == nowEpoch", fn, first_line + 3)])


def test_findings_of_keysByNamesNotLines() -> None:
    before = slither_gate.findings_of(_report(_timestamp_finding(40)))
    after = slither_gate.findings_of(_report(_timestamp_finding(97)))
    assert [f for f, _ in before] == [f for f, _ in after]
    assert before[0][0] == (
        "timestamp",
        "Low",
        (
            "EnergyToken.mintEnergy(address,uint256)",
            "EnergyToken.mintEnergy(address,uint256): lotEpoch == nowEpoch",
        ),
    )


def test_sources_areDeployableCodeWithoutTests() -> None:
    names = set(slither_gate._sources())
    assert {"contracts/GovernanceMultisig.sol", "contracts/local/TestStablecoin.sol"} <= names
    assert not [n for n in names if n.startswith("contracts/test/")]


def test_findings_of_failedRunRaises() -> None:
    with pytest.raises(slither_gate.SlitherRunError, match="compilation failed"):
        slither_gate.findings_of({"success": False, "error": "compilation failed", "results": {}})


def test_compare_countsRepeatedFindings() -> None:
    finding = ("incorrect-equality", "Medium", ("A.f()",))
    new, gone = slither_gate.compare([finding, finding], [finding])
    assert (new, gone) == ([finding], [])
    new, gone = slither_gate.compare([], [finding])
    assert (new, gone) == ([], [finding])


def _run_gate(tmp_path: Path, report: dict[str, Any], *flags: str) -> int:
    report_file = tmp_path / "slither.json"
    report_file.write_text(json.dumps(report))
    baseline = tmp_path / "baseline.json"
    return int(slither_gate.main(["--from-json", str(report_file), "--baseline", str(baseline), *flags]))


def test_main_findingOutsideBaselineFails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run_gate(tmp_path, _report(_timestamp_finding(40)), "--write-baseline") == 0
    extra = _result("naming-convention", "Informational", [_function("CarbonPool", "f_x()", [3])])
    assert _run_gate(tmp_path, _report(_timestamp_finding(60), extra)) == 1
    out = capsys.readouterr().out
    assert "FAIL, 1 finding(s) not in baseline.json" in out
    assert "[Informational] naming-convention: CarbonPool.f_x()" in out


def test_main_everyFindingBaselinedPasses(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run_gate(tmp_path, _report(_timestamp_finding(40)), "--write-baseline") == 0
    assert _run_gate(tmp_path, _report(_timestamp_finding(41))) == 0
    assert "OK, every finding is reviewed" in capsys.readouterr().out


def test_main_fixedFindingIsReportedNotFailed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run_gate(tmp_path, _report(_timestamp_finding(40)), "--write-baseline") == 0
    assert _run_gate(tmp_path, _report()) == 0
    assert "no longer found, remove from the baseline" in capsys.readouterr().out


def test_main_missingBaselineFails(tmp_path: Path) -> None:
    assert _run_gate(tmp_path, _report()) == 2


def test_main_slitherFailureFails(tmp_path: Path) -> None:
    assert _run_gate(tmp_path, {"success": False, "error": "boom", "results": {}}) == 2


# ---------------------------------------------------------------- coverage gate
def _record(path: str, line_hits: list[int], branch_hits: list[str]) -> str:
    rows = [f"SF:{path}"]
    rows += [f"DA:{i + 1},{h}" for i, h in enumerate(line_hits)]
    rows += [f"BRDA:{i + 1},0,{i},{h}" for i, h in enumerate(branch_hits)]
    return "\n".join([*rows, "end_of_record"])


def _lcov(**overrides: str) -> str:
    records = {name: _record(f"contracts/{name}.sol", [1] * 10, ["1"] * 10) for name in DEPLOYABLE}
    records.update(overrides)
    return "TN:\n" + "\n".join(records.values()) + "\n"


def test_parse_lcov_sumsRecordsAndReadsUntakenBranch() -> None:
    text = (
        _record("contracts/X.sol", [0, 1], ["-", "0"]) + "\n" + _record("contracts/X.sol", [2, 0], ["1", "0"])
    )
    cov = coverage_gate.parse_lcov(text)["contracts/X.sol"]
    assert cov.line_percent == 100.0
    assert cov.branch_percent == 50.0


def test_parse_lcov_malformedLineRaises() -> None:
    with pytest.raises(coverage_gate.LcovError, match="line 2"):
        coverage_gate.parse_lcov("SF:contracts/X.sol\nDA:seven,1\n")
    with pytest.raises(coverage_gate.LcovError, match="outside a source file"):
        coverage_gate.parse_lcov("DA:1,1\n")


def test_gate_everyDeployableAtFloorPasses() -> None:
    text = _lcov(CarbonPool=_record("contracts/CarbonPool.sol", [1] * 9 + [0], ["1"] * 9 + ["-"]))
    _, failures = coverage_gate.gate(coverage_gate.parse_lcov(text), 90.0)
    assert failures == []


def test_gate_contractWithoutBranchesPasses() -> None:
    text = _lcov(GridAccessManager=_record("contracts/GridAccessManager.sol", [1], []))
    _, failures = coverage_gate.gate(coverage_gate.parse_lcov(text), 90.0)
    assert failures == []


def test_gate_lowLinesOrBranchesFail() -> None:
    text = _lcov(
        CarbonPool=_record("contracts/CarbonPool.sol", [1] * 8 + [0, 0], ["1"] * 10),
        EnergyMarket=_record("contracts/EnergyMarket.sol", [1] * 10, ["1"] * 8 + ["0", "-"]),
    )
    _, failures = coverage_gate.gate(coverage_gate.parse_lcov(text), 90.0)
    assert failures == [
        "EnergyMarket: branches 80.0% < 90% (contracts/EnergyMarket.sol: untested lines none; "
        "untaken branches at lines 9-10)",
        "CarbonPool: lines 80.0% < 90% (contracts/CarbonPool.sol: untested lines 9-10; "
        "untaken branches at lines none)",
    ]


def test_gate_deployableMissingFromReportFails() -> None:
    text = _lcov()
    text = text.replace(_record("contracts/TestStablecoin.sol", [1] * 10, ["1"] * 10), "")
    _, failures = coverage_gate.gate(coverage_gate.parse_lcov(text), 90.0)
    assert failures == ["TestStablecoin: not in the coverage report"]


def test_gate_contractWithoutOwnCodeMayBeMissing() -> None:
    text = _lcov().replace(_record("contracts/GridAccessManager.sol", [1] * 10, ["1"] * 10), "")
    report, failures = coverage_gate.gate(coverage_gate.parse_lcov(text), 90.0)
    assert failures == []
    assert any(line.startswith("GridAccessManager: no code of its own") for line in report)


def test_main_printsTableAndFailsBelowFloor(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lcov = tmp_path / "lcov.info"
    lcov.write_text(_lcov(CarbonCredit=_record("contracts/CarbonCredit.sol", [1, 0], ["1"])))
    assert coverage_gate.main([str(lcov)]) == 1
    out = capsys.readouterr().out
    assert "contracts/CarbonCredit.sol" in out and "50.0%" in out
    assert "CarbonCredit: lines 50.0% < 90% (contracts/CarbonCredit.sol: untested lines 2;" in out


def test_main_unreadableReportFails(tmp_path: Path) -> None:
    assert coverage_gate.main([str(tmp_path / "missing.info")]) == 2
