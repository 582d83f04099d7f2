"""Running the API: uvicorn in a thread of its own, started and stopped by its handle.

In a thread, uvicorn takes no signals (it listens only from the main thread), so the caller
keeps them: `uvicorn.run` would re-raise the signal it caught once shut down, ending the process
before a caller's cleanup (the demo's anvil, an index connection) runs.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType
from typing import Any

import uvicorn

from gridledger.chain.rpc import free_port
from gridledger.errors import InputError

STARTUP_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class RunningApi:
    url: str  # http://host:port
    thread: threading.Thread

    def alive(self) -> bool:
        return self.thread.is_alive()


@contextmanager
def api_server(
    app: Any, host: str = "127.0.0.1", port: int | None = None, log_level: str = "warning"
) -> Iterator[RunningApi]:
    """Serve `app` until the block ends. InputError if it cannot listen."""
    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level=log_level, access_log=False))
    thread = threading.Thread(target=server.run, name="api-server", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise InputError(f"cannot serve on {host}:{port} (is the port taken?)")
            time.sleep(0.02)
        yield RunningApi(f"http://{host}:{port}", thread)
    finally:
        server.should_exit = True
        thread.join(timeout=STOP_TIMEOUT_S)


def serve_until_signalled(app: Any, host: str, port: int, log_level: str) -> None:
    """Serve `app` until SIGTERM or SIGINT, then return (so the caller's cleanup runs)."""
    stop = threading.Event()

    def request_stop(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        with api_server(app, host, port, log_level) as running:
            while running.alive() and not stop.wait(0.5):
                pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
