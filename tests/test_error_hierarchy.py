"""One error hierarchy: statuses chosen only by the web app, exit codes only by the CLI.

Library results say *what happened* (counts, the domain error type it amounts to);
:func:`sohoa.errors.exit_code_of` is the one mapping from an error to an exit code and
:func:`web.statuses.http_status` the one mapping to an HTTP status. These tests pin both
mappings, so a change of status or exit code is a decision someone makes on purpose.
"""

from __future__ import annotations

import ast
import sqlite3
from pathlib import Path

import pytest

from records import fixity
from records.rebuild import RebuildReport, Skipped
from records.verify import ObjectCheck, VerifyResult
from sohoa import errors
from sohoa.errors import ExitCode, SohoaError, exit_code_of
from sohoa.messages import catalogue
from web import errors as web_errors
from web.statuses import http_status

ROOT = Path(__file__).resolve().parents[1]

STATUS = {
    "SohoaError": 500,
    "BadInputError": 422,
    "EncryptedInputError": 422,
    "InputTooLargeError": 413,
    "BadCellError": 422,
    "OcrError": 500,
    "SigningError": 503,
    "StorageError": 503,
    "ChecksumMismatchError": 503,
    "ObjectLockedError": 503,
    "VerificationError": 409,
    "NotFoundError": 404,
    "UnknownUnitError": 404,
    "ConfigError": 500,
    "ExternalProgramError": 500,
    "InvalidRequestError": 400,
    "ConflictError": 409,
    "StaleRevisionError": 409,
    "BatchBusyError": 409,
    "PermissionDeniedError": 403,
    "SampleOverflowError": 500,
}
"""The status each domain error had when this test was written; a new class takes its parent's."""


def _subclasses(base: type) -> list[type]:
    found, todo = [], [base]
    while todo:
        kind = todo.pop()
        found.append(kind)
        todo.extend(kind.__subclasses__())
    return found


def _bare(kind: type[BaseException]) -> BaseException:
    """An instance without running ``__init__`` (the mappings look at the type only)."""
    return kind.__new__(kind)


@pytest.mark.parametrize("kind", _subclasses(SohoaError), ids=lambda k: k.__name__)
def test_every_domain_error_has_its_pinned_status_and_a_message(kind):
    pinned = next(STATUS[k.__name__] for k in kind.__mro__ if k.__name__ in STATUS)
    assert http_status(_bare(kind)) == pinned
    assert set(catalogue()[kind.key]) >= {"vi", "en"}
    assert kind.__module__ == "sohoa.errors"


@pytest.mark.parametrize("kind", _subclasses(web_errors.WebError), ids=lambda k: k.__name__)
def test_every_web_error_has_its_own_status_and_text(kind):
    assert 400 <= kind.status < 600
    assert http_status(_bare(kind)) == kind.status
    assert set(catalogue()[kind.key]) >= {"vi", "en"}
    assert kind.__module__ == "web.errors"


def test_a_full_job_queue_is_answered_like_a_busy_upload():
    full = web_errors.QueueFull(2)
    assert isinstance(full, web_errors.UploadBusy) and full.queued == 2
    assert http_status(full) == 503 and full.headers == {"Retry-After": "60"}


def test_exit_code_of_reads_the_error_or_its_type():
    assert exit_code_of(None) == ExitCode.OK
    assert exit_code_of(errors.StorageError) == ExitCode.STORAGE_FAILED
    assert exit_code_of(errors.BadCellError("bad_date")) == ExitCode.BAD_INPUT
    assert exit_code_of(errors.UnknownUnitError(unit="X")) == ExitCode.NOT_FOUND
    assert exit_code_of(OSError("disk")) == ExitCode.INTERNAL
    assert exit_code_of(KeyError) == ExitCode.INTERNAL


def test_moved_errors_keep_the_builtin_types_callers_caught():
    assert isinstance(errors.BadCellError("bad_date"), ValueError)
    assert errors.BadCellError("bad_level").reason == "bad_level"
    assert isinstance(errors.UnknownUnitError(unit="X"), LookupError)
    assert errors.SampleOverflowError(3).optional == 3


def _report(*statuses: str, orphans: list[str] | None = None) -> fixity.FixityReport:
    results = [
        VerifyResult(
            f"r{n}",
            "",
            "archive/a.pdf",
            status == "ok",
            (),
            objects=(ObjectCheck("archive/a.pdf", "pdf", status),),  # type: ignore[arg-type]
        )
        for n, status in enumerate(statuses)
    ]
    return fixity.make_report(
        catalog_records=len(results),
        results=results,
        orphans=orphans,
        sampled=False,
        workers=1,
        seconds=1.0,
    )


@pytest.mark.parametrize(
    ("statuses", "orphans", "found", "code"),
    [
        (("ok", "ok"), [], None, ExitCode.OK),
        (("ok", "unreadable"), [], errors.StorageError, ExitCode.STORAGE_FAILED),
        (("unreadable", "changed"), [], errors.VerificationError, ExitCode.VERIFY_FAILED),
        (("ok", "missing"), None, errors.VerificationError, ExitCode.VERIFY_FAILED),
        (("ok", "invalid"), [], errors.VerificationError, ExitCode.VERIFY_FAILED),
        (("ok",), ["archive/x.pdf"], errors.VerificationError, ExitCode.VERIFY_FAILED),
    ],
)
def test_a_fixity_report_says_what_it_found_and_the_exit_codes_are_unchanged(
    statuses, orphans, found, code
):
    report = _report(*statuses, orphans=orphans)
    assert report.error_kind is found
    assert exit_code_of(report.error_kind) == code
    assert not hasattr(report, "exit_code")


def test_a_rebuild_report_says_what_it_found_and_the_exit_codes_are_unchanged():
    clean = RebuildReport(catalog="c.db", manifests=2, records=2, batches=1, corrections=0)
    partial = RebuildReport(
        catalog="c.db",
        manifests=2,
        records=1,
        batches=1,
        corrections=0,
        skipped=(Skipped("archive/m.manifest.json", "unreadable"),),
    )
    assert clean.error_kind is None and exit_code_of(clean.error_kind) == ExitCode.OK
    assert partial.error_kind is errors.VerificationError
    assert exit_code_of(partial.error_kind) == ExitCode.VERIFY_FAILED
    assert not hasattr(partial, "exit_code") and "exit_code" not in partial.to_dict()


def _modules(*packages: str) -> dict[str, ast.Module]:
    found = {}
    for package in packages:
        for path in sorted((ROOT / package).rglob("*.py")):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            found[name] = ast.parse(path.read_text(encoding="utf-8"))
    return found


LIBRARY = (
    "sohoa",
    "schemas",
    "ocr",
    "samples",
    "storage",
    "reports",
    "pdf",
    "catalog",
    "records",
    "services",
    "flows",
    "web",
)
"""Every product package but the CLI."""


def test_only_the_cli_names_exit_codes():
    """Outside ``cli/`` no module picks an ``ExitCode`` member (``sohoa.errors`` defines them)."""
    chosen = sorted(
        f"{name}: ExitCode.{node.attr}"
        for name, tree in _modules(*LIBRARY).items()
        if name != "sohoa.errors"
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "ExitCode"
    )
    assert chosen == []


def _imports(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_no_web_module_reaches_back_into_the_app_or_security_for_a_helper():
    """``web.app`` assembles the routes, so nothing it includes may import it (even late);
    ``web.security`` writes to the audit log, so the audit helper must not import it."""
    web = _modules("web")
    assert sorted(name for name, tree in web.items() if "web.app" in _imports(tree)) == []
    assert "web.security" not in _imports(web["web.audit"])


def _sqlite_error(sql: str, *, interrupt: bool) -> sqlite3.OperationalError:
    connection = sqlite3.connect(":memory:")
    if interrupt:
        connection.set_progress_handler(lambda: True, 1)
    try:
        connection.execute(sql).fetchall()
    except sqlite3.OperationalError as exc:
        return exc
    finally:
        connection.close()
    raise AssertionError("the statement did not fail")


def test_a_search_interrupted_by_its_budget_is_told_apart_by_sqlite_code_not_text():
    from catalog.search import _interrupted

    counting = "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n) SELECT x FROM n"
    assert _interrupted(_sqlite_error(counting + " LIMIT 100000", interrupt=True))
    assert not _interrupted(_sqlite_error("SELECT * FROM no_such_table", interrupt=False))
    assert not _interrupted(sqlite3.OperationalError("interrupted"))  # the words alone


def _raised(exc: Exception) -> Exception:
    try:
        raise exc
    except Exception as caught:  # noqa: BLE001 - a real traceback to log
        return caught


def test_an_internal_error_keeps_its_traceback_in_the_data_directory(tmp_path, capsys):
    from cli.common import ERROR_LOG, unexpected

    unexpected(_raised(ValueError("CCCD 001087012345 không đọc được")), tmp_path)
    said = capsys.readouterr().err
    log = (tmp_path / ERROR_LOG).read_text(encoding="utf-8")
    assert "Traceback" in log and "_raised" in log and "ValueError" in log
    assert "001087012345" not in log  # personal data masked, as in every log
    assert str(tmp_path / ERROR_LOG) in said.replace("\n", "")
    unexpected(_raised(KeyError("second")), tmp_path)  # appended, not overwritten
    assert (tmp_path / ERROR_LOG).read_text(encoding="utf-8").count("Traceback") == 2


def test_an_internal_error_with_no_writable_log_still_says_what_happened(tmp_path, capsys):
    from cli.common import unexpected

    blocked = tmp_path / "data"
    blocked.write_text("a file where the data directory should be")
    unexpected(_raised(RuntimeError("boom")), blocked)
    said = capsys.readouterr().err
    assert "RuntimeError: boom" in said and "errors.log" not in said
