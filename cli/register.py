"""``sohoa register``: import the one-stop-shop dossier register, check it against the catalog.

Kept apart from :mod:`cli.app` so the main command module stays readable; it
uses the same guard, consoles and library calls (:mod:`services.register`).
Neither command imports Prefect.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from sohoa.errors import ExitCode
from sohoa.messages import t

register_app = typer.Typer(
    no_args_is_help=True,
    help="Sổ đăng ký hồ sơ một cửa / The one-stop-shop dossier register",
)

MAX_SHOWN = 50
"""Bad rows printed as a table; the rest are counted (``--json`` lists them all)."""


@register_app.command("import")
def import_file(
    file: Annotated[Path, typer.Argument(help="CSV hoặc XLSX xuất từ hệ thống một cửa")],
    mapping: Annotated[
        Path | None,
        typer.Option("--mapping", help="TOML: trường = “tên cột” / field = “their header”"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Nhập sổ đăng ký hồ sơ / Import the dossier register (CSV/XLSX).

    Exits 0 when every row was imported, 3 when some rows were bad (the good ones are saved).
    """
    from cli.common import guard, load_settings, out
    from services import register as register_service

    result = guard(lambda: register_service.register_import(load_settings(), file, mapping=mapping))
    if as_json:
        out.print_json(json.dumps(result, ensure_ascii=False))
    else:
        _print_import(result)
    raise typer.Exit(int(ExitCode.BAD_INPUT) if result["bad"] else 0)


def _print_import(result: dict) -> None:
    from cli.common import console, out

    out.print(t("register_imported", **result), highlight=False)
    if result["units_inserted"] or result["units_updated"]:
        out.print(t("register_units", **result), highlight=False)
    if result["ignored_columns"]:
        ignored = ", ".join(result["ignored_columns"])
        console.print(t("register_ignored", columns=ignored), highlight=False)
    bad = result["bad_rows"]
    if not bad:
        return
    table = Table(title=t("register_bad_title", n=result["bad"]))
    table.add_column(t("register_col_line"), justify="right")
    table.add_column(t("register_col_problem"))
    for row in bad[:MAX_SHOWN]:
        table.add_row(str(row["line"]), row["message"])
    out.print(table)
    if len(bad) > MAX_SHOWN:
        out.print(t("register_more_bad", n=len(bad) - MAX_SHOWN), highlight=False)


@register_app.command("check")
def check(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Đối chiếu bản ghi số hóa với sổ đăng ký / Match digitised records to the register
    (exit 1 when a record is missing from it or filed under another unit)."""
    from cli.common import guard, load_settings, out
    from services import register as register_service

    found = guard(lambda: register_service.register_check(load_settings()))
    clean = not found["unregistered"] and not found["wrong_unit"]
    if as_json:
        out.print_json(json.dumps(found, ensure_ascii=False))
        raise typer.Exit(0 if clean else int(ExitCode.FINDINGS))
    if clean:
        out.print(t("register_check_ok"))
        return
    if found["unregistered"]:
        table = Table(title=t("register_unregistered_title", n=len(found["unregistered"])))
        for key in ("col_id", "col_dossier", "col_unit", "field_kind"):
            table.add_column(t(key), no_wrap=key == "col_id")
        for row in found["unregistered"]:
            table.add_row(row["record_id"], row["dossier_code"] or "—", row["unit"], row["kind"])
        out.print(table)
    if found["wrong_unit"]:
        table = Table(title=t("register_wrong_unit_title", n=len(found["wrong_unit"])))
        for key in ("col_dossier", "register_col_register_unit", "register_col_record_unit"):
            table.add_column(t(key))
        table.add_column(t("col_id"), no_wrap=True)
        for row in found["wrong_unit"]:
            table.add_row(
                row["dossier_code"], row["register_unit"], row["record_unit"], row["record_id"]
            )
        out.print(table)
    raise typer.Exit(int(ExitCode.FINDINGS))
