"""The one exception base of gridledger and its specific subclasses."""

from __future__ import annotations


class GridLedgerError(Exception):
    """Base of every error gridledger raises on purpose."""


class ArtifactError(GridLedgerError):
    """A committed contract artifact is missing or unreadable."""


class ChainError(GridLedgerError):
    """The chain backend failed for a reason other than a contract revert."""


class ContractRevertError(GridLedgerError):
    """A call or transaction reverted; `error_name` and `args` decode the custom error."""

    def __init__(self, error_name: str, args: tuple[object, ...] = (), raw: bytes = b"") -> None:
        self.error_name = error_name
        self.error_args = args
        self.raw = raw
        super().__init__(f"{error_name}{args!r}" if args else error_name)


class MultisigError(GridLedgerError):
    """A governance operation could not be signed or executed."""


class GatewayError(GridLedgerError):
    """The meter gateway could not deliver readings."""


class MarketError(GridLedgerError):
    """The market could not take an order, settle or verify an interval."""


class OrderRejected(MarketError):
    """An order was refused at the book; `reason` says why in a word."""

    def __init__(self, reason: str, detail: str) -> None:
        self.reason = reason
        super().__init__(f"order rejected ({reason}): {detail}")


class InvalidBookSide(MarketError):
    """Clearing input the engine cannot clear exactly: wrong dtype or shape, unequal lengths,
    negative or over-limit values, duplicate tie-break keys, or more orders than a side admits."""


class ReadingRefused(GatewayError):
    """The gateway would not queue a reading; `reason` is UnknownDevice or BadSignature."""

    def __init__(self, device_id: int, sequence: int, reason: str) -> None:
        self.device_id = device_id
        self.sequence = sequence
        self.reason = reason
        super().__init__(f"reading {sequence} of device {device_id} refused: {reason}")


class ScenarioError(GridLedgerError):
    """A simulation scenario cannot be built (unknown grid, day outside the profiles, bad size)."""


class SimulationError(GridLedgerError):
    """A simulation run failed or its results do not reconcile with the chain."""


class GridModelError(GridLedgerError):
    """The network model cannot be built or its power flow does not converge."""


class CarbonError(GridLedgerError):
    """Carbon credits could not be issued, retired or reported."""


class InputError(GridLedgerError):
    """A command-line input is malformed or out of range (an address, a URL, a number)."""


class OutputError(GridLedgerError):
    """A report's output folder or file cannot be written."""


class PkiError(GridLedgerError):
    """The meters' certificate authority refused: no CA, a name taken or unknown, an unreadable file."""


class BrokerError(GridLedgerError):
    """The MQTT broker cannot be configured, started or stopped (Mosquitto missing, no port)."""


class IndexerError(GridLedgerError):
    """The indexer cannot index: another deployment's database, a value a column cannot hold,
    a node that does not answer."""


class ApiError(GridLedgerError):
    """A request the API cannot answer as asked; `status` and `kind` become its problem body."""

    def __init__(self, status: int, kind: str, title: str, detail: str, **extra: object) -> None:
        self.status = status
        self.kind = kind
        self.title = title
        self.detail = detail
        self.extra = extra
        super().__init__(f"{title}: {detail}")
