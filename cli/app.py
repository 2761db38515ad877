"""The ``sohoa`` command line: a thin surface over the library (one of two places that map errors to exit codes).

Commands that only read the catalog (show, search, export, verify) do not
import Prefect, so they start in well under a second; ``ingest`` and ``demo`` run
a batch's steps in this process on embedded defaults (:mod:`flows.plain`), or the
Prefect flow when a server is named by ``PREFECT_API_URL``.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import shutil
import sys
import tempfile
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from typer.core import TyperGroup

from cli.common import console, fail, guard, load_settings, out, stopped_cleanly, unexpected
from cli.integrity import catalog_app, verify
from cli.nightly import nightly
from cli.record import record_app
from cli.register import register_app
from cli.report import report
from cli.review import review_app
from cli.serve import serve
from cli.settings import show_settings
from cli.units import units_app
from cli.users import users_app
from cli.watch import watch
from flows.runtime import prepare_prefect, runs_on_prefect
from sohoa import SOFTWARE
from sohoa.errors import ExitCode, SohoaError
from sohoa.messages import LANGS, current_lang, t, text


class _LangAnywhere(TyperGroup):
    """The command group, with ``--lang`` (and ``-v``) accepted anywhere on the line.

    Why: ``--lang`` is the group's option, so click takes it only before the command
    (``sohoa report --lang en`` was "No such option"); a clerk adds it where they think
    of it. It is moved to the front before click parses; nothing after ``--`` is touched.
    """

    def main(self, args=None, *rest, **options):  # type: ignore[override]
        argv = list(sys.argv[1:] if args is None else args)
        return super().main(group_options_first(argv), *rest, **options)


def group_options_first(argv: list[str]) -> list[str]:
    """``argv`` with every ``--lang X``, ``--lang=X``, ``-v`` and ``--verbose`` moved to the front."""
    first, rest, i = [], [], 0
    while i < len(argv):
        token = argv[i]
        if token == "--":
            rest += argv[i:]
            break
        if token == "--lang" and i + 1 < len(argv):
            first += argv[i : i + 2]
            i += 2
            continue
        (first if token.startswith("--lang=") or token in ("-v", "--verbose") else rest).append(
            token
        )
        i += 1
    return first + rest


class _OneCommand(typer.Typer):
    """The app, building only the command it is asked to run (:func:`command_only`)."""

    def __call__(self, *args, **kwargs):
        argv = kwargs.get("args", args[0] if args else None)
        whole = command_only(self, list(sys.argv[1:] if argv is None else argv))
        return typer.Typer.__call__(whole, *args, **kwargs)


app = _OneCommand(
    cls=_LangAnywhere,
    add_completion=False,
    no_args_is_help=True,
    help="sohoa: số hóa hồ sơ, kết quả TTHC",
)


@app.callback()
def _main(
    lang: Annotated[str | None, typer.Option("--lang", help="vi | en")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Số hóa hồ sơ và kết quả giải quyết TTHC / Digitise dossiers and results."""
    from sohoa import logmask

    logmask.install()
    if lang is not None and lang not in LANGS:  # said in both languages: which one is unknown
        console.print(f"--lang {lang}: " + " / ".join(text("bad_lang", x) for x in LANGS))
        raise typer.Exit(int(ExitCode.USAGE))
    if lang:
        os.environ["SOHOA_LANG"] = lang
    if verbose:
        os.environ["SOHOA_VERBOSE"] = "1"


@app.command()
def ingest(
    files: Annotated[list[Path] | None, typer.Argument(help="PDF, TIFF, JPEG, PNG")] = None,
    dossier: Annotated[str | None, typer.Option("--dossier", help="Mã hồ sơ")] = None,
    unit: Annotated[str | None, typer.Option("--unit", help="Mã đơn vị")] = None,
    kind: Annotated[str, typer.Option("--kind", help="thanh-phan | ket-qua")] = "thanh-phan",
    as_json: Annotated[bool, typer.Option("--json")] = False,
    each: Annotated[
        bool, typer.Option("--each", help="Mỗi tệp là một lô / one batch per file")
    ] = False,
    queue: Annotated[
        bool,
        typer.Option(
            "--queue",
            help="Chỉ tiếp nhận vào kho, để worker số hóa / only receive into the store's "
            "intake, for a worker (or the nightly run) to digitise",
        ),
    ] = False,
    batch: Annotated[
        list[str] | None,
        typer.Option("--batch", help="Số hóa lô đang chờ trong kho / digitise a waiting batch"),
    ] = None,
) -> None:
    """Số hóa một lô bản quét / Digitise one batch of scans (files in order)."""
    if kind not in ("thanh-phan", "ket-qua"):
        console.print(t("bad_kind", kind=kind))
        raise typer.Exit(int(ExitCode.USAGE))
    if bool(files) == bool(batch) or (queue and batch):
        console.print(t("ingest_files_or_batch"))
        raise typer.Exit(int(ExitCode.USAGE))
    settings = guard(load_settings)
    with _stdin_as_file(files or [], settings) as given:
        _check_files(given, settings)
        batches = [[f] for f in given] if each else [list(given)] if given else []
        if queue:
            rows, code = _queue(batches, settings, dossier=dossier, unit=unit, kind=kind)
            _print_queued(rows, as_json)
            raise typer.Exit(code)
        views, code = _ingest_batches(
            batches,
            settings,
            dossier=dossier,
            unit=unit,
            kind=kind,
            quiet=as_json,
            batch_ids=batch or [],
        )
    if as_json:
        out.print_json(json.dumps([v.model_dump() for v in views], ensure_ascii=False))
    elif views:  # no records: the errors above (stderr) say why, stdout stays empty
        _print_records(views, settings)
    raise typer.Exit(code)


@contextmanager
def _stdin_as_file(files: list[Path], settings):
    """``-`` among the files is one scan read from standard input (``scanimage | sohoa
    ingest -``), kept in a private file under the work folder while the command runs.

    Read at most one byte past ``limits.max_file_mb``, so an endless pipe is refused as
    too large instead of filling the disk; the name it is archived under is
    ``stdin.<format>``, from its bytes (:func:`ocr.pages.detect_format`).
    """
    dashes = [i for i, f in enumerate(files) if str(f) == "-"]
    if not dashes:
        yield files
        return
    if len(dashes) > 1 or sys.stdin.isatty():
        console.print(t("ingest_stdin_once" if len(dashes) > 1 else "ingest_stdin_terminal"))
        raise typer.Exit(int(ExitCode.USAGE))
    settings.work_dir.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="stdin-", dir=settings.work_dir))
    try:
        read = folder / "stdin"
        cap = int(settings.limits.max_file_mb * 1024 * 1024)
        read.write_bytes(sys.stdin.buffer.read(cap + 1))
        named = read.with_suffix("." + _format_or_none(read, settings))
        read.rename(named)
        yield [named if i == dashes[0] else f for i, f in enumerate(files)]
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _format_or_none(path: Path, settings) -> str:
    """The file's format from its bytes, or ``bin`` (then :func:`_check_files` says why)."""
    from ocr.pages import detect_format

    try:
        return detect_format(path, limits=settings.limits)
    except SohoaError:
        return "bin"


def _check_files(files: list[Path], settings) -> None:
    """Refuse the command before anything starts when a file is missing, unreadable,
    empty, too large or not a scan format (the pipeline's own check,
    :func:`ocr.pages.detect_format`); every bad file is named, nothing is stored."""
    from sohoa.errors import BadInputError, NotFoundError

    errors: list[SohoaError] = []
    for path in files:
        try:
            if not path.is_file():
                raise NotFoundError(what="file", name=str(path))
            if not os.access(path, os.R_OK):
                raise BadInputError("unreadable_file", file=str(path))
            from ocr.pages import detect_format  # imported once a file is there to look at

            detect_format(path, limits=settings.limits)
        except SohoaError as exc:
            errors.append(exc)
            fail(exc)
    if errors:
        raise typer.Exit(int(errors[0].exit_code))


def _ingest_batches(batches, settings, *, dossier, unit, kind, quiet, batch_ids=()):
    """Run the flow per batch (files here, or batches waiting in the store's intake by
    id); a failed batch does not stop the others."""
    from cli.progress import RichProgress
    from records.commit import record_view

    run_batch = _batch_runner(settings)

    jobs = [{"batch_id": i} for i in batch_ids] or [
        {"kind": kind, "unit": unit, "dossier_code": dossier, "files": f} for f in batches
    ]
    views, code = [], 0
    with (
        stopped_cleanly(
            stopped_in_batch="ingest_stopped", stopped="ingest_stopped_early"
        ) as current,
        RichProgress(console, total_batches=len(jobs), enabled=not quiet) as progress,
    ):
        for job in jobs:
            current["batch"] = job.get("batch_id")
            try:
                manifests = _run_job(job, settings, run_batch, progress, current)
                views.extend(record_view(m) for m in manifests)
            except SohoaError as exc:
                fail(exc)
                code = code or int(exc.exit_code)
            except Exception as exc:  # noqa: BLE001 - one batch must not stop the others
                unexpected(exc, settings.data_dir)
                code = code or int(ExitCode.INTERNAL)
            progress.batch_finished()
    return views, code


def _run_job(job: dict, settings, run_batch, progress, current: dict) -> list:
    """A waiting batch by id, or files received first through the one entrance (the
    store's intake, :func:`flows.batch.received_here`) and then digitised by id here;
    ``current["batch"]`` names the batch once it is in the store."""
    if "batch_id" in job:
        return run_batch([], settings=settings, progress=progress, **job)
    from flows.batch import received_here

    files = [str(f) for f in job.pop("files")]
    with received_here(files, settings, sender="cli", **job) as (batch_id, held):
        current["batch"] = batch_id
        return run_batch([], batch_id=batch_id, settings=settings, progress=progress, claim=held)


def _batch_runner(settings):
    """The flow run when a Prefect server (or a Dask cluster) is configured, else the same
    steps run plainly here (:func:`flows.runtime.runs_on_prefect` says why)."""
    if runs_on_prefect(settings):
        prepare_prefect(settings)
        from flows.digitise import run_digitise

        return run_digitise
    from flows.plain import run_plain

    verbose = bool(os.environ.get("SOHOA_VERBOSE"))
    if verbose:  # the run's log as Prefect would print it; otherwise only the CLI's lines
        logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("sohoa").setLevel(logging.INFO if verbose else logging.CRITICAL)
    return run_plain


def _queue(batches, settings, *, dossier, unit, kind) -> tuple[list[dict], int]:
    """Receive each batch into the store's intake (the one entrance) and hand it to the
    Prefect work pool when a server is configured (``PREFECT_API_URL``); a batch the
    server cannot take waits for the nightly run. Returns one row per batch received."""
    from flows.dispatch import start_digitise
    from services.intake import receive

    rows, code = [], 0
    for files in batches:
        try:
            ticket = receive(
                files, settings, kind=kind, unit=unit, dossier_code=dossier, sender="cli"
            )
        except SohoaError as exc:
            fail(exc)
            code = code or int(exc.exit_code)
            continue
        run = None
        if os.environ.get("PREFECT_API_URL"):
            try:
                key = uuid.uuid4().hex  # a new run each time it is sent
                run = start_digitise(ticket.batch_id, settings, attempt_key=key)
            except SohoaError as exc:
                fail(exc)  # received all the same: the nightly run takes it
        rows.append({"batch_id": ticket.batch_id, "files": len(ticket.files), "flow_run": run})
    return rows, code


def _print_queued(rows: list[dict], as_json: bool) -> None:
    if as_json:
        out.print_json(json.dumps(rows, ensure_ascii=False))
        return
    if not rows:  # every batch was refused: the errors above say why
        return
    table = Table(title=t("queued_title"))
    for col in ("batch", "files", "run"):
        table.add_column(t(f"col_{col}"), no_wrap=True)
    for row in rows:
        run = row["flow_run"] or t("queued_for_nightly")
        table.add_row(row["batch_id"], str(row["files"]), run)
    out.print(table)


def _print_records(views, settings) -> None:
    from storage.stores import open_store

    store = open_store(settings)
    table = Table(title=t("records_title"))
    for col in ("id", "dossier", "pages", "confidence", "status"):
        table.add_column(t(f"col_{col}"), no_wrap=col in ("id", "dossier"))
    for v in views:
        table.add_row(
            v.id,
            v.dossier_code or "—",
            str(v.pages),
            f"{v.mean_confidence:.1f}",
            t(f"status_{v.status}"),
        )
    out.print(table)
    if views:
        out.print(f"[bold]{t('col_pdf')}:[/]", highlight=False)
        for v in views:
            out.print(f"  {v.id}  {_location(store, v.pdf)}", highlight=False, soft_wrap=True)


def _location(store, key: str) -> str:
    return store.location(key)


@app.command()
def show(
    record_id: Annotated[str, typer.Argument(help="Mã bản ghi / record id")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Xem một bản ghi / Show one record."""
    from services.records import show_record

    detail = guard(lambda: show_record(load_settings(), record_id))
    if as_json:
        out.print_json(json.dumps(detail, ensure_ascii=False, default=str))
        return
    from records.review import review_reason

    for key, value in detail.items():
        if key in ("fields", "review_reasons", "persons"):
            continue
        if not key.endswith(("_detail", "corrections")):
            out.print(f"[bold]{t('field_' + key)}:[/] {value}", highlight=False)
    for code in detail["review_reasons"]:
        out.print(f"  ⚠ {review_reason(code)}", highlight=False)
    _print_fields(detail["fields_detail"])
    _print_people(detail["persons"])
    _print_pages(detail["pages_detail"])
    if detail["corrections"]:
        table = Table(title=t("corrections_title"))
        for col in ("field", "old", "new", "by", "at", "reason"):
            table.add_column(col)
        for c in detail["corrections"]:
            table.add_row(*(str(c[k] or "") for k in ("field", "old", "new", "by", "at", "reason")))
        out.print(table)


def _print_fields(fields: list[dict]) -> None:
    from schemas.fields import FIELD_LABELS_VI

    table = Table(title=t("fields_title"))
    for col in ("field", "value", "method", "page", "confidence", "problem"):
        table.add_column(t(f"col_{col}"))
    for f in fields:
        label = FIELD_LABELS_VI[f["name"]] if current_lang() == "vi" else f["name"]
        table.add_row(
            label,
            f["value"],
            t(f"method_{f['method']}"),
            "" if f["page"] is None else str(f["page"] + 1),
            f"{f['confidence']:.2f}",
            f["problem"] or "",
        )
    out.print(table)


def _print_people(persons: list[dict]) -> None:
    """Who the record names, by role (applicant, subject, parents, signer), and where."""
    if not persons:
        return
    table = Table(title=t("people_title"))
    for col in ("role", "person_name", "id_number", "birth", "page", "problem"):
        table.add_column(t(f"col_{col}"))
    for p in persons:
        born = p.get("birth_date") or str(p.get("birth_year") or "")
        page = "" if p.get("page") is None else str(p["page"] + 1)
        table.add_row(
            t(f"person_role_{p['role']}"), p.get("name", ""), p.get("id_number", ""), born, page,
            p.get("problem", ""),
        )  # fmt: skip
    out.print(table)


def _print_pages(pages: list[dict]) -> None:
    table = Table(title=t("pages_title"))
    for col in ("page", "source", "doc_type", "dpi", "confidence", "turned", "review"):
        table.add_column(t(f"col_{col}"))
    for number, page in enumerate(pages, start=1):
        table.add_row(
            str(number),
            f"{page['source']} #{page['source_page'] + 1}",
            page.get("doc_type", ""),
            f"{page['dpi']:.0f}",
            t("page_blank") if page.get("blank") else f"{page['mean_confidence']:.1f}",
            f"{page.get('rotation', 0)}°" if page.get("rotation") else "",
            "⚠" if page["needs_review"] else "",
        )
    out.print(table)


@app.command()
def export(
    record_id: Annotated[str, typer.Argument()],
    output: Annotated[Path, typer.Option("-o", "--output", help="FILE.pdf")],
) -> None:
    """Xuất PDF đã ký / Export the signed PDF."""
    from services.records import export_record

    path = guard(lambda: export_record(load_settings(), record_id, output))
    console.print(t("exported", path=str(path)))


@app.command()
def search(
    query: Annotated[
        str, typer.Argument(help="Từ khóa, có hoặc không dấu / words, with or without diacritics")
    ] = "",
    as_json: Annotated[bool, typer.Option("--json")] = False,
    limit: Annotated[int, typer.Option("--limit")] = 20,
    page: Annotated[int, typer.Option("--page", min=1)] = 1,
    unit: Annotated[str | None, typer.Option("--unit", help="Mã đơn vị / unit code")] = None,
    kind: Annotated[str | None, typer.Option("--kind", help="thanh-phan | ket-qua")] = None,
    status: Annotated[str | None, typer.Option("--status", help="archived | needs_review")] = None,
    procedure: Annotated[str | None, typer.Option("--procedure", help="Mã TTHC")] = None,
    sector: Annotated[str | None, typer.Option("--sector", help="Lĩnh vực")] = None,
    start: Annotated[str | None, typer.Option("--from", help="Ngày tiếp nhận từ / from")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Ngày tiếp nhận đến / to")] = None,
) -> None:
    """Tìm hồ sơ, có lọc / Search records, with filters (no words: newest first)."""
    from services.search import search_records

    filters = {"unit": unit, "kind": kind, "status": status, "procedure": procedure}
    filters |= {"sector": sector, "date_from": start, "date_to": end}
    found = guard(lambda: search_records(load_settings(), query, limit=limit, page=page, **filters))
    hits = found["hits"]
    if as_json:  # what the table shows: the hits and the total ("exact": false is "N+")
        shown = {"total": found["total"], "total_exact": found["total_exact"], "page": page}
        out.print_json(
            json.dumps(shown | {"per_page": limit, "hits": hits}, ensure_ascii=False, default=str)
        )
        return
    if not hits:
        console.print(t("no_results"))
        raise typer.Exit(0)
    out.print(_search_table(query, found))


def _search_table(query: str, found: dict) -> Table:
    """The hits as a table; a column of the people the query named, when it named some."""
    from catalog.rows import PersonMatch
    from services.search import people_text

    people = [people_text(PersonMatch(**p) for p in hit["people"]) for hit in found["hits"]]
    columns = ["id", "dossier", "unit", "status", *(["people"] if any(people) else []), "snippet"]
    table = Table(title=t("search_title", query=query), caption=found["total_text"])
    for col in columns:
        table.add_column(t(f"col_{col}"))
    for hit, named in zip(found["hits"], people, strict=True):
        cells = [hit["record_id"], hit["dossier_code"] or "—", hit["unit"]]
        cells += [t(f"status_{hit['status']}"), *([named] if any(people) else [])]
        table.add_row(*cells, hit["snippet"])
    return table


@app.command()
def demo(
    workdir: Annotated[Path | None, typer.Option("--samples", help="Nơi ghi bản quét mẫu")] = None,
) -> None:
    """Chạy thử trên bản quét mẫu / Run the pipeline on generated sample scans."""
    from samples.synth import make_demo_batch

    settings = guard(load_settings)
    samples = workdir or (settings.data_dir / "samples")
    files = make_demo_batch(samples)
    console.print(t("demo_intro", n=len(files), where=str(samples), software=SOFTWARE))
    views, code = _ingest_batches(
        [[f] for f in files], settings, dossier=None, unit=None, kind="thanh-phan", quiet=False
    )
    _print_records(views, settings)
    from services.search import sample_query, search_records

    if views:
        word = sample_query(settings, views[0].id)
        if word:
            hits = search_records(settings, word, limit=5)["hits"]
            console.print(t("demo_search", word=word, n=len(hits)))
    from catalog.connection import location

    console.print(t("demo_next", catalog=location(settings.resolved_catalog_url)))
    raise typer.Exit(code)


app.add_typer(review_app, name="review")
app.command("verify")(verify)
app.add_typer(catalog_app, name="catalog")
app.command("nightly")(nightly)
app.add_typer(register_app, name="register")
app.command("report")(report)
app.add_typer(users_app, name="users")
app.command("serve")(serve)
app.add_typer(units_app, name="units")
app.command("settings")(show_settings)
app.command("watch")(watch)
app.add_typer(record_app, name="record")


def command_only(whole: typer.Typer, argv: list[str]) -> typer.Typer:
    """``whole`` with only the command ``argv`` runs (and the group's options), when it
    names one; else ``whole`` itself (``sohoa``, ``sohoa --help``, an unknown command).

    Why: typer turns every command into a click command before it runs one, evaluating
    each function's annotations: for 32 commands, 50-100 ms of every ``sohoa search``
    (``bench/latency.py``). A command's own ``--help`` is the same either way.
    """
    args = group_options_first(argv)
    while args and (args[0] in ("-v", "--verbose") or args[0].startswith("--lang")):
        args = args[2:] if args[0] == "--lang" else args[1:]
    if not args or args[0].startswith("-"):
        return whole
    commands = [c for c in whole.registered_commands if _command_name(c) == args[0]]
    groups = [g for g in whole.registered_groups if g.name == args[0]]
    if not commands and not groups:
        return whole
    slim = copy.copy(whole)
    slim.registered_commands, slim.registered_groups = commands, groups
    return slim


def _command_name(info) -> str:
    return info.name or typer.main.get_command_name(info.callback.__name__)


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
