"""What every web test file needs: FastAPI's TestClient and the page's CSRF token."""

from __future__ import annotations

import re
import warnings

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # Starlette suggests httpx2, which is not pinned here
    from fastapi.testclient import TestClient

__all__ = ["TestClient", "csrf_of"]


def csrf_of(html: str) -> str:
    """The CSRF token of the first form on ``html``."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "page has no CSRF field"
    return found.group(1)
