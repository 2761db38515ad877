"""``sohoa verify``, ``catalog rebuild`` and ``catalog backup``: prove the archive (and the
audit trail) intact, rebuild the index, back up what only the catalog holds.

Kept apart from :mod:`cli.app` so the main command module stays readable; it uses
the same guard, consoles and library calls (:mod:`services.integrity`). Neither command
imports Prefect: they run the plain functions of :mod:`records.fixity` and
:mod:`records.rebuild` on a thread pool and start in well under a second.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from cli.progress import CountBar
from sohoa.errors import ExitCode, exit_code_of
from sohoa.messages import current_lang, t

catalog_app = typer.Typer(
    no_args_is_help=True, help="Danh mục tra cứu / The search catalog (an index of the archive)"
)


def verify(
    record_id: Annotated[str | None, typer.Argument(help="Mã bản ghi / record id")] = None,
    all_records: Annotated[
        bool, typer.Option("--all", help="Mọi bản ghi và đối tượng mồ côi / every record, orphans")
    ] = False,
    sample: Annotated[
        str | None,
        typer.Option(
            "--sample",
            help="N bản ghi hoặc tỉ lệ, ngẫu nhiên / N records or a fraction (0.1, 10%), at random",
        ),
    ] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Hạt giống mẫu / sample seed")] = None,
    workers: Annotated[
        int | None, typer.Option("--workers", min=1, help="Luồng (≤ số lõi) / threads (≤ cores)")
    ] = None,
    audit: Annotated[
        bool,
        typer.Option(
            "--audit", help="Kiểm tra chuỗi nhật ký kiểm toán trong kho / check the audit trail"
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Kiểm tra toàn vẹn và chữ ký / Check integrity and signatures."""
    from cli.common import console, guard, load_settings

    if audit and not record_id and not all_records and sample is None:
        raise typer.Exit(_verify_audit(as_json))
    if not record_id and not all_records and sample is None:
        console.print(t("verify_usage"))
        raise typer.Exit(int(ExitCode.USAGE))
    audit_code = _verify_audit(as_json) if audit else int(ExitCode.OK)
    chosen = _parse_sample(sample)
    whole = all_records or chosen is not None
    with CountBar(console, t("progress_verify"), enabled=not as_json) as bar:
        report = guard(
            lambda: _check(
                load_settings(),
                record_id=None if whole else record_id,
                sample=chosen,
                seed=seed,
                workers=workers,
                progress=bar,
            )
        )
    _print_report(report, as_json)
    raise typer.Exit(audit_code or int(exit_code_of(report.error_kind)))


def _verify_audit(as_json: bool) -> int:
    """Walk the sealed audit segments, print one line per problem; the exit code."""
    from cli.common import guard, load_settings, out
    from services import integrity

    found = guard(lambda: integrity.verify_audit(load_settings()))
    if as_json:
        out.print_json(json.dumps({"audit": found.to_dict()}, ensure_ascii=False))
        return int(exit_code_of(found.error_kind))
    fail = "[bold red]LỖI[/]" if current_lang() == "vi" else "[bold red]FAIL[/]"
    for p in found.problems:
        line = t(f"audit_problem_{p.code}", segment=p.segment, entry=p.entry, detail=p.detail)
        out.print(f"{fail} {line}", highlight=False)
    key = "audit_verified" if found.ok else "audit_damaged"
    out.print(t(key, segments=found.segments, entries=found.entries, head=found.head[:16]))
    if not found.anchored:
        out.print(t("audit_no_anchor"), highlight=False)
    return int(exit_code_of(found.error_kind))


def _check(settings, *, record_id: str | None, **options):
    """One record, or the archive (all or a sample) recorded in the fixity history as ``cli``.

    Why only the archive-wide checks are recorded: the history answers "when was the
    archive last read back"; one record's check is a look at that record. Its counts go
    into its history row as it goes (and the bar), so ``/verify`` on any web server shows
    a check run here.
    """
    from records import fixity_runs
    from services import integrity

    if record_id is not None:
        return integrity.check_archive(settings, record_id=record_id, **options)
    bar = options.pop("progress", None)
    return fixity_runs.recorded_live(
        settings,
        lambda sink: integrity.check_archive(settings, progress=sink, **options),
        started_by="cli",
        sample=options.get("sample"),
        progress=bar,
    )


def _parse_sample(sample: str | None) -> float | None:
    from records.fixity import parse_sample

    if sample is None:
        return None
    try:
        return parse_sample(sample)
    except ValueError as exc:
        raise typer.BadParameter(t("bad_sample", value=sample), param_hint="--sample") from exc


def _print_report(report, as_json: bool) -> None:
    from cli.common import out

    if as_json:
        out.print_json(json.dumps(report.to_dict(), ensure_ascii=False, default=str))
        return
    fail = "[bold red]LỖI[/]" if current_lang() == "vi" else "[bold red]FAIL[/]"
    single = len(report.results) == 1 and not report.orphans_checked
    for r in report.results:
        if r.ok and not single:
            continue
        mark = "[green]OK[/]" if r.ok else fail
        status = "" if r.ok else f" ({t('fixity_' + r.status)})"
        out.print(f"{mark}{status} {r.record_id} {r.dossier_code or '—'} {r.pdf}", highlight=False)
        for problem in r.problems:
            out.print(f"    - {problem}", highlight=False)
        if single and r.level:
            out.print(_signature_line(r), highlight=False)
        if single and r.renewal_due:
            out.print("    " + _renewal_line(r), highlight=False)
    for key in report.orphans:
        out.print(f"[bold red]{t('fixity_orphan')}[/] {key}", highlight=False)
    s = report.summary()
    if single:
        out.print(t("verify_summary", total=s["checked"], failed=0 if report.ok else 1))
        return
    orphans = t("fixity_not_checked") if s["orphans"] is None else s["orphans"]
    out.print(t("fixity_summary", **{**s, "orphans": orphans}), highlight=False)


def _signature_line(r) -> str:
    """Level, signer, signing and time-stamp times, and what was added after signing."""
    stamped = r.timestamped_at.isoformat(timespec="seconds") if r.timestamped_at else "—"
    signed = r.signed_at.isoformat(timespec="seconds") if r.signed_at else "—"
    return "    " + t(
        "verify_signature",
        level=r.level,
        signer=r.signer or "—",
        signed=signed,
        stamped=stamped,
        modification=t(f"verify_mod_{(r.modification or 'none').replace('-', '_')}"),
    )


def _renewal_line(r) -> str:
    """When the record's newest time-stamp needs renewing (an archive time-stamp, B-LTA)."""
    key = "verify_renewal_due_now" if r.renewal_is_due() else "verify_renewal_due"
    return t(
        key, due=r.renewal_due.date().isoformat(), expires=r.timestamp_expires.date().isoformat()
    )


@catalog_app.command("upgrade")
def upgrade_layout(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Nâng cấp cấu trúc danh mục / Upgrade the catalog's tables to this version's layout.

    Opening a catalog does this too; run it to upgrade at a time of your choosing (before
    starting the workers of a new release) and see what changed.
    """
    from cli.common import guard, load_settings, out
    from services import integrity

    result = guard(lambda: integrity.upgrade_catalog(load_settings()))
    if as_json:
        out.print_json(json.dumps(result, ensure_ascii=False))
        return
    key = "catalog_upgraded" if result["changed"] else "catalog_current"
    out.print(t(key, **{**result, "before": result["before"] or "-"}), highlight=False)


@catalog_app.command("rebuild")
def rebuild(
    keep_going: Annotated[
        bool,
        typer.Option("--keep-going", help="Bỏ qua manifest hỏng (có báo cáo) / skip bad manifests"),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Dựng lại danh mục từ kho lưu trữ / Rebuild the catalog from the archive's manifests."""
    from cli.common import console, guard, load_settings, out
    from services import integrity

    with CountBar(console, t("progress_rebuild"), enabled=not as_json) as bar:
        report = guard(
            lambda: integrity.rebuild_catalog(load_settings(), keep_going=keep_going, progress=bar)
        )
    if as_json:
        out.print_json(json.dumps(report.to_dict(), ensure_ascii=False, default=str))
    else:
        for skipped in report.skipped:
            out.print(f"[bold red]{t('rebuild_skipped')}[/] {skipped.key}: {skipped.reason}")
        for record_id in report.duplicates:
            out.print(t("rebuild_duplicate", id=record_id), highlight=False)
        out.print(t("rebuild_done", **report.to_dict()), highlight=False)
        _print_carried(report)
    raise typer.Exit(int(exit_code_of(report.error_kind)))


def _print_carried(report) -> None:
    """One line per part besides the records: where it came from, or that it is lost."""
    from cli.common import out

    if report.old_catalog_unreadable:
        out.print(t("rebuild_old_unreadable", reason=report.old_catalog_unreadable))
    for part in report.carried:
        name = t(f"rebuild_part_{part.part}")
        rows = sum(part.rows.values())
        if part.part == "audit" and part.source is not None:
            line = t("rebuild_audit", rows=rows, unsealed=part.unsealed)
        elif part.source is None:
            line = "[bold red]" + t("rebuild_lost", part=name) + "[/]"
        else:
            line = t(f"rebuild_from_{part.source}", part=name, rows=rows, object=part.backup)
        out.print(line, highlight=False)


@catalog_app.command("backup")
def backup(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Sao lưu những gì chỉ danh mục có vào kho / Back up what only the catalog holds.

    Writes accounts, API tokens (hashed), units, the register, batch outcomes and the
    fixity history to a new object under derived/catalog-backup/, then seals the audit
    entries not yet in the store (hash-chained, object-locked segments). The nightly run
    does both too.
    """
    from cli.common import guard, load_settings, out
    from services import integrity

    result = guard(lambda: integrity.backup_catalog(load_settings()))
    if as_json:
        out.print_json(json.dumps(result.to_dict(), ensure_ascii=False))
        return
    rows = sum(result.rows.values())
    out.print(t("backup_done", object=result.key, rows=rows), highlight=False)
    out.print(t("backup_sealed", segments=len(result.segments), entries=result.entries))
