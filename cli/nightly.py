"""``sohoa nightly``: run the nightly flow once, here, and exit non-zero when it needs a person.

The same flow the ``nightly`` deployment runs on its schedule (``prefect.yaml``),
run in-process (or against ``PREFECT_API_URL``) for cron, CI or a first set-up.
The exit code is what monitoring branches on:

==  ==========================================================================
0   every waiting batch archived (or none waiting), the fixity sample intact
9   the fixity sample found a missing, changed or badly signed object (or an orphan)
8   a batch failed on an outage (store, catalog, time-stamp) or a step could not
    run; the originals wait in the inbox for the next night
7   a batch failed to sign (certificate, token); same
3-6 a batch was bad input and is in ``quarantine/`` (the batch's own exit code)
70  a batch or a step failed on an unexpected error
==  ==========================================================================

When several apply, the first in this order wins: fixity damage, failures,
quarantine. Batches whose attempts are used up were reported (non-zero) on the
night of their last attempt and do not fail later nights; they are listed.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer

from sohoa.errors import ExitCode
from sohoa.messages import t

if TYPE_CHECKING:  # the CLI starts without pydantic models it does not need
    from schemas.nightly import NightlySummary


def exit_code(summary: NightlySummary) -> ExitCode:
    """The process exit code for ``summary`` (see the module docstring)."""
    if summary.fixity_exit_code == ExitCode.VERIFY_FAILED:
        return ExitCode.VERIFY_FAILED
    failed = [b.exit_code for b in summary.batches if b.result == "failed"]
    failed += [e.exit_code for e in summary.step_errors]
    if summary.fixity_exit_code:
        failed.append(summary.fixity_exit_code)
    failed += [b.exit_code for b in summary.batches if b.result == "quarantined"]
    if not failed:
        return ExitCode.OK
    return ExitCode(failed[0] or ExitCode.INTERNAL)


def nightly(
    day: Annotated[
        str | None,
        typer.Option(
            "--day",
            help="Ngày báo cáo, mặc định hôm qua / day to report, default yesterday "
            "(yyyy-mm-dd, dd/mm/yyyy)",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Chạy việc hằng đêm một lần / Run the nightly job once: waiting batches, retries,
    a fixity sample, the day's and month-to-date reports.

    Exit: 0 all done; 9 the fixity sample found damage; 8 a batch or step failed on an
    outage (7 on signing) and waits for the next night; 3-6 a batch was quarantined;
    70 an unexpected error.
    """
    from cli.common import guard, load_settings, unexpected
    from flows.runtime import prepare_prefect
    from sohoa.dates import parse_day
    from sohoa.errors import BadDayError

    try:
        chosen = parse_day(day, option="--day") if day else None
    except BadDayError as exc:
        raise typer.BadParameter(t("nightly_bad_day", value=day), param_hint="--day") from exc
    settings = guard(load_settings)
    prepare_prefect(settings)
    from flows.nightly import run_nightly

    try:
        summary = guard(lambda: run_nightly(settings, day=chosen))
    except typer.Exit:
        raise
    except Exception as exc:  # noqa: BLE001 - one line for the user, the traceback with -v
        unexpected(exc, settings.data_dir)
        raise typer.Exit(int(ExitCode.INTERNAL)) from None
    code = exit_code(summary)
    _print_summary(summary, code, as_json)
    raise typer.Exit(int(code))


def _print_summary(summary: NightlySummary, code: ExitCode, as_json: bool) -> None:
    from cli.common import out

    if as_json:
        body = {**summary.model_dump(mode="json"), "exit_code": int(code)}
        out.print_json(json.dumps(body, ensure_ascii=False))
        return
    s = summary
    out.print(t("nightly_title", day=s.day.isoformat(), seconds=f"{s.duration_s:.1f}"))
    out.print(
        t(
            "nightly_batches",
            processed=s.processed,
            archived=s.archived,
            review=s.needs_review,
            failed=s.failed,
            quarantined=s.quarantined,
        ),
        highlight=False,
    )
    out.print(t("nightly_retries", retried=s.retried, skipped=s.skipped, busy=s.busy))
    for result in ("failed", "quarantined", "skipped", "busy"):
        for batch in s.batches:
            if batch.result == result:
                why = f" ({batch.error})" if batch.error else ""
                out.print(f"  {t('nightly_' + result)}: {batch.batch_id}{why}", highlight=False)
    for name in s.incomplete:
        out.print(f"  {t('nightly_incomplete')}: {name}", highlight=False)
    out.print(t("nightly_fixity", checked=s.fixity_checked, problems=s.fixity_problems))
    _print_reports(s)
    if s.backup_key:
        out.print(t("nightly_backup", object=s.backup_key, sealed=s.audit_sealed), highlight=False)
    for error in s.step_errors:
        out.print(t("nightly_step_failed", step=error.step, error=error.error), highlight=False)
    out.print(t("nightly_ok") if code == ExitCode.OK else t("nightly_attention", code=int(code)))


def _print_reports(summary: NightlySummary) -> None:
    from cli.common import out

    if summary.reports_skipped:
        out.print(t("nightly_reports_skipped", reason=summary.reports_skipped), highlight=False)
    elif summary.report_keys:
        out.print(t("nightly_reports", n=len(summary.report_keys)))
        for key in summary.report_keys:
            out.print(f"  {key}", highlight=False)
