"""``sohoa review``: the clerk's queue of records to re-check, and corrections with history.

Kept apart from :mod:`cli.app` so the main command module stays readable; it
uses the same guard, consoles and library calls (:mod:`services.review`).

``set`` and ``accept`` take ``--revision N`` (the ``revision`` that ``sohoa show
--json`` or a previous ``--json`` result printed): the change is refused, exit 2,
if anyone changed the record since. Without it the last writer wins, as before.
"""

from __future__ import annotations

import getpass
import json
from collections.abc import Callable
from typing import Annotated, Any

import typer
from rich.table import Table

from sohoa.messages import t

REVISION = typer.Option(
    "--revision",
    min=0,
    help="Phiên bản đã xem (sohoa show --json); khác thì từ chối, thoát 2 / "
    "the revision you saw; refused (exit 2) if the record changed since",
)

review_app = typer.Typer(
    invoke_without_command=True,
    no_args_is_help=False,
    help="Hồ sơ cần xem lại / Records that need review",
)


def _who(by: str | None) -> str:
    """Who made a change: ``--by``, else the logged-in OS user."""
    if by:
        return by
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry in some containers
        return "unknown"


@review_app.callback()
def queue(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    unit: Annotated[str | None, typer.Option("--unit", help="Mã đơn vị")] = None,
) -> None:
    """Danh sách bản ghi cần xem lại / List records that need review."""
    if ctx.invoked_subcommand:
        return
    from cli.common import console, guard, load_settings, out
    from services.review import review_queue

    items = guard(lambda: review_queue(load_settings(), unit=unit))
    if as_json:
        out.print_json(json.dumps(items, ensure_ascii=False))
        return
    if not items:
        console.print(t("review_empty"))
        return
    table = Table(title=t("review_title", n=len(items)))
    for col in ("id", "dossier", "pages", "reasons"):
        table.add_column(t(f"col_{col}"), no_wrap=col == "id")
    for item in items:
        table.add_row(
            item["id"],
            item["dossier_code"] or "—",
            str(item["pages"]),
            "\n".join(item["reasons_text"]),
        )
    out.print(table)
    console.print(t("review_hint"))


@review_app.command("set")
def set_field(
    record_id: Annotated[str, typer.Argument(help="Mã bản ghi / record id")],
    field: Annotated[str, typer.Argument(help="applicant_name, id_number, dossier_code, …")],
    value: Annotated[str, typer.Argument(help="Giá trị đúng / the correct value")],
    reason: Annotated[str, typer.Option("--reason", help="Lý do / why")] = "",
    by: Annotated[str | None, typer.Option("--by", help="Người sửa / who")] = None,
    force: Annotated[bool, typer.Option("--force", help="Lưu cả giá trị không hợp lệ")] = False,
    revision: Annotated[int | None, REVISION] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Sửa một trường (giữ lịch sử) / Correct a field (history kept)."""
    from services.review import review_set

    options = {"reason": reason, "force": force, "revision": revision}
    _save(review_set, record_id, field, value, by=by, as_json=as_json, **options)


@review_app.command("accept")
def accept(
    record_id: Annotated[str, typer.Argument(help="Mã bản ghi / record id")],
    reason: Annotated[str, typer.Option("--reason", help="Lý do / why")] = "",
    by: Annotated[str | None, typer.Option("--by", help="Người duyệt / who")] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Chấp nhận cả trường thiếu/không hợp lệ (ghi lý do)")
    ] = False,
    revision: Annotated[int | None, REVISION] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Xác nhận đã xem lại / Mark a record as reviewed."""
    from services.review import review_accept

    options = {"reason": reason, "force": force, "revision": revision}
    _save(review_accept, record_id, by=by, as_json=as_json, **options)


def _save(
    change: Callable[..., dict], *args: str, by: str | None, as_json: bool, **options: Any
) -> None:
    """Make one review ``change`` as ``by`` (else the OS user) and print the record after it."""
    from cli.common import guard, load_settings

    result = guard(lambda: change(load_settings(), *args, by=_who(by), **options))
    _print_result(result, as_json)


def _print_result(result: dict, as_json: bool) -> None:
    from cli.common import out
    from records.review import review_reason

    if as_json:
        out.print_json(json.dumps(result, ensure_ascii=False))
        return
    out.print(t("review_saved", id=result["id"], status=t(f"status_{result['status']}")))
    out.print(t("review_revision", n=result["revision"]), highlight=False)
    for code in result["review_reasons"]:
        out.print(f"  - {review_reason(code)}", highlight=False)
