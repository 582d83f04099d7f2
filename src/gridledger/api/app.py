"""The FastAPI application: the routers under /api/v1, problem bodies, and HTTP caching.

Caching: every successful GET carries an ETag made from the indexer's cursor block and reorg
count, the request's path and query, and the body itself, and a short Cache-Control; a client
sending it back in If-None-Match gets 304. The body is part of the tag because some answers
(an interval's published book) can change without the index moving.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI, Request, Response
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import Engine

from gridledger.api import problems
from gridledger.api.core.common import MAX_RANGE_S
from gridledger.api.core.orders import Inbox
from gridledger.api.routes import orders, reads
from gridledger.api.web import mount_web
from gridledger.indexer.indexer import IndexerState, read_state
from gridledger.ops.operator import DEFAULT_GATE_DELAY_S

API_PREFIX = "/api/v1"


@dataclass(frozen=True)
class ApiSettings:
    orders_dir: Path | None = None  # the operator's inbox; None: POST/DELETE /orders answer 503
    state_dir: Path | None = None  # the operator's state folder, for published books
    gate_delay_s: int = DEFAULT_GATE_DELAY_S  # the operator's, to know when a gate closes
    max_range_s: int = MAX_RANGE_S
    cache_max_age_s: int = 5
    public_rpc_url: str | None = None  # a node wallets may add for this chain (/status)


def _indexer_state(engine: Engine) -> IndexerState | None:
    with engine.connect() as connection:
        return read_state(connection)


def create_app(engine: Engine, settings: ApiSettings | None = None, inbox: Inbox | None = None) -> FastAPI:
    """The API over `engine`'s index. `inbox` overrides the one made from `settings.orders_dir`
    (tests give it a clock)."""
    settings = settings or ApiSettings()
    app = FastAPI(
        title="gridledger API",
        version="1",
        description="Reads of the gridledger index, and order intake for the live market operator.",
        docs_url="/docs",
        openapi_url=f"{API_PREFIX}/openapi.json",
    )
    app.state.engine = engine
    app.state.settings = settings
    if inbox is None and settings.orders_dir is not None:
        inbox = Inbox(settings.orders_dir, settings.gate_delay_s, state=settings.state_dir)
    app.state.inbox = inbox
    problems.install(app)
    for router in reads.ROUTERS:
        app.include_router(router, prefix=API_PREFIX)
    app.include_router(orders.router, prefix=API_PREFIX)

    @app.middleware("http")
    async def etag(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        if (
            request.method != "GET"
            or response.status_code != 200
            or not request.url.path.startswith(API_PREFIX)
        ):
            return response
        body = b"".join([chunk async for chunk in response.body_iterator])  # type: ignore[attr-defined]
        # In the threadpool: a connection wait on the event loop would stall the very requests
        # whose teardown gives connections back.
        state = await run_in_threadpool(_indexer_state, engine)
        position = "-" if state is None else f"{state.cursor_block}.{state.reorgs}"
        digest = hashlib.sha256(f"{position}|{request.url.path}?{request.url.query}|".encode() + body)
        tag = f'"{position}-{digest.hexdigest()[:32]}"'
        headers = {"ETag": tag, "Cache-Control": f"public, max-age={settings.cache_max_age_s}"}
        if tag in [t.strip() for t in request.headers.get("if-none-match", "").split(",")]:
            return Response(status_code=304, headers=headers)
        out = Response(body, status_code=200, media_type=response.media_type, headers=dict(response.headers))
        out.headers.update(headers)
        return out

    # The web app (under /web, with / leading there).
    mount_web(app)
    return app
