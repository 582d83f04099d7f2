"""The JSON files of live operation (manifests, proposals, approvals, the operator's state):
written whole or not at all, read back with one clear error."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from gridledger.errors import GridLedgerError


def write_json_atomically(path: Path, document: object) -> None:
    """`document` to `path` through a temporary file renamed over it: a crash mid-write leaves
    the previous file, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-")
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        json.dump(document, out, indent=2)
        out.write("\n")
        out.flush()
        os.fsync(out.fileno())
    os.replace(temporary, path)


def read_json_object(path: Path, what: str, error: type[GridLedgerError]) -> dict[str, Any]:
    """The JSON object in `path`; `error` naming `what` the file should be if it is missing,
    unreadable or not an object."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as missing:
        raise error(f"no {what} at {path}") from missing
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as unreadable:
        raise error(f"cannot read the {what} {path}: {unreadable}") from unreadable
    if not isinstance(document, dict):
        raise error(f"{path} is not a {what}")
    return document
