"""How much one chain carries of gridledger's work, from measured receipt gas.

The model takes the gas per operation that `make bench` measured (receipt `gasUsed` on anvil)
and a chain's throughput (gas per block, block time, per-transaction cap) and gives what the
whole chain would carry of one kind of work alone: meters reading every 15 minutes, matched
orders per market interval, carbon certificates per day. Real chains carry other traffic, so
these are upper bounds; the per-meter daily cost at a stated gas price is what a utility pays.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass

from gridledger.errors import InputError
from gridledger.market.book import INTERVAL_SECONDS

SECONDS_PER_DAY = 86_400
INTERVALS_PER_DAY = SECONDS_PER_DAY // INTERVAL_SECONDS
GWEI_PER_ETH = 10**9
# SmartMeterRegistry.MAX_BATCH_READINGS (a test reads it from the deployed contract).
MAX_BATCH_READINGS = 128

# The bench lines the model needs, and what each measures.
READING_GAS = "gas.meter.per_reading_batch100"
MATCHED_ORDER_GAS = "gas.market.per_matched_order_batch100"
CERTIFICATE_GAS = "gas.carbon.issue"
REQUIRED_LINES = {
    READING_GAS: "one meter reading in a batch of 100 (history ring wrapped)",
    MATCHED_ORDER_GAS: "one matched order of a 100-order settlement",
    CERTIFICATE_GAS: "issuing one carbon certificate",
}

_BENCH_LINE = re.compile(r"BENCH (\S+) (\S+) (.+)")


@dataclass(frozen=True)
class ChainThroughput:
    """A chain's gas throughput: `block_gas` every `block_seconds`, at most `transaction_gas_cap`
    per transaction."""

    name: str
    block_gas: int
    block_seconds: float
    transaction_gas_cap: int

    def __post_init__(self) -> None:
        if self.block_gas <= 0 or self.block_seconds <= 0 or self.transaction_gas_cap <= 0:
            raise InputError(f"{self.name}: block gas, block time and transaction cap must be positive")

    @property
    def gas_per_second(self) -> float:
        return self.block_gas / self.block_seconds


EIP_7825_CAP = 1 << 24
# Ethereum L1 after the 60M gas limit raise, with EIP-7825's per-transaction cap.
ETHEREUM_L1 = ChainThroughput("Ethereum L1", 60_000_000, 12.0, EIP_7825_CAP)


def l2(gas_per_second: int) -> ChainThroughput:
    """An L2 stated by its sustained gas rate (one-second blocks, EIP-7825's cap per transaction)."""
    return ChainThroughput(f"L2 at {gas_per_second / 1e6:g} Mgas/s", gas_per_second, 1.0, EIP_7825_CAP)


@dataclass(frozen=True)
class BenchFigures:
    """Receipt gas per operation, as `make bench` printed it."""

    reading_gas: int
    matched_order_gas: int
    certificate_gas: int

    @classmethod
    def parse(cls, lines: Iterable[str]) -> BenchFigures:
        """The figures from `make bench` output; raises InputError if a needed line is missing."""
        found: dict[str, int] = {}
        for line in lines:
            match = _BENCH_LINE.fullmatch(line.strip())
            if match is None or match.group(1) not in REQUIRED_LINES:
                continue
            name, value = match.group(1), match.group(2)
            try:
                gas = int(value)
            except ValueError:
                raise InputError(f"bench line {name} has {value!r}, not a whole gas figure") from None
            if gas <= 0:
                raise InputError(f"bench line {name} has {gas} gas; a measured operation costs gas")
            found[name] = gas
        missing = [f"{name} ({what})" for name, what in REQUIRED_LINES.items() if name not in found]
        if missing:
            raise InputError(
                f"the bench output lacks {', '.join(missing)}: run `make bench` and pass its output"
            )
        return cls(found[READING_GAS], found[MATCHED_ORDER_GAS], found[CERTIFICATE_GAS])


@dataclass(frozen=True)
class Capacity:
    """What one chain carries of each kind of work on its own, and a meter's daily cost."""

    chain: ChainThroughput
    meters: int  # reading every 15 minutes
    readings_per_transaction: int  # under the per-transaction cap and the registry's batch bound
    matched_orders_per_interval: int
    certificates_per_day: int
    meter_gas_per_day: int
    gas_price_gwei: float  # stated
    meter_cost_per_day_gwei: float

    @property
    def meter_cost_per_year_eth(self) -> float:
        return self.meter_cost_per_day_gwei * 365 / GWEI_PER_ETH


def capacity(chain: ChainThroughput, bench: BenchFigures, gas_price_gwei: float) -> Capacity:
    """The chain's capacity for gridledger's work at the bench's gas figures."""
    if not math.isfinite(gas_price_gwei) or gas_price_gwei < 0:
        raise InputError(f"gas price {gas_price_gwei} gwei: give a finite price of 0 or more")
    gas_per_interval = chain.gas_per_second * INTERVAL_SECONDS
    meter_gas_per_day = bench.reading_gas * INTERVALS_PER_DAY
    return Capacity(
        chain=chain,
        meters=int(gas_per_interval // bench.reading_gas),
        readings_per_transaction=min(MAX_BATCH_READINGS, chain.transaction_gas_cap // bench.reading_gas),
        matched_orders_per_interval=int(gas_per_interval // bench.matched_order_gas),
        certificates_per_day=int(chain.gas_per_second * SECONDS_PER_DAY // bench.certificate_gas),
        meter_gas_per_day=meter_gas_per_day,
        gas_price_gwei=gas_price_gwei,
        meter_cost_per_day_gwei=meter_gas_per_day * gas_price_gwei,
    )
