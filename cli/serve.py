"""``sohoa serve``: run the web app with uvicorn (one process; see :mod:`web.security`).

It refuses to start without an active administrator, since nobody could then
create the other accounts from the browser. uvicorn's own access log is off: it
prints query strings, and searches carry citizens' names; the app logs one line
per request without them (logger ``sohoa.web.access``), through the personal-data
mask. Forwarded headers are believed only from ``web.trusted_proxies``.
"""

from __future__ import annotations

import copy
from typing import Annotated, Any

import typer

from sohoa.errors import ExitCode
from sohoa.messages import t


def _log_config() -> dict[str, Any]:
    """uvicorn's logging set-up, with sohoa's loggers printed through its handler."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["sohoa"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    config["loggers"]["web"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    return config


def serve(
    host: Annotated[str, typer.Option("--host", help="Địa chỉ lắng nghe / address")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535)] = 8000,
) -> None:
    """Chạy giao diện web / Serve the web app (http://127.0.0.1:8000/)."""
    from cli.common import console, guard, load_settings
    from services import users
    from sohoa import logmask

    logmask.install()
    settings = guard(load_settings)
    if guard(lambda: users.active_admins(settings)) == 0:
        console.print(t("serve_no_admin"), highlight=False)
        raise typer.Exit(int(ExitCode.CONFIG))
    import uvicorn

    from web.app import create_app

    app = guard(lambda: create_app(settings))
    console.print(t("serve_starting", host=host, port=port), highlight=False)
    uvicorn.run(
        app,
        host=host,
        port=port,
        proxy_headers=False,  # the app applies web.trusted_proxies itself
        server_header=False,
        access_log=False,
        log_config=_log_config(),
    )
