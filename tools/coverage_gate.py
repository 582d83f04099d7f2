"""Print contract coverage from forge's lcov report and fail below the floor.

    python tools/coverage_gate.py lcov.info [--min-percent 90]

Every deployable contract (gridledger.chain.abi.DEPLOYABLE) must reach the floor in lines AND
branches. A deployable contract missing from the report fails too, unless it is listed in
NO_OWN_CODE: forge reports only files with statements of their own.
Other source files (libraries) are printed for information: their lines count where they
are used, and an internal library has no deployed code of its own.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from gridledger.chain.abi import DEPLOYABLE

# Deployable contracts without a statement of their own, which forge leaves out of the report.
# Each is gated like the others as soon as it gains code.
NO_OWN_CODE = {
    "GridAccessManager": "OpenZeppelin's AccessManager unchanged; its constructor only passes the admin on",
}


@dataclass
class FileCoverage:
    """Hit counts of one source file: per line, and per (line, block, branch)."""

    lines: dict[int, int] = field(default_factory=dict)
    branches: dict[tuple[int, str, str], int] = field(default_factory=dict)

    @staticmethod
    def _percent(hits: list[int]) -> float:
        # No branch in a file means nothing is left untested.
        return 100.0 if not hits else 100.0 * sum(1 for h in hits if h > 0) / len(hits)

    def untested(self) -> str:
        """The source lines of unexecuted statements and untaken branches, for the reader."""
        lines = sorted(at for at, hits in self.lines.items() if hits == 0)
        branches = sorted({at for (at, _, _), hits in self.branches.items() if hits == 0})
        return f"untested lines {_ranges(lines)}; untaken branches at lines {_ranges(branches)}"

    @property
    def line_percent(self) -> float:
        return self._percent(list(self.lines.values()))

    @property
    def branch_percent(self) -> float:
        return self._percent(list(self.branches.values()))


def _ranges(numbers: list[int]) -> str:
    if not numbers:
        return "none"
    spans: list[list[int]] = []
    for n in numbers:
        if spans and n == spans[-1][1] + 1:
            spans[-1][1] = n
        else:
            spans.append([n, n])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in spans)


class LcovError(ValueError):
    """The lcov report is missing or malformed."""


def parse_lcov(text: str) -> dict[str, FileCoverage]:
    """Per source file, summed over every record of it (forge may write one per test suite)."""
    files: dict[str, FileCoverage] = defaultdict(FileCoverage)
    current: FileCoverage | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        tag, _, value = line.partition(":")
        try:
            if tag == "SF":
                current = files[value]
            elif tag == "end_of_record":
                current = None
            elif tag in ("DA", "BRDA"):
                if current is None:
                    raise LcovError(f"line {number}: {tag} outside a source file record")
                fields = value.split(",")
                if tag == "DA":
                    at = int(fields[0])
                    current.lines[at] = current.lines.get(at, 0) + int(fields[1])
                else:
                    key = (int(fields[0]), fields[1], fields[2])
                    taken = 0 if fields[3] == "-" else int(fields[3])
                    current.branches[key] = current.branches.get(key, 0) + taken
        except (IndexError, ValueError) as err:
            if isinstance(err, LcovError):
                raise
            raise LcovError(f"line {number}: cannot read {line!r}") from err
    return dict(files)


def gate(files: dict[str, FileCoverage], floor: float) -> tuple[list[str], list[str]]:
    """(report lines, failures)."""
    by_contract = {Path(path).stem: path for path in files}
    report = [f"{'file':<48} {'lines':>8} {'branches':>9}"]
    failures: list[str] = []
    for path in sorted(files):
        cov = files[path]
        report.append(f"{path:<48} {cov.line_percent:>7.1f}% {cov.branch_percent:>8.1f}%")
    for name in DEPLOYABLE:
        if name not in by_contract:
            if name in NO_OWN_CODE:
                report.append(f"{name}: no code of its own ({NO_OWN_CODE[name]})")
            else:
                failures.append(f"{name}: not in the coverage report")
            continue
        cov = files[by_contract[name]]
        low = [
            f"{what} {percent:.1f}% < {floor:g}%"
            for what, percent in (("lines", cov.line_percent), ("branches", cov.branch_percent))
            if percent < floor
        ]
        if low:
            failures.append(f"{name}: {', '.join(low)} ({by_contract[name]}: {cov.untested()})")
    return report, failures


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("lcov", type=Path)
    parser.add_argument("--min-percent", type=float, default=90.0)
    args = parser.parse_args(argv)
    try:
        files = parse_lcov(args.lcov.read_text())
    except (OSError, LcovError) as err:
        print(f"coverage gate: cannot read {args.lcov}: {err}")
        return 2
    report, failures = gate(files, args.min_percent)
    print("\n".join(report))
    if failures:
        print(f"coverage gate: FAIL, below {args.min_percent:g}% lines and branches:")
        print("\n".join("  " + f for f in failures))
        return 1
    print(f"coverage gate: OK, every deployable contract has >= {args.min_percent:g}% lines and branches")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
