"""The command line's conventions: ``--lang`` anywhere on the line, and only a language
sohoa speaks."""

from __future__ import annotations

import json

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


def _piped(cli, data: bytes, *args: str):
    import subprocess

    from conftest import SOHOA

    env = {**cli.env, "SOHOA_LANG": "en"}
    return subprocess.run(
        [str(SOHOA), "ingest", *args],
        check=False,
        input=data,
        capture_output=True,
        env=env,
        timeout=600,
    )


def test_ingest_dash_reads_one_scan_from_standard_input(cli, scan_pdf):
    """``scanimage ... | sohoa ingest -``: the piped scan is archived as ``stdin.pdf`` and
    the private copy it was read into is gone afterwards."""
    import json

    done = _piped(cli, scan_pdf.read_bytes(), "-", "--json")
    assert done.returncode == 0, done.stderr.decode()
    [record] = json.loads(done.stdout)
    assert record["pages"] == 3 and record["status"] in ("archived", "needs_review")
    shown = cli("show", record["id"], "--json")
    assert '"stdin.pdf"' in shown.stdout, shown.stdout[:2000]
    assert not list((cli.data_dir / "work").glob("stdin-*"))


def test_ingest_dash_refuses_what_is_not_one_scan(cli):
    empty = _piped(cli, b"", "-")
    assert empty.returncode == ExitCode.BAD_INPUT and empty.stdout == b""
    assert "stdin" in empty.stderr.decode()
    twice = _piped(cli, b"%PDF-1.4", "-", "-")
    assert twice.returncode == ExitCode.USAGE and b"only once" in twice.stderr
    assert cli.record_count() == 0


def test_only_the_command_asked_for_is_built():
    """typer builds every command before running one (50-100 ms of each ``sohoa search``):
    the app run is cut to that command; the group's options and help stay whole."""
    import typer

    from cli.app import app, command_only

    def built(argv):
        return set(typer.main.get_command(command_only(app, argv)).commands)

    everything = built([])
    assert {"search", "ingest", "review", "users"} <= everything and len(everything) > 10
    assert built(["search", "nguyen", "--json"]) == {"search"}
    assert built(["--lang", "en", "-v", "review", "list"]) == {"review"}
    assert built(["report", "--lang", "en"]) == {"report"}
    for whole in (["--help"], ["serach", "x"], ["--lang", "en"]):
        assert built(whole) == everything, whole


def test_a_command_runs_the_same_with_only_it_built(cli):
    done = cli("--lang", "en", "units", "list", "--json")
    assert done.returncode == 0, done.stderr
    assert isinstance(json.loads(done.stdout), list)
    wrong = cli("serach", "x")
    assert wrong.returncode == 2 and "Did you mean 'search'" in wrong.stderr
