"""The command line's conventions: ``--lang`` anywhere on the line, and only a language
sohoa speaks."""

from __future__ import annotations

from cli.app import group_options_first
from sohoa.errors import ExitCode


def test_lang_is_taken_after_the_command_too(cli):
    after = cli("search", "khong-co-gi", "--lang", "en", lang="vi")
    assert after.returncode == 0, after.stderr
    assert "No results." in after.stdout + after.stderr
    equals = cli("search", "--lang=en", "khong-co-gi", lang="vi")
    assert "No results." in equals.stdout + equals.stderr


def test_an_unknown_language_is_refused_in_both_languages(cli):
    done = cli("search", "khong-co-gi", "--lang", "fr")
    assert done.returncode == ExitCode.USAGE and done.stdout == ""
    said = " ".join(done.stderr.split())
    assert "--lang fr" in said and "choose vi or en" in said and "hãy chọn vi hoặc en" in said


def test_group_options_move_to_the_front_and_nothing_after_a_double_dash():
    argv = ["report", "--from", "01/11/2026", "--lang", "en", "-v", "--", "--lang", "x"]
    assert group_options_first(argv) == [
        "--lang", "en", "-v", "report", "--from", "01/11/2026", "--", "--lang", "x"
    ]  # fmt: skip
    assert group_options_first(["search", "--lang=vi", "nghia"]) == ["--lang=vi", "search", "nghia"]


def test_help_shows_flags_as_flags(cli):
    """A flag takes no value, so help gives it no type; options that take one keep theirs."""
    done = cli("search", "--help", extra_env={"COLUMNS": "120"})
    lines = {line.split()[1]: line for line in done.stdout.splitlines() if "│ --" in line}
    assert "<" not in lines["--json"] and "<" not in lines["--help"], done.stdout
    assert "<int>" in lines["--limit"]


def test_search_json_carries_the_total(cli):
    found = cli.json("search", "khong-co-gi")
    assert found == {"total": 0, "total_exact": True, "page": 1, "per_page": 20, "hits": []}
