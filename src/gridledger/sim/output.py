"""Report outputs that are all new or all old: staged beside their destination, moved at the end.

A report folder is written into a hidden staging folder beside it (same file system, so moving
is a rename) and moved into place only once every file is written. A run that fails halfway
leaves the destination as it was; a truncated file in the old folder is never opened, only
replaced. Files in the destination that a report does not write are left alone, so `--out` may
point at a folder that holds other things.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from gridledger.errors import OutputError


def _existing_ancestor(path: Path) -> Path:
    for candidate in (path, *path.parents):
        if candidate.exists():
            return candidate
    return Path(".")  # a relative path's ancestors end at the working directory


def check_output_dir(out: Path, option: str = "--out") -> None:
    """Refuse `out` before any work if a report cannot be staged beside it and moved into it:
    it is a file, or its nearest existing folder is a file or cannot be written."""
    if out.exists() and not out.is_dir():
        raise OutputError(f"{option} {out} is a file, not a folder")
    _check_writable(out, option)


def check_output_file(path: Path, option: str = "--output") -> None:
    """Refuse `path` before any work if a file cannot be written there (see check_output_dir)."""
    if path.is_dir():
        raise OutputError(f"{option} {path} is a folder, not a file")
    _check_writable(path, option)


def _check_writable(path: Path, option: str) -> None:
    base = _existing_ancestor(path.parent)
    if not base.is_dir():
        raise OutputError(f"{option} {path} lies under {base}, which is a file, not a folder")
    # Creating the staging folder is the only test of writability that holds for every user
    # (root ignores permission bits) and every file system (read-only mounts).
    with _staging(path, option):
        pass


@contextmanager
def _staging(out: Path, option: str) -> Iterator[Path]:
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    except OSError as failed:
        raise OutputError(f"{option} {out} cannot be written: {failed.strerror or failed}") from failed
    try:
        yield staging
    finally:
        shutil.rmtree(staging, ignore_errors=True)


@contextmanager
def staged_dir(out: Path, superseded: Iterable[str] = (), option: str = "--out") -> Iterator[Path]:
    """Yields a staging folder beside `out`; once the block completes, its files replace their
    namesakes in `out` (created if missing), and those of the `superseded` names the block did
    not write are removed from `out` (an earlier report's files this one has no data for).
    If the block raises, `out` is untouched; an OSError of the block becomes an OutputError."""
    check_output_dir(out, option)
    with _staging(out, option) as staging:
        try:
            yield staging
        except OSError as failed:  # a full disk, a quota: the old folder stays as it was
            raise OutputError(f"cannot write the report for {out}: {failed.strerror or failed}") from failed
        try:
            if not out.exists():
                staging.rename(out)  # one rename: the whole folder appears at once
                return
            entries = sorted(staging.iterdir())
            blocked = [entry.name for entry in entries if (out / entry.name).is_dir()]
            if blocked:  # found before anything moves, so `out` stays whole
                raise OutputError(
                    f"cannot write the report into {out}: {', '.join(blocked)} are folders there"
                )
            for entry in entries:
                os.replace(entry, out / entry.name)
            produced = {entry.name for entry in entries}
            for name in set(superseded) - produced:
                if not (out / name).is_dir():
                    (out / name).unlink(missing_ok=True)
        except OSError as failed:
            raise OutputError(f"cannot move the report into {out}: {failed}") from failed


def write_text_atomic(path: Path, text: str, option: str = "--output") -> None:
    """Writes `text` to `path` through a temporary file beside it: `path` holds the old text or
    the new, never a part."""
    check_output_file(path, option)
    with _staging(path, option) as staging:
        written = staging / path.name
        try:
            written.write_text(text, encoding="utf-8")
            os.replace(written, path)
        except OSError as failed:
            raise OutputError(f"{option} {path} cannot be written: {failed.strerror or failed}") from failed
