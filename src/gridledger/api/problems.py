"""RFC 9457 problem details: every error the API answers is an `application/problem+json`
body with type, title, status, detail and instance, so clients handle one shape.

Anything a client can send ends as a 4xx problem: validation errors list the bad fields, an
unknown route is a 404 problem, and an unexpected failure is a 500 problem without internals
(logged with its traceback), never a bare text page.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from gridledger.errors import ApiError

PROBLEM_TYPE_BASE = "https://gridledger.dev/problems/"
MEDIA_TYPE = "application/problem+json"

log = logging.getLogger("gridledger.api")


def problem(request: Request, status: int, kind: str, title: str, detail: str, **extra: Any) -> JSONResponse:
    body = {
        "type": PROBLEM_TYPE_BASE + kind,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        **extra,
    }
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE)


async def _api_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, ApiError)
    return problem(request, error.status, error.kind, error.title, error.detail, **error.extra)


async def _validation_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    errors = [
        {
            "field": ".".join(str(part) for part in item.get("loc", ()) if part != "body") or "body",
            "in": str(item.get("loc", ("body",))[0]),
            "message": str(item.get("msg", "invalid")),
        }
        for item in error.errors()
    ]
    fields = ", ".join(e["field"] for e in errors)
    return problem(request, 422, "validation-error", "Invalid request", f"invalid: {fields}", errors=errors)


async def _http_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    titles = {404: "Not found", 405: "Method not allowed"}
    kind = {404: "not-found", 405: "method-not-allowed"}.get(error.status_code, "http-error")
    detail = str(error.detail) if error.status_code != 404 else f"no resource at {request.url.path}"
    response = problem(request, error.status_code, kind, titles.get(error.status_code, "Error"), detail)
    if error.headers:
        response.headers.update(error.headers)
    return response


async def _unexpected(request: Request, error: Exception) -> JSONResponse:
    log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=error)
    return problem(request, 500, "internal-error", "Internal error", "the server failed; see its log")


def install(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
