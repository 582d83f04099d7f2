"""Copy the web app's vendored ES modules from node_modules into src/gridledger/api/web/vendor/.

The web app has no build step: it imports ethers and uPlot from these copies, so the package
ships them and `pip install` alone serves the app. `--check` exits 1 if a vendored file differs
from (or is missing next to) its npm package's file, as CI checks generated artifacts.

    python tools/vendor_web.py           # copy
    python tools/vendor_web.py --check   # compare only
"""

from __future__ import annotations

import argparse
import filecmp
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NODE_MODULES = ROOT / "node_modules"
VENDOR = ROOT / "src" / "gridledger" / "api" / "web" / "vendor"

# (package, its file, the vendored name)
FILES = (
    ("ethers", "dist/ethers.min.js", "ethers.min.js"),
    ("uplot", "dist/uPlot.esm.js", "uPlot.esm.js"),
    ("uplot", "dist/uPlot.min.css", "uPlot.min.css"),
    ("ethers", "LICENSE.md", "LICENSE.ethers.md"),
    ("uplot", "LICENSE", "LICENSE.uplot"),
)


def sources() -> list[tuple[Path, Path]]:
    return [(NODE_MODULES / package / name, VENDOR / target) for package, name, target in FILES]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare only; exit 1 on a difference")
    args = parser.parse_args(argv)
    missing = [str(source) for source, _ in sources() if not source.is_file()]
    if missing:
        print("not in node_modules (run `npm ci`): " + ", ".join(missing), file=sys.stderr)
        return 2
    if args.check:
        stale = [
            str(target.relative_to(ROOT))
            for source, target in sources()
            if not target.is_file() or not filecmp.cmp(source, target, shallow=False)
        ]
        for name in stale:
            print(f"stale vendored file: {name} (run `python tools/vendor_web.py`)", file=sys.stderr)
        return 1 if stale else 0
    VENDOR.mkdir(parents=True, exist_ok=True)
    for source, target in sources():
        shutil.copyfile(source, target)
        print(f"{source.relative_to(ROOT)} -> {target.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
