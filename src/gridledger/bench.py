"""`make bench`: gas from receipts of real transactions on a local anvil.

Prints one `BENCH <name> <value> <unit>` line per metric. Gas is `gasUsed` of receipts
(21,000 base + calldata + execution, cold state as a user meets it), amortised where the
name says so. The reading batch is measured after each device's 16-entry history ring has
been filled once, which is the state every device is in after its first four hours.
"""

from __future__ import annotations

BATCH = 100
HISTORY_LENGTH = 16
INTERVAL_S = 900
START_TIME = 1_750_000_000


def _line(name: str, value: float, unit: str) -> None:
    print(f"BENCH {name} {value:.0f} {unit}", flush=True)


def main() -> None:
    raise SystemExit("bench wiring pending")


if __name__ == "__main__":
    main()
