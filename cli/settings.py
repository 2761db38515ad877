"""``sohoa settings``: the settings in use and the machine checks, as ``/admin/settings`` shows.

Run it first when a night failed: it says whether Tesseract has its Vietnamese
data, when the signing certificate expires, whether the store answers and how much
disk is left, then every setting with its source. Secrets read "set"/"not set".
Exits 1 when a check failed, so monitoring can call it.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Annotated

import typer
from rich.table import Table

from sohoa.messages import t

STYLE = {"ok": "green", "warn": "yellow", "fail": "bold red"}


def show_settings(
    as_json: Annotated[bool, typer.Option("--json")] = False,
    changed: Annotated[
        bool, typer.Option("--changed", help="Chỉ giá trị khác mặc định / only non-defaults")
    ] = False,
) -> None:
    """Cấu hình đang dùng và tình trạng máy / Settings in use and system status."""
    from cli.common import load_settings, out
    from services.settings_view import config_file, setting_rows
    from services.system_check import run_checks

    settings = load_settings()
    checks = run_checks(settings)
    rows = [r for r in setting_rows(settings) if r.changed or not changed]
    path, exists = config_file()
    if as_json:
        body = {
            "config_file": str(path),
            "config_file_exists": exists,
            "checks": [asdict(c) for c in checks],
            "settings": [asdict(r) for r in rows],
        }
        out.print_json(json.dumps(body, ensure_ascii=False))
    else:
        _print_tables(checks, rows, str(path), exists)
    if any(c.status == "fail" for c in checks):
        raise typer.Exit(1)


def _print_tables(checks, rows, path: str, exists: bool) -> None:
    from cli.common import out

    table = Table(title=t("web_settings_checks"))
    for key in ("check", "status", "detail"):
        table.add_column(t(f"web_settings_{key}"))
    for c in checks:
        status = f"[{STYLE[c.status]}]{t('web_check_status_' + c.status)}[/]"
        table.add_row(t(f"web_check_{c.name}"), status, c.detail)
    out.print(table)
    found = t("web_settings_file_found") if exists else t("web_settings_file_missing")
    out.print(t("web_settings_file", path=path), found, highlight=False)
    table = Table(title=t("web_settings_current"))
    for key in ("key", "value", "default", "source"):
        table.add_column(t(f"web_settings_{key}"))
    for r in rows:
        value = t(f"web_settings_secret_{r.value.replace(' ', '_')}") if r.secret else r.value
        table.add_row(r.key, value, r.default, t(f"web_settings_from_{r.source}"))
    out.print(table)
