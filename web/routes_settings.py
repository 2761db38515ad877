"""The administrator's settings page (``/admin/settings``) and its twin ``/api/settings``.

Read-only by design (see :mod:`services.settings_view`): each setting with its value,
default, source and the environment variable or file key that changes it, plus the
machine checks of :mod:`services.system_check` (Tesseract and its Vietnamese data,
poppler, the signing certificate's expiry, the store, the catalog, free disk).
Secrets never leave the process: they read "set" or "not set".
"""

from __future__ import annotations

from itertools import groupby
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from services.settings_view import SettingRow, config_file, setting_rows
from services.system_check import Check, run_checks
from web.auth import Principal, require
from web.deps import settings_of
from web.pages import render
from web.roles import Permission

router = APIRouter()

AdminSettings = Annotated[Principal, Depends(require(Permission.SETTINGS))]


@router.get("/admin/settings", include_in_schema=False)
async def settings_page(request: Request, _: AdminSettings) -> Response:
    """Machine checks first (what breaks nights), then every setting by section."""
    settings = settings_of(request)
    checks = await run_in_threadpool(run_checks, settings)
    rows = setting_rows(settings)
    path, exists = config_file()
    return render(
        request,
        "admin_settings.html",
        checks=checks,
        sections=[(name, list(items)) for name, items in groupby(rows, key=lambda r: r.section)],
        config_path=str(path),
        config_exists=exists,
    )


class SettingsOut(BaseModel):
    """The effective settings (secrets as "set"/"not set") and the machine checks."""

    config_file: str
    config_file_exists: bool
    checks: list[Check]
    settings: list[SettingRow]


@router.get("/api/settings", tags=["admin"], response_model=SettingsOut)
async def api_settings(request: Request, _: AdminSettings) -> SettingsOut:
    """What ``/admin/settings`` shows, for monitoring scripts."""
    settings = settings_of(request)
    checks = await run_in_threadpool(run_checks, settings)
    path, exists = config_file()
    return SettingsOut(
        config_file=str(path),
        config_file_exists=exists,
        checks=checks,
        settings=setting_rows(settings),
    )
