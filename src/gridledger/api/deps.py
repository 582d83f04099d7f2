"""Request parameters shared by the routers: a database connection per request, pagination,
time ranges and path addresses."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Path, Query, Request
from sqlalchemy import Connection, Engine

from gridledger.api.core.common import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    PageRequest,
    TimeRange,
    address,
    decode_cursor,
    latest_block_time,
    time_range,
)


def connection(request: Request) -> Iterator[Connection]:
    """One read transaction per request: every query of a response sees the same index."""
    engine: Engine = request.app.state.engine
    with engine.connect() as opened, opened.begin():
        yield opened


Db = Annotated[Connection, Depends(connection)]


def page(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page.")] = DEFAULT_LIMIT,
    cursor: Annotated[
        str | None, Query(max_length=512, description="`next_cursor` of the previous page.")
    ] = None,
) -> PageRequest:
    return PageRequest(limit, None if cursor is None else decode_cursor(cursor))


Paging = Annotated[PageRequest, Depends(page)]


def span(
    request: Request,
    db: Db,
    start: Annotated[
        int | None, Query(alias="from", ge=0, le=2**63 - 1, description="Unix seconds, inclusive.")
    ] = None,
    end: Annotated[
        int | None, Query(alias="to", ge=0, le=2**63 - 1, description="Unix seconds, exclusive.")
    ] = None,
) -> TimeRange:
    """[from, to): `to` defaults to just after the newest indexed block, `from` to the longest
    range before it; more than the server's cap is a 400 problem."""
    return time_range(start, end, latest_block_time(db), request.app.state.settings.max_range_s)


Span = Annotated[TimeRange, Depends(span)]


def path_address(holder: Annotated[str, Path(description="0x and 40 hex digits.")]) -> str:
    return address(holder, "address")


Address = Annotated[str, Depends(path_address)]
