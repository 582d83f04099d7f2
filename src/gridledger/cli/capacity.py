"""`gridledger capacity`: how many meters, traders and certificates one chain carries."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from gridledger.chain.capacity import ETHEREUM_L1, BenchFigures, Capacity, capacity, l2
from gridledger.errors import InputError


class Format(StrEnum):
    table = "table"
    markdown = "markdown"


DEFAULT_BENCH = Path("reports/bench.txt")
HEADERS = (
    "chain",
    "meters (15-min readings)",
    "readings per transaction",
    "matched orders per interval",
    "certificates per day",
    "gas per meter per day",
    "gas price (gwei)",
    "cost per meter per day (gwei)",
    "cost per meter per year (ETH)",
)


def capacity_command(
    bench: Annotated[
        Path, typer.Option(help="Output of `make bench` (its BENCH lines are read).")
    ] = DEFAULT_BENCH,
    l2_gas_per_second: Annotated[
        int, typer.Option(help="Sustained gas rate of the L2 to compare, gas per second.", min=1)
    ] = 20_000_000,
    l1_gas_price_gwei: Annotated[
        float, typer.Option(help="L1 gas price for the cost per meter, gwei.", min=0.0)
    ] = 1.0,
    l2_gas_price_gwei: Annotated[
        float,
        typer.Option(help="L2 execution gas price, gwei (its L1 data fee is not included).", min=0.0),
    ] = 0.01,
    output_format: Annotated[Format, typer.Option("--format", help="table or markdown.")] = Format.table,
) -> None:
    """What one chain carries of each kind of work alone, at the gas `make bench` measured: meters
    reading every 15 minutes, matched orders per market interval, carbon certificates per day, for
    Ethereum L1 (60M gas / 12 s, 2^24 gas per transaction) and an L2 at a stated gas rate; and the
    gas and cost per meter per day at stated gas prices."""
    try:
        text = bench.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as unreadable:
        raise InputError(f"cannot read the bench output {bench}: {unreadable}") from unreadable
    figures = BenchFigures.parse(text.splitlines())
    results = [
        capacity(ETHEREUM_L1, figures, l1_gas_price_gwei),
        capacity(l2(l2_gas_per_second), figures, l2_gas_price_gwei),
    ]
    rows = [_row(result) for result in results]
    if output_format == Format.markdown:
        typer.echo(_markdown(rows, figures))
        return
    table = Table(title="What one chain carries of each kind of work alone")
    for header in HEADERS:
        table.add_column(header, justify="left" if header == "chain" else "right")
    for row in rows:
        table.add_row(*row)
    Console(width=200).print(table)


def _row(result: Capacity) -> tuple[str, ...]:
    return (
        result.chain.name,
        f"{result.meters:,}",
        f"{result.readings_per_transaction:,}",
        f"{result.matched_orders_per_interval:,}",
        f"{result.certificates_per_day:,}",
        f"{result.meter_gas_per_day:,}",
        f"{result.gas_price_gwei:g}",
        f"{result.meter_cost_per_day_gwei:,.0f}",
        f"{result.meter_cost_per_year_eth:.6f}",
    )


def _markdown(rows: list[tuple[str, ...]], figures: BenchFigures) -> str:
    lines = [
        f"Receipt gas per reading {figures.reading_gas:,}, per matched order "
        f"{figures.matched_order_gas:,}, per certificate {figures.certificate_gas:,}.",
        "",
        "| " + " | ".join(HEADERS) + " |",
        "|---|" + "---:|" * (len(HEADERS) - 1),
    ]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)
