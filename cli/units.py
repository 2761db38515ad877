"""``sohoa units``: the office's unit list and tree (list, set, remove).

The same functions as the admin's ``/admin/units`` page (:mod:`services.units`),
so a unit added here obeys the same rules and is audited with the OS user as author.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from sohoa.messages import t

units_app = typer.Typer(no_args_is_help=True, help="Danh sách đơn vị / The unit list")

AsJson = Annotated[bool, typer.Option("--json")]


@units_app.command("list")
def list_units(as_json: AsJson = False) -> None:
    """Cây đơn vị và số hồ sơ, bản ghi, tài khoản / The unit tree with its counts."""
    from cli.common import console, guard, load_settings, out
    from services import units as unit_service

    found = guard(lambda: unit_service.list_units(load_settings()))
    if as_json:
        out.print_json(json.dumps(found, ensure_ascii=False))
        return
    if not found:
        console.print(t("web_units_none"))
        return
    table = Table(title=t("web_units_list", n=sum(u["listed"] for u in found)))
    for key in ("code", "name", "level", "dossiers", "records", "batches", "users"):
        table.add_column(t(f"web_units_{key}"), justify="right" if key[-1] == "s" else "left")
    for unit in found:
        code = "  " * unit["depth"] + unit["code"]
        name = unit["name"] if unit["listed"] else f"({t('web_units_unlisted')})"
        level = t(f"web_level_{unit['level']}") if unit["level"] else "—"
        counts = (str(unit[k]) for k in ("dossiers", "records", "batches", "users"))
        table.add_row(code, name, level, *counts)
    out.print(table)


@units_app.command("set")
def set_unit(
    code: Annotated[str, typer.Argument(help="Mã đơn vị / unit code")],
    name: Annotated[str, typer.Option("--name", help="Tên đơn vị / the unit's name")],
    level: Annotated[str | None, typer.Option("--level", help="tinh | so | huyen | xa")] = None,
    parent: Annotated[
        str | None, typer.Option("--parent", help="Mã đơn vị cấp trên / parent unit's code")
    ] = None,
) -> None:
    """Thêm hoặc sửa một đơn vị / Add or change a unit."""
    from cli.common import guard, load_settings, out
    from services import units as unit_service
    from services import users as user_service

    actor = user_service.cli_actor()
    guard(
        lambda: unit_service.save_unit(
            load_settings(), code, name=name, level=level, parent=parent, actor=actor
        )
    )
    out.print(t("web_done_unit_saved"))


@units_app.command("remove")
def remove_unit(code: Annotated[str, typer.Argument(help="Mã đơn vị / unit code")]) -> None:
    """Xóa một đơn vị không còn được dùng / Remove a unit nothing uses."""
    from cli.common import guard, load_settings, out
    from services import units as unit_service
    from services import users as user_service

    actor = user_service.cli_actor()
    guard(lambda: unit_service.remove_unit(load_settings(), code, actor=actor))
    out.print(t("web_done_unit_removed"))
