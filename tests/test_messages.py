"""The one message catalogue (``sohoa/messages.toml``) is complete and matches the code.

Every key has a Vietnamese and an English text with the same placeholders, every key
the code asks for with a literal exists, and :mod:`sohoa.messages` stays a kernel
module that imports the standard library only.
"""

from __future__ import annotations

import ast
import re
import string
import sys
import tomllib
from pathlib import Path

import pytest

from records.review import review_reason
from schemas.register import UnitLevel
from schemas.report import GROUP_BY, INDICATORS, SCORED
from sohoa import errors
from sohoa.messages import catalogue, message, t, text, use_lang
from web import errors as web_errors

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
PACKAGES = PYPROJECT["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]
"""The product's packages, as the wheel lists them."""
CATALOGUE = ROOT / "sohoa" / "messages.toml"

KEY = r"[a-z][a-z0-9_-]*"
LOOKUP = re.compile(rf"(?<![\w.])(t|text|message|label)\(\s*[\"']({KEY})[\"']\s*[,)]")
"""``t("key")``, ``text("key", lang)``, ``message("key", …)``, ``label("key", lang)``."""
PREFIX = re.compile(rf"(?<![\w.])(t|text|message|label)\(\s*(f?)[\"']({KEY})(?:[\"']\s*[~+]|\{{)")
"""A key built at run time: ``t("web_kind_" ~ kind)``, ``t('nightly_' + r)``, ``f"col_{c}"``."""
KEY_ATTR = re.compile(rf"\bkey\s*=\s*[\"']({KEY})[\"'](?:\s+if\s.+?\selse\s+[\"']({KEY})[\"'])?")
"""``key = "x"`` (error classes) and ``key = "x" if … else "y"``."""


def _sources() -> list[tuple[Path, str]]:
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*")):
            if path.suffix in (".py", ".html", ".j2"):
                found.append((path, path.read_text(encoding="utf-8")))
    return found


SOURCES = _sources()


def _full_key(function: str, key: str) -> str:
    """Report labels are the ``report_*`` keys (:func:`reports.layout.label` adds the prefix)."""
    return f"report_{key}" if function == "label" else key


def _placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


def test_the_catalogue_is_one_toml_file_of_vi_and_en_strings():
    data = tomllib.loads(CATALOGUE.read_text(encoding="utf-8"))
    assert data == catalogue()
    wrong = {
        key: entry
        for key, entry in data.items()
        if not isinstance(entry, dict)
        or set(entry) != {"vi", "en"}
        or not all(isinstance(v, str) and v.strip() for v in entry.values())
    }
    assert wrong == {}
    assert len(data) > 600  # errors, interface texts, review reasons and report labels


def test_both_languages_use_the_same_placeholders():
    differ = {
        key: (_placeholders(entry["vi"]), _placeholders(entry["en"]))
        for key, entry in catalogue().items()
        if _placeholders(entry["vi"]) != _placeholders(entry["en"])
    }
    assert differ == {}


def test_every_key_the_code_asks_for_exists():
    known = catalogue()
    asked = {_full_key(f, k) for _, source in SOURCES for f, k in LOOKUP.findall(source)}
    assert len(asked) > 300  # the pattern still finds the lookups
    missing = sorted(
        f"{path.relative_to(ROOT)}: {_full_key(function, key)}"
        for path, source in SOURCES
        for function, key in LOOKUP.findall(source)
        if _full_key(function, key) not in known
    )
    missing += sorted(
        f"{path.relative_to(ROOT)}: {key}"
        for path, source in SOURCES
        if path.suffix == ".py"
        for match in KEY_ATTR.findall(source)
        for key in match
        if key and key not in known
    )
    assert missing == []


def test_every_key_prefix_built_at_run_time_names_some_key():
    known = catalogue()
    prefixes = {
        (path.relative_to(ROOT), _full_key(function, prefix))
        for path, source in SOURCES
        for function, _, prefix in PREFIX.findall(source)
    }
    assert prefixes  # the pattern still finds the templates' t("web_kind_" ~ kind)
    assert sorted(p for p in prefixes if not any(k.startswith(p[1]) for k in known)) == []


def _error_classes(module) -> list[type]:
    base = module.SohoaError if module is errors else module.WebError
    return [c for c in vars(module).values() if isinstance(c, type) and issubclass(c, base)]


@pytest.mark.parametrize("module", [errors, web_errors], ids=["sohoa.errors", "web.errors"])
def test_every_error_class_key_exists(module):
    assert sorted(c.__name__ for c in _error_classes(module) if c.key not in catalogue()) == []


def test_error_keys_raised_with_a_literal_exist():
    names = "|".join(
        c.__name__
        for c in _error_classes(errors)
        if "__init__" not in vars(c) or c is errors.SohoaError
    )
    raised = re.compile(rf"\b(?:{names})\(\s*(?:key=)?[\"']({KEY})[\"']")
    missing = sorted(
        f"{path.relative_to(ROOT)}: {key}"
        for path, source in SOURCES
        for key in raised.findall(source)
        if key not in catalogue()
    )
    assert missing == []


def test_report_labels_cover_every_grouping_indicator_and_level():
    wanted = {"report_title", "report_total", "report_period", "report_note_points"}
    wanted |= {f"report_by_{by}" for by in GROUP_BY}
    wanted |= {f"report_rate_{name}" for name in INDICATORS}
    wanted |= {f"report_short_{name}" for name in SCORED}
    wanted |= {f"report_level_{level}" for level in UnitLevel.__args__}
    wanted |= {"report_col_day", "report_col_month", "report_col_linh-vuc_code"}
    assert wanted - set(catalogue()) == set()


def test_lookups_keep_their_gaps_visible():
    assert text("no_such_key", "en") == "no_such_key"  # interface texts show the gap
    assert message("no_such_key", "en", detail="x") == "Internal error: x"  # errors never leak it
    assert (
        text("web_login_locked", "en", minutes=3)
        == "Too many failed sign-ins. Try again in 3 minute(s)."
    )
    with use_lang("en"):
        assert t("error") == "Error"
    with use_lang("vi"):
        assert t("error") == "Lỗi"


@pytest.mark.parametrize(
    ("code", "vi", "en"),
    [
        ("missing:dossier_code", "Thiếu Mã hồ sơ", "dossier_code missing"),
        (
            "invalid:id_number:cccd_bad_province",
            "Số định danh (CCCD / CMND / hộ chiếu) không hợp lệ (cccd_bad_province)",
            "id_number invalid (cccd_bad_province)",
        ),
        (
            "page_low_confidence:3",
            "Trang 3 đọc kém (độ tin cậy OCR thấp)",
            "Page 3: low OCR confidence",
        ),
        ("something_else:x", "something_else:x", "something_else:x"),
    ],
)
def test_review_reasons_read_from_the_catalogue(code, vi, en):
    assert review_reason(code, "vi") == vi
    assert review_reason(code, "en") == en


def test_the_messages_module_imports_the_standard_library_only():
    tree = ast.parse((ROOT / "sohoa" / "messages.py").read_text(encoding="utf-8"))
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {
        (node.module or "").split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and not node.level
    }
    assert imported - set(sys.stdlib_module_names) == set()
    assert not [n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.level]
