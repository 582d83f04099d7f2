"""ABI encoding and decoding against the committed artifacts, revert errors included."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache, cached_property
from importlib import resources
from typing import Any

from eth_abi.abi import decode, encode

from gridledger.chain.hashing import keccak
from gridledger.chain.static_abi import decode_values, encode_arguments
from gridledger.errors import ArtifactError, ContractRevertError

DEPLOYABLE = (
    "GridAccessManager",
    "GovernanceMultisig",
    "EnergyToken",
    "SmartMeterRegistry",
    "EnergyMarket",
    "GridManagement",
    "CarbonCredit",
    "CarbonPool",
    "CarbonExchange",
    "TestStablecoin",
)


def _type_of(param: dict[str, Any]) -> str:
    """Canonical ABI type, expanding tuples (structs)."""
    kind = str(param["type"])
    if kind.startswith("tuple"):
        inner = ",".join(_type_of(c) for c in param["components"])
        return f"({inner}){kind[len('tuple') :]}"
    return kind


def topic_type(param: dict[str, Any]) -> str:
    """The ABI type an indexed event argument's topic holds: its own for a value type; for a
    dynamic one (bytes, string, arrays, structs) the topic is its keccak hash, a bytes32."""
    kind = _type_of(param)
    dynamic = kind in ("bytes", "string") or kind.endswith("]") or kind.startswith("(")
    return "bytes32" if dynamic else kind


@dataclass(frozen=True)
class EventLog:
    """A log as every backend reports it."""

    address: str
    topics: list[bytes]
    data: bytes
    transaction: str = ""  # which transaction emitted it (hash on JSON-RPC, a counter in-process)
    timestamp: int = 0  # unix time of the block that holds it
    block_number: int = 0  # where in the chain (set by the in-process EVM; 0 where unknown)
    log_index: int = 0


def event_topic(signature: str) -> bytes:
    return bytes(keccak(text=signature))


@dataclass(frozen=True)
class Artifact:
    name: str
    abi: list[dict[str, Any]]
    bytecode: bytes
    functions: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Runtime code as compiled, immutables' slots zero (what `deploy --check` compares with).
    deployed_bytecode: bytes = b""

    def function(self, name: str) -> dict[str, Any]:
        try:
            return self.functions[name]
        except KeyError as missing:
            raise ArtifactError(f"{self.name} has no function {name}") from missing

    def selector(self, name: str) -> bytes:
        return self._call_shape(name)[0]

    def input_types(self, name: str) -> list[str]:
        """The canonical ABI types of a function's arguments."""
        return list(self._call_shape(name)[1])

    def encode_call(self, name: str, args: tuple[Any, ...]) -> bytes:
        selector, inputs, _ = self._call_shape(name)
        return selector + encode_arguments(inputs, args)

    def decode_output(self, name: str, data: bytes) -> tuple[Any, ...]:
        return decode_values(self._call_shape(name)[2], data)

    def _call_shape(self, name: str) -> tuple[bytes, list[str], list[str]]:
        self.function(name)  # an unknown name raises ArtifactError
        return self._call_shapes[name]

    @cached_property
    def _call_shapes(self) -> dict[str, tuple[bytes, list[str], list[str]]]:
        """(selector, input types, output types) per function, worked out once: a simulation
        encodes tens of thousands of calls."""
        shapes: dict[str, tuple[bytes, list[str], list[str]]] = {}
        for name, entry in self.functions.items():
            inputs = [_type_of(p) for p in entry["inputs"]]
            selector = keccak(text=f"{name}({','.join(inputs)})")[:4]
            shapes[name] = (selector, inputs, [_type_of(p) for p in entry["outputs"]])
        return shapes

    def decode_event(self, log: EventLog) -> tuple[str, dict[str, Any]] | None:
        """(event name, arguments by name) if `log` is one of this contract's events."""
        if not log.topics:
            return None
        plan = self._event_plans.get(log.topics[0])
        if plan is None:
            return None
        name, indexed, plain_names, plain_types = plan
        values: dict[str, Any] = {}
        for (param_name, param_type), topic in zip(indexed, log.topics[1:], strict=True):
            values[param_name] = decode_values(param_type, topic)[0]
        for param_name, value in zip(plain_names, decode_values(plain_types, log.data), strict=True):
            values[param_name] = value
        return name, values

    @cached_property
    def _event_plans(
        self,
    ) -> dict[bytes, tuple[str, list[tuple[str, list[str]]], list[str], list[str]]]:
        """Per topic: the event's name, its indexed arguments (name, [type]) and its data
        arguments' names and types, worked out once: an indexer decodes every log."""
        plans: dict[bytes, tuple[str, list[tuple[str, list[str]]], list[str], list[str]]] = {}
        for topic, entry in self._events_by_topic.items():
            indexed = [(str(p["name"]), [topic_type(p)]) for p in entry["inputs"] if p["indexed"]]
            plain = [p for p in entry["inputs"] if not p["indexed"]]
            plans[topic] = (
                str(entry["name"]),
                indexed,
                [str(p["name"]) for p in plain],
                [_type_of(p) for p in plain],
            )
        return plans

    def event_topic(self, name: str) -> bytes:
        entry = next((e for e in self.abi if e["type"] == "event" and e["name"] == name), None)
        if entry is None:
            raise ArtifactError(f"{self.name} has no event {name}")
        return event_topic(f"{name}({','.join(_type_of(p) for p in entry['inputs'])})")

    @cached_property
    def _events_by_topic(self) -> dict[bytes, dict[str, Any]]:
        return {
            event_topic(f"{e['name']}({','.join(_type_of(p) for p in e['inputs'])})"): e
            for e in self.abi
            if e["type"] == "event"
        }

    def encode_constructor(self, args: tuple[Any, ...]) -> bytes:
        ctor = next((e for e in self.abi if e["type"] == "constructor"), None)
        if ctor is None:
            return self.bytecode
        return self.bytecode + encode([_type_of(p) for p in ctor["inputs"]], list(args))


@cache
def load_artifact(name: str) -> Artifact:
    """The committed artifact `name` (see tools/export_artifacts.py)."""
    try:
        text = resources.files("gridledger.contracts").joinpath(f"{name}.json").read_text()
    except (FileNotFoundError, ModuleNotFoundError) as missing:
        raise ArtifactError(f"contract artifact {name} is missing; run `make contracts`") from missing
    raw = json.loads(text)
    functions = {e["name"]: e for e in raw["abi"] if e["type"] == "function"}
    return Artifact(
        name,
        raw["abi"],
        bytes.fromhex(raw["bytecode"].removeprefix("0x")),
        functions,
        bytes.fromhex(str(raw.get("deployedBytecode", "")).removeprefix("0x")),
    )


@cache
def _error_table() -> dict[bytes, tuple[str, list[str]]]:
    table: dict[bytes, tuple[str, list[str]]] = {}
    for name in DEPLOYABLE:
        for entry in load_artifact(name).abi:
            if entry["type"] == "error":
                types = [_type_of(p) for p in entry["inputs"]]
                selector = keccak(text=f"{entry['name']}({','.join(types)})")[:4]
                table[bytes(selector)] = (entry["name"], types)
    table[bytes(keccak(text="Error(string)")[:4])] = ("Error", ["string"])
    return table


def revert_error(data: bytes) -> ContractRevertError:
    """Decode revert data into a typed error carrying the custom error's name and arguments."""
    known = _error_table().get(data[:4])
    if known is None:
        return ContractRevertError("UnknownRevert", (data.hex(),), data)
    name, types = known
    return ContractRevertError(name, tuple(decode(types, data[4:])), data)
