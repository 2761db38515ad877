"""The role's home page (``GET /``) and the health check (``GET /health``, no sign-in)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from catalog import accounts
from sohoa import __version__
from sohoa.errors import SohoaError
from web.auth import Principal, require
from web.deps import catalog_of
from web.pages import render

router = APIRouter()


@router.get("/", include_in_schema=False)
def home(request: Request, principal: Annotated[Principal, Depends(require())]) -> Response:
    """What the signed-in user's role can do, with links to the pages that exist."""
    return render(request, "home.html")


@router.get("/health", tags=["health"], summary="Liveness and catalog check (no sign-in)")
def health(request: Request) -> JSONResponse:
    """``{"status": "ok"}`` when the catalog answers, 503 otherwise; says nothing else."""
    try:
        accounts.count_admins(catalog_of(request))
    except SohoaError:
        return JSONResponse({"status": "unavailable", "version": __version__}, status_code=503)
    return JSONResponse({"status": "ok", "version": __version__})
