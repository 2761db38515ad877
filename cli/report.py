"""``sohoa report``: digitisation rates per unit, lĩnh vực, procedure, day or month.

Kept apart from :mod:`cli.app` so the main command module stays readable; it
uses the same guard, consoles and library calls (:mod:`services.reports`).
It does not import Prefect.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from schemas.grouping import GROUP_BY
from sohoa.errors import ExitCode
from sohoa.messages import current_lang, message, t


def _usage(key: str, **params: str) -> NoReturn:
    """A usage error in one line (exit 2), as typer reports a missing option."""
    from cli.common import console

    console.print(f"[bold red]{t('error')}:[/] {message(key, **params)}", highlight=False)
    raise typer.Exit(int(ExitCode.USAGE))


def _day(option: str, text: str) -> date:
    from sohoa.dates import parse_day
    from sohoa.errors import BadDayError

    try:
        return parse_day(text, option=option)
    except BadDayError:
        _usage("report_bad_date", option=option, value=text)


def report(
    start: Annotated[
        str, typer.Option("--from", help="Từ ngày (dd/mm/yyyy hoặc yyyy-mm-dd) / first day")
    ],
    end: Annotated[str, typer.Option("--to", help="Đến ngày, tính cả ngày này / last day")],
    unit: Annotated[
        str | None, typer.Option("--unit", help="Mã đơn vị (gồm cả đơn vị cấp dưới) / unit code")
    ] = None,
    by: Annotated[str, typer.Option("--by", help=" | ".join(GROUP_BY))] = "unit",
    fmt: Annotated[
        str | None,
        typer.Option("--format", "-f", help="table | csv | json | xlsx | html (mặc định theo -o)"),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Tệp kết quả / output file")
    ] = None,
) -> None:
    """Báo cáo tỷ lệ số hóa (QĐ 766) / Digitisation-rate report (Decision 766)."""
    from cli.common import console, guard, load_settings, out
    from reports.render import FILE_ONLY
    from schemas.report import Counts
    from services import reports as report_service

    first, last = _day("--from", start), _day("--to", end)
    if first > last:
        _usage("report_period_order", start=start, end=end)
    if by not in GROUP_BY:
        _usage("report_bad_by", value=by, known=", ".join(GROUP_BY))
    try:
        chosen = report_service.choose_format(fmt, output)
    except ValueError:
        _usage("report_bad_format", value=str(fmt))
    if output is None and chosen in FILE_ONLY:
        _usage("report_needs_output", fmt=chosen)
    lang = current_lang()
    settings = guard(load_settings)
    result = guard(
        lambda: report_service.compute_report(settings, start=first, end=last, unit=unit, by=by)
    )
    if result.totals.counts == Counts():
        console.print(t("report_empty"), highlight=False)
    if output is not None:
        path = guard(lambda: report_service.write_report(result, chosen, lang, output))
        console.print(t("report_written", path=str(path), fmt=chosen), highlight=False)
        return
    if chosen == "table" and out.is_terminal:
        _print_table(result, lang)
        return
    from reports.render import render

    typer.echo(render(result, chosen, lang), nl=False)


def _print_table(result, lang: str) -> None:
    """The table in colour at the terminal's width (piped output gets the plain
    :func:`reports.render.table_text`, wide enough not to wrap every cell)."""
    from rich.text import Text

    from cli.common import out
    from reports.layout import notes
    from reports.render import rich_table

    out.print(rich_table(result, lang))
    for note in notes(result, lang):
        out.print(Text(note, style="dim"))
