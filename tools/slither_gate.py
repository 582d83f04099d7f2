"""Fail CI on any Slither finding that is not in the reviewed baseline.

Slither reports every impact level (high to optimization). Each reviewed finding is kept in
slither-baseline.json under a key made of the detector and the names of the elements it points
at (contract, function signature, expression or variable name), never line numbers, so an
unrelated edit elsewhere in a file does not turn a reviewed finding into a "new" one. The reason
for each baselined finding is in docs/slither.md.

    python tools/slither_gate.py                 # run Slither, compare with the baseline
    python tools/slither_gate.py --write-baseline  # rewrite the candidate baseline (then review it)
    python tools/slither_gate.py --from-json F   # compare an existing `slither --json` output

Slither runs from its own virtual environment (`make slither-venv`): slither-analyzer needs
web3 < 8 and the package pins web3 8. Its detectors read the syntax tree only, so the gate asks
the offline compiler (tools/solc) for the ASTs of the non-test sources, with foundry.toml's
remappings, and hands them to Slither as a build-info in crytic-compile's foundry layout: a few
seconds, where a forge build with the IR optimizer takes minutes, and always the sources on disk.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import tomllib
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / "slither-baseline.json"
SLITHER = Path(os.environ.get("SLITHER", ROOT / ".venv-slither" / "bin" / "slither"))
# Test contracts and OpenZeppelin are not ours to fix; the local-chain stablecoin is deployable
# and stays in.
FILTER_PATHS = "node_modules|contracts/test"
SOLC = ROOT / "tools" / "solc"

Finding = tuple[str, str, tuple[str, ...]]  # (detector, impact, element names)


class SlitherRunError(RuntimeError):
    """Slither did not produce a result (compile or parse failure)."""


def _element_name(element: dict[str, Any]) -> str:
    """Name an element by its place in the code: Contract.function(sig)[: expression]."""
    parts: list[str] = []
    node: dict[str, Any] | None = element
    while node is not None:
        fields = node.get("type_specific_fields", {})
        if node.get("type") == "function":
            parts.append(fields.get("signature", node.get("name", "")))
        else:
            parts.append(" ".join(str(node.get("name", "")).split()))
        node = fields.get("parent")
    parts.reverse()
    # A node (statement) is named by its expression after its function.
    if element.get("type") == "node" and len(parts) >= 2:
        # An inline assembly block has no expression text.
        return ".".join(parts[:-1]) + ": " + (parts[-1] or "<statement without expression>")
    return ".".join(parts)


def findings_of(report: dict[str, Any]) -> list[tuple[Finding, str]]:
    """The findings of a `slither --json` report, each keyed without line numbers, with
    Slither's own description (which has the file and lines) for the reader."""
    if not report.get("success", False):
        raise SlitherRunError(str(report.get("error") or "Slither reported failure"))
    results = report.get("results", {}).get("detectors", [])
    found: list[tuple[Finding, str]] = []
    for result in results:
        names = tuple(sorted({_element_name(e) for e in result.get("elements", [])}))
        finding = (str(result["check"]), str(result["impact"]), names)
        found.append((finding, str(result.get("description", "")).strip()))
    return found


def load_baseline(path: Path) -> list[Finding]:
    entries = json.loads(path.read_text())["findings"]
    return [(e["detector"], e["impact"], tuple(e["elements"])) for e in entries]


def render_baseline(found: Iterable[Finding], slither_version: str) -> str:
    entries = [{"detector": d, "impact": i, "elements": list(names)} for d, i, names in sorted(found)]
    doc = {
        "comment": "Reviewed Slither findings; the reason for each is in docs/slither.md. "
        "Regenerate the candidate with `make slither-baseline`, then review the diff.",
        "slither": slither_version,
        "findings": entries,
    }
    return json.dumps(doc, indent=1) + "\n"


def compare(found: list[Finding], baseline: list[Finding]) -> tuple[list[Finding], list[Finding]]:
    """(new findings not in the baseline, baseline entries no longer found), counted as multisets."""
    have, known = Counter(found), Counter(baseline)
    new = sorted((have - known).elements())
    gone = sorted((known - have).elements())
    return new, gone


def _describe(finding: Finding) -> str:
    detector, impact, names = finding
    return f"  [{impact}] {detector}: " + "; ".join(names)


def _sources() -> dict[str, dict[str, str]]:
    config = tomllib.loads((ROOT / "foundry.toml").read_text())["profile"]["default"]
    src, tests = ROOT / config["src"], ROOT / config["test"]
    files = sorted(p for p in src.rglob("*.sol") if tests not in p.parents)
    return {p.relative_to(ROOT).as_posix(): {"content": p.read_text()} for p in files}


def write_ast_build_info(dest: Path) -> None:
    """Compile the non-test sources to ASTs only (no code generation) into dest/ast.json."""
    config = tomllib.loads((ROOT / "foundry.toml").read_text())["profile"]["default"]
    source_json: dict[str, Any] = {
        "language": "Solidity",
        "sources": _sources(),
        "settings": {
            "remappings": config.get("remappings", []),
            "evmVersion": config.get("evm_version", "cancun"),
            "viaIR": bool(config.get("via_ir", False)),
            "optimizer": {
                "enabled": bool(config.get("optimizer", False)),
                "runs": config.get("optimizer_runs", 200),
            },
            "outputSelection": {"*": {"": ["ast"], "*": ["abi", "userdoc", "devdoc"]}},
        },
    }
    proc = subprocess.run(
        [str(SOLC), "--standard-json"],
        input=json.dumps(source_json),
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise SlitherRunError(f"tools/solc exited {proc.returncode}: {proc.stderr[-2000:]}")
    output = json.loads(proc.stdout)
    errors = [e["formattedMessage"] for e in output.get("errors", []) if e.get("severity") == "error"]
    if errors:
        raise SlitherRunError("the contracts do not compile:\n" + "\n".join(errors))
    # crytic-compile reads bytecode and source maps of every contract; Slither's detectors do not.
    for contracts in output.get("contracts", {}).values():
        for info in contracts.values():
            info["evm"] = {
                "bytecode": {"object": "", "sourceMap": ""},
                "deployedBytecode": {"object": "", "sourceMap": ""},
            }
    version = subprocess.run([str(SOLC), "--version"], capture_output=True, text=True, check=True).stdout
    short = version.split("Version:")[1].strip().split("+")[0]
    build_info = {
        "_format": "hh-sol-build-info-1",
        "id": "ast",
        "solcVersion": short,
        "input": source_json,
        "output": output,
    }
    (dest / "ast.json").write_text(json.dumps(build_info))


def run_slither(json_out: Path) -> dict[str, Any]:
    if not SLITHER.exists():
        raise SlitherRunError(f"{SLITHER} not found (run `make slither-venv`)")
    build_info = json_out.parent / "build-info"
    build_info.mkdir()
    write_ast_build_info(build_info)
    env = dict(os.environ)
    # crytic-compile asks forge for the project layout even with --ignore-compile.
    env["PATH"] = f"{ROOT / 'node_modules' / '.bin'}{os.pathsep}{env.get('PATH', '')}"
    cmd = [
        str(SLITHER),
        ".",
        "--ignore-compile",
        "--foundry-build-info-directory",
        str(build_info),
        "--filter-paths",
        FILTER_PATHS,
        "--json",
        str(json_out),
        "--fail-none",
        "--disable-color",
    ]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0 or not json_out.exists():
        raise SlitherRunError(f"slither exited {proc.returncode}:\n{proc.stderr[-4000:]}")
    # Code Slither cannot turn into its IR is not analysed at all: say so on every run.
    for line in proc.stderr.splitlines():
        if "Impossible to generate IR" in line:
            print("slither gate: not analysed: " + line.strip())
    report: dict[str, Any] = json.loads(json_out.read_text())
    return report


def slither_version() -> str:
    proc = subprocess.run([str(SLITHER), "--version"], capture_output=True, text=True, check=False)
    return proc.stdout.strip() or "unknown"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--from-json", type=Path, help="compare this `slither --json` output")
    parser.add_argument("--baseline", type=Path, default=BASELINE)
    parser.add_argument("--write-baseline", action="store_true", help="rewrite the candidate baseline")
    args = parser.parse_args(argv)

    try:
        if args.from_json is not None:
            report = json.loads(args.from_json.read_text())
        else:
            with tempfile.TemporaryDirectory() as tmp:
                report = run_slither(Path(tmp) / "slither.json")
        described = findings_of(report)
    except SlitherRunError as err:
        print(f"slither gate: Slither did not run: {err}")
        return 2

    found = [finding for finding, _ in described]
    where = dict(described)
    if args.write_baseline:
        version = "unknown" if args.from_json is not None else slither_version()
        args.baseline.write_text(render_baseline(found, version))
        print(
            f"slither gate: wrote {len(found)} findings to {args.baseline.name}; review the diff and "
            "give each new one its reason in docs/slither.md"
        )
        return 0

    if not args.baseline.exists():
        print(f"slither gate: no baseline at {args.baseline} (run `make slither-baseline`)")
        return 2
    new, gone = compare(found, load_baseline(args.baseline))
    by_impact = Counter(impact for _, impact, _ in found)
    summary = ", ".join(f"{n} {impact.lower()}" for impact, n in sorted(by_impact.items()))
    print(f"slither gate: {len(found)} findings ({summary or 'none'})")
    for finding in gone:
        print("slither gate: no longer found, remove from the baseline:" + _describe(finding)[1:])
    if new:
        print(f"slither gate: FAIL, {len(new)} finding(s) not in {args.baseline.name}:")
        for finding in new:
            print(_describe(finding))
            print("    " + where[finding].replace("\n", "\n    "))
        print(
            "Fix them, or review them, add them with `make slither-baseline` and give the reason "
            "in docs/slither.md."
        )
        return 1
    print("slither gate: OK, every finding is reviewed in the baseline")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
