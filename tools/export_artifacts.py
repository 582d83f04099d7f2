"""Copy the deployable contracts' ABI and bytecode from forge's out/ into the package.

The package ships these files so that `pip install` alone runs the platform; the node
toolchain is needed only to change contracts. `--check` fails when the committed files
differ from a fresh build (CI runs it).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from gridledger.chain.abi import DEPLOYABLE

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "out"
DEST = ROOT / "src" / "gridledger" / "contracts"


def rendered() -> dict[str, str]:
    files: dict[str, str] = {}
    for name in DEPLOYABLE:
        built = json.loads((OUT / f"{name}.sol" / f"{name}.json").read_text())
        artifact = {
            "contractName": name,
            "abi": built["abi"],
            "bytecode": built["bytecode"]["object"],
            "deployedBytecode": built["deployedBytecode"]["object"],
        }
        files[f"{name}.json"] = json.dumps(artifact, indent=1, sort_keys=True) + "\n"
    return files


def main(argv: list[str]) -> int:
    files = rendered()
    if "--check" in argv:
        stale = [n for n, text in files.items() if not (DEST / n).exists() or (DEST / n).read_text() != text]
        if stale:
            print("committed contract artifacts are stale: " + ", ".join(stale) + " (run `make contracts`)")
            return 1
        print("contract artifacts up to date")
        return 0
    DEST.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (DEST / name).write_text(text)
    print(f"wrote {len(files)} artifacts to {DEST.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
