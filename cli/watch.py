"""``sohoa watch [DIR]``: take every scan saved into a folder, until stopped.

Kept apart from :mod:`cli.app`; the work is :func:`flows.watch.run_watch` (the loop is
:mod:`services.watch`, the folder's rules :mod:`storage.watchfolder`). This module only
reads the options, prints the watcher's lines in the clerk's language and turns Ctrl-C
or SIGTERM into the exit codes every ``sohoa`` command uses (130, 143). It does not
import Prefect unless a Prefect server is configured.
"""

from __future__ import annotations

import logging
import os
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from sohoa.messages import current_lang


def watch(
    folder: Annotated[
        Path | None,
        typer.Argument(help="Thư mục theo dõi / folder to watch (default: watch.folder)"),
    ] = None,
    poll: Annotated[
        bool,
        typer.Option(
            "--poll", help="Quét định kỳ, cho ổ mạng / poll, for a network share (SMB, NFS)"
        ),
    ] = False,
    interval: Annotated[
        float | None,
        typer.Option("--interval", min=0.05, help="Giây giữa hai lần quét / seconds between scans"),
    ] = None,
    settle: Annotated[
        float | None,
        typer.Option(
            "--settle", min=0, help="Giây tệp phải đứng yên / seconds a file must stay unchanged"
        ),
    ] = None,
) -> None:
    """Theo dõi thư mục quét / Watch a scan folder: every finished scan saved into it (or
    into DIR/<unit>/<kind>/) is archived, then removed; refused files go to DIR/loi/ with
    the reason. Runs until Ctrl-C or SIGTERM (exit 130, 143)."""
    from cli.common import guard, load_settings, stopped_cleanly
    from pdf.keys.policy import require_signing_key

    settings = _with_options(guard(load_settings), poll=poll, interval=interval, settle=settle)
    guard(lambda: require_signing_key(settings))  # no key: say so now, not at the first scan
    root = (folder or settings.watch_dir).expanduser().absolute()
    if folder is None and settings.watch.folder is None:
        root.mkdir(parents=True, exist_ok=True)  # sohoa's own default folder: made for the user
    _quiet_batch_logs()
    from flows.watch import run_watch

    with stopped_cleanly(
        stopped_in_batch="watch_stopped_batch", stopped="watch_stopped"
    ) as current:
        run_watch(settings, folder=root, report=_Printer(current))


def _with_options(settings, *, poll: bool, interval: float | None, settle: float | None):
    """The settings with the command line's choices over ``settings.watch``."""
    update: dict[str, Any] = {"poll": True} if poll else {}
    if interval is not None:
        update["poll_interval_s"] = interval
    if settle is not None:
        update["settle_s"] = settle
    if not update:
        return settings
    return settings.model_copy(update={"watch": settings.watch.model_copy(update=update)})


def _quiet_batch_logs() -> None:
    """Only the watcher's own lines, unless ``-v``: the run's log as Prefect would print it."""
    verbose = bool(os.environ.get("SOHOA_VERBOSE"))
    if verbose:
        logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("sohoa").setLevel(logging.INFO if verbose else logging.CRITICAL)


class _Printer:
    """The watcher's reports as timestamped lines on stderr, in the clerk's language; keeps
    ``current["batch"]`` (the batch being digitised) for the message on a stop."""

    def __init__(self, current: dict[str, str | None]) -> None:
        self.current = current

    def __call__(self, level: int, key: str, **params: Any) -> None:
        from cli.common import console
        from services.watch import render

        self.current["batch"] = params.get("batch") if key == "watch_received" else None
        style = "yellow" if level >= logging.WARNING else "dim"
        stamp = f"[{style}]{datetime.now():%H:%M:%S}[/]"
        console.print(f"{stamp} {render(key, current_lang(), **params)}", highlight=False)
