"""What every route reads from the application: its settings, the catalog, the clock.

``create_app`` puts the settings and a clock on ``app.state``; routes reach them
through these functions (usable as FastAPI dependencies or called directly), so
a test can swap the clock to age a session without sleeping.
"""

from __future__ import annotations

from datetime import datetime

from starlette.requests import Request

from catalog.database import Catalog, open_catalog
from schemas.settings import Settings

__all__ = ["catalog_of", "now_of", "settings_of"]


def settings_of(request: Request) -> Settings:
    """The app's frozen settings."""
    return request.app.state.settings


def catalog_of(request: Request) -> Catalog:
    """The shared catalog (re-fetched each time, so a rebuilt catalog file is picked up)."""
    return open_catalog(settings_of(request).resolved_catalog_url)


def now_of(request: Request) -> datetime:
    """The current time, aware UTC, from the app's clock."""
    return request.app.state.clock()
