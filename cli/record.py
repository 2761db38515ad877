"""``sohoa record``: a new version of an archived record, with pages added or a page replaced.

The signed PDF of the version before stays in the archive untouched (under retention);
the new version is signed afresh and the catalog points at it
(:mod:`records.versions`). ``--revision N`` (``sohoa show --json``'s ``revision``)
refuses the change, exit 2, if anyone changed the record since. ``add-page`` takes a
scan of several pages (all added, in order, as one version); ``replace-page`` takes a
one-page scan. The same command run again after it was killed stores nothing twice
and answers with the version it made.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from cli.review import REVISION, _who
from sohoa.messages import t

record_app = typer.Typer(
    no_args_is_help=True,
    help="Phiên bản mới của bản ghi: thêm/thay trang / New record version: add or replace a page",
)

REASON = typer.Option("--reason", help="Lý do (bắt buộc) / why (required)")
BY = typer.Option("--by", help="Người thực hiện / who")


@record_app.command("add-page")
def add_page(
    record_id: Annotated[str, typer.Argument(help="Mã bản ghi / record id")],
    file: Annotated[
        Path, typer.Argument(help="Bản quét (PDF/TIFF/JPEG/PNG, một hoặc nhiều trang) / scan")
    ],
    reason: Annotated[str, REASON],
    at: Annotated[
        int | None, typer.Option("--at", min=1, help="Vị trí trang (mặc định: cuối) / position")
    ] = None,
    by: Annotated[str | None, BY] = None,
    revision: Annotated[int | None, REVISION] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Thêm trang (mọi trang của tệp, phiên bản mới) / Add the file's pages (a new version)."""
    _change(record_id, file, "add_page", at, reason, by, revision, as_json)


@record_app.command("replace-page")
def replace_page(
    record_id: Annotated[str, typer.Argument(help="Mã bản ghi / record id")],
    page: Annotated[int, typer.Argument(min=1, help="Số trang cần thay / page number")],
    file: Annotated[Path, typer.Argument(help="Bản quét một trang (PDF/TIFF/JPEG/PNG) / scan")],
    reason: Annotated[str, REASON],
    by: Annotated[str | None, BY] = None,
    revision: Annotated[int | None, REVISION] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Thay một trang (phiên bản mới) / Replace a page (a new version)."""
    _change(record_id, file, "replace_page", page, reason, by, revision, as_json)


def _change(
    record_id: str,
    file: Path,
    action: str,
    page: int | None,
    reason: str,
    by: str | None,
    revision: int | None,
    as_json: bool,
) -> None:
    """Make the change through the library and print the new version (or the error)."""
    from cli.common import guard, load_settings, out
    from flows.versions import change_record_page, version_result
    from records.versions import PageChange
    from sohoa.errors import BadInputError

    def run() -> dict:
        if not reason.strip():
            raise BadInputError("version_reason_missing")
        change = PageChange(action, page, reason.strip(), _who(by), revision)  # type: ignore[arg-type]
        return version_result(change_record_page(load_settings(), record_id, file, change))

    result = guard(run)
    if as_json:
        out.print_json(json.dumps(result, ensure_ascii=False))
        return
    last = result["history"][-1]
    out.print(
        t(f"version_saved_{last['action']}", id=result["id"], version=result["version"],
          page=page_span(result["changed_pages"]) or last["page"], pages=result["pages"]),
        highlight=False,
    )  # fmt: skip
    out.print(t("review_revision", n=result["revision"]), highlight=False)
    out.print(result["pdf"], highlight=False, soft_wrap=True)


def page_span(numbers: list[int]) -> str:
    """``4`` or ``4–6``: the pages a version brought, as a clerk reads them."""
    if not numbers:
        return ""
    return str(numbers[0]) if len(numbers) == 1 else f"{numbers[0]}–{numbers[-1]}"
