"""What every ``sohoa`` command shares: the two consoles, the settings, the error guard.

Commands import these from here (not from :mod:`cli.app`, which imports the commands), so the
command modules and the app that assembles them form no import circle.
"""

from __future__ import annotations

import os
import signal
import threading
from contextlib import closing, contextmanager
from pathlib import Path

import typer
from rich.console import Console

from sohoa.errors import SohoaError, StopRequested
from sohoa.messages import current_lang, t


def _flags_show_no_type() -> None:
    """Help lists a flag alone (``--json``), not as ``--json <bool>``.

    Why: typer 0.29's help labels every option with its type, flags included, which
    reads as if ``--json`` took a value (``--json true``). A flag takes none, so its
    type column stays empty; every other option keeps its label (``--limit <int>``).
    """
    from typer.core import TyperOption

    labelled = TyperOption.display_type_rich
    if getattr(labelled, "sohoa_flags", False):
        return

    def display_type_rich(self, ctx):
        return None if self.is_flag else labelled(self, ctx)

    display_type_rich.sohoa_flags = True  # type: ignore[attr-defined]
    TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign]


_flags_show_no_type()
console = Console(stderr=True)
"""Messages, progress and errors: stderr, so stdout stays clean for tables and JSON."""
out = Console(soft_wrap=True)
"""Results (tables, JSON) on stdout."""


def load_settings():
    from schemas.settings import Settings

    try:
        return Settings()
    except Exception as exc:  # pydantic ValidationError: show it as a config error
        from sohoa.errors import ConfigError

        raise ConfigError(reason=str(exc).splitlines()[0]) from exc


def fail(exc: SohoaError) -> None:
    console.print(f"[bold red]{t('error')}:[/] {exc.render(current_lang())}", highlight=False)


def unexpected(exc: BaseException, data_dir: Path | None = None) -> None:
    """An error we did not foresee: one line for the user, the traceback with --verbose.

    The traceback also goes to ``data_dir/logs/errors.log`` (personal data masked), and the
    line says so: whoever supports the office, or a test that saw exit code 70, can read
    what happened without running the command again with ``-v``.
    """
    from sohoa.errors import SohoaError as _Base

    detail = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:300]
    logged = log_traceback(exc, data_dir) if data_dir else None
    if logged:
        fail(_Base("internal_logged", detail=detail, log=str(logged)))
    else:
        fail(_Base("internal", detail=detail))
    if os.environ.get("SOHOA_VERBOSE"):
        console.print_exception()


ERROR_LOG = Path("logs") / "errors.log"
"""Where :func:`unexpected` keeps tracebacks, under the data directory."""


def log_traceback(exc: BaseException, data_dir: Path) -> Path | None:
    """Append ``exc``'s traceback, masked, to the data directory's error log (kept to
    four files of 1 MB by :class:`logging.handlers.RotatingFileHandler`); ``None`` when
    the log cannot be written (a read-only data directory): the one-line message stays."""
    import logging
    import traceback
    from logging.handlers import RotatingFileHandler

    from sohoa.logmask import mask_personal_data

    path = Path(data_dir) / ERROR_LOG
    text = "".join(traceback.format_exception(exc))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = RotatingFileHandler(path, maxBytes=1_000_000, backupCount=3, encoding="utf-8")
    except OSError:
        return None
    with closing(handler):
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
        masked = (mask_personal_data(text),)
        handler.handle(logging.LogRecord("sohoa", logging.ERROR, "", 0, "%s", masked, None))
    return path


def guard(func):
    """Run a command body, turning domain errors into a message and an exit code."""
    try:
        return func()
    except SohoaError as exc:
        fail(exc)
        raise typer.Exit(int(exc.exit_code)) from None


@contextmanager
def stopped_cleanly(*, stopped_in_batch: str, stopped: str):
    """Ctrl-C or SIGTERM (systemd, ``docker stop``, a timeout) stops the command at once:
    the page programs are killed, and the clerk is told where the batch being read waits
    (message ``stopped_in_batch``, or ``stopped`` when none was) before the exit code 130
    (Ctrl-C) or 143 (SIGTERM). Yields a dict whose ``batch`` the command keeps up to date.
    """
    from sohoa.programs.run import stop_all

    def terminate(signum, _frame):
        raise StopRequested(signum)

    here = threading.current_thread() is threading.main_thread()  # where signals arrive
    previous = signal.signal(signal.SIGTERM, terminate) if here else None
    current: dict = {"batch": None}
    try:
        yield current
    except (KeyboardInterrupt, StopRequested) as stop:
        stop_all()
        number = stop.signum if isinstance(stop, StopRequested) else signal.SIGINT
        batch = current["batch"]
        console.print(t(stopped_in_batch, batch=batch) if batch else t(stopped))
        raise typer.Exit(128 + int(number)) from None
    finally:
        if here:
            signal.signal(signal.SIGTERM, previous)
