"""`make bench`: gas from receipts of real transactions on a local anvil.

Prints one `BENCH <name> <value> <unit>` line per metric. Gas is receipt `gasUsed`
(21,000 base + calldata + execution, cold state as a user meets it), amortised where the
name says so. The reading batch is measured once every device's 16-entry history ring has
been written through (after a device's first four hours, the state it stays in); the
first-round figure, which writes fresh storage, is printed too.
"""

from __future__ import annotations

from eth_utils.crypto import keccak

from gridledger.chain.abi import load_artifact
from gridledger.chain.deploy import deploy_local_system, named_account
from gridledger.chain.rpc import RpcChain, anvil_node
from gridledger.meter.signing import DeviceKey, MeterReading, encode_device_data, registry_domain_separator

BATCH = 100
HISTORY_LENGTH = 16
INTERVAL_S = 900
START_TIME = 1_750_000_500
FIRMWARE = keccak(text="bench-fw")
RATED_POWER_W = 10_000


_account = named_account


def _line(name: str, value: float, unit: str) -> None:
    print(f"BENCH {name} {value:.0f} {unit}", flush=True)


def run(chain: RpcChain) -> None:
    gateway, operator, regulator = (_account(n) for n in ("gateway", "operator", "regulator"))
    system = deploy_local_system(chain, [FIRMWARE])
    token, registry = load_artifact("EnergyToken"), load_artifact("SmartMeterRegistry")
    owners = [_account(f"prosumer-{i}") for i in range(BATCH + 1)]
    keys = [DeviceKey(keccak(text=f"meter-{i}")) for i in range(BATCH)]
    for i, owner in enumerate(owners):
        chain.transact(regulator, token, system.token, "setParticipant", owner, True, 276)
        if i < BATCH:
            data = encode_device_data(owner, i, 2, 0, RATED_POWER_W, FIRMWARE)
            chain.transact(operator, registry, system.registry, "registerDevice", keys[i].address, data)
    domain = registry_domain_separator(chain.chain_id, system.registry)
    first_interval = START_TIME - START_TIME % INTERVAL_S

    def submit_round(k: int) -> int:
        start = first_interval + k * INTERVAL_S
        chain.set_time(start + INTERVAL_S + 30)
        batch = [
            keys[i].sign_reading(
                MeterReading(i + 1, k + 1, start, 150 * (k + 1), 1_500 * (k + 1) + i, 0, FIRMWARE), domain
            )
            for i in range(BATCH)
        ]
        chain.transact(gateway, registry, system.registry, "submitReadings", batch)
        return chain.last_gas_used

    first_round = submit_round(0)
    for k in range(1, HISTORY_LENGTH):
        submit_round(k)
    steady = submit_round(HISTORY_LENGTH)
    _line("gas.meter.per_reading_batch100", steady / BATCH, "gas")
    _line("gas.meter.per_reading_batch100_first_ring_round", first_round / BATCH, "gas")

    # One reading from the device's own key (submitReading), an existing device.
    chain.set_time(first_interval + (HISTORY_LENGTH + 2) * INTERVAL_S + 30)
    chain.transact(
        keys[0].address, registry, system.registry, "submitReading", 1, 1_500 * (HISTORY_LENGTH + 2)
    )
    _line("gas.meter.single_reading", chain.last_gas_used, "gas")

    sender = owners[0]
    chain.transact(sender, token, system.token, "transferEnergy", owners[1], 10)
    chain.transact(sender, token, system.token, "transferEnergy", owners[1], 10)
    _line("gas.token.transfer_existing_holder", chain.last_gas_used, "gas")

    recipients = owners[1 : BATCH + 1]
    chain.transact(sender, token, system.token, "transferEnergyBatch", recipients, [1] * len(recipients))
    batch_gas = chain.last_gas_used
    chain.transact(sender, token, system.token, "transferEnergy", owners[1], 1)
    single_gas = chain.last_gas_used
    _line("gas.token.batch_transfer_per_recipient", (batch_gas - single_gas) / (len(recipients) - 1), "gas")


def main() -> None:
    with anvil_node(START_TIME) as url:
        run(RpcChain(url))


if __name__ == "__main__":
    main()
