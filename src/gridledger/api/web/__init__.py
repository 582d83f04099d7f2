"""The participants' web app: static ES modules served by the API at `/web/` (`/` leads
there), no build step.

`index.html` and its modules call the read API under `/api/v1`, sign orders in the
participant's wallet (EIP-6963 / EIP-1193) and send the wallet's transactions with calldata
made by the vendored ethers (`vendor/`, copied from npm by `tools/vendor_web.py`). The ABI
fragments those transactions need come from the committed artifacts, served at
`/web/abi.json`, so the page never carries a copy that could go stale.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse, RedirectResponse
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

WEB_DIR = Path(__file__).resolve().parent
ABI_PATH = "/web/abi.json"
# Only this origin's scripts and API; the wallet talks to its node itself (an extension), so the
# page needs no other origin. Inline styles stay allowed: the charts size their canvas inline.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)

# What the app calls on each contract; errors are always included, to decode reverts.
ABI_FUNCTIONS: dict[str, tuple[str, ...]] = {
    "EnergyMarket": (
        "accountOf",
        "paymentToken",
        "depositPayment",
        "withdrawPayment",
        "depositEnergy",
        "withdrawEnergy",
        "invalidateNonces",
        "PAIR_ID",
    ),
    "TestStablecoin": ("approve", "allowance", "balanceOf", "decimals", "symbol"),
    "EnergyToken": ("balanceOf", "liveBuckets", "epochSeconds", "expiryOf"),
    "CarbonCredit": ("retireCertificateCredits", "liveBalanceOf", "certificateExpiry"),
}


@cache
def web_abis() -> dict[str, list[dict[str, Any]]]:
    """The ABI fragments the web app needs, from the committed artifacts."""
    out: dict[str, list[dict[str, Any]]] = {}
    for contract, functions in ABI_FUNCTIONS.items():
        text = resources.files("gridledger.contracts").joinpath(f"{contract}.json").read_text("utf-8")
        abi: list[dict[str, Any]] = json.loads(text)["abi"]
        out[contract] = [
            entry
            for entry in abi
            if entry["type"] == "error" or (entry["type"] == "function" and entry["name"] in functions)
        ]
    return out


class _WebFiles(StaticFiles):
    """The folder, with index.html for the folder itself and no Python file served."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        if path.endswith((".py", ".pyc")) or "__pycache__" in path:
            raise HTTPException(status_code=404)
        response = await super().get_response(path, scope)
        response.headers.setdefault("Cache-Control", "no-cache")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        return response


def mount_web(app: FastAPI) -> None:
    """Serve the web app under /web/ (index.html) with its files beside it, and send `/` there.
    The mount is a path of its own, so the API's paths keep their own 404 and 405 problems."""

    @app.get("/", include_in_schema=False)
    def start() -> RedirectResponse:
        return RedirectResponse("/web/")

    @app.get(ABI_PATH, include_in_schema=False)
    def abi() -> JSONResponse:
        return JSONResponse(web_abis(), headers={"Cache-Control": "no-cache"})

    app.mount("/web", _WebFiles(directory=WEB_DIR, html=True), name="web")
