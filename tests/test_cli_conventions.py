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
