"""Field extraction on official layout families the rules were not written from, one held out at a time.

Run: ``.venv/bin/python bench/forms_fields.py [--per-family N] [--hold-out FAMILY|all-rotating|none]``
(defaults 4 and ``all-rotating``: 6 families x 4 pages, clean and degraded, plus 2 docgen pages
of each type for comparison; about 3 minutes on 2 cores).

Why: every other field figure is measured on :mod:`samples.docgen` pages, the very layouts the
rules were tuned on. :mod:`samples.forms` draws six families modelled on the official
templates (receipt Mẫu 01 and control slip Mẫu 02 of Circular 01/2018/TT-VPCP, a tờ khai, a
Decree-30 decision, a trích lục, a household-business certificate) with their own wording,
fonts and arrangement. Each page goes through exactly the path ``bench/fields.py`` uses
(written as a JPEG scan, ``ocr.pages.iter_pages``, ``ocr.reading.read_page``,
``ocr.fields.extract_page``, ``merge_fields``) and is scored the same way: a field is right
when its value equals the printed truth after NFC and collapsing spaces; a wrong value counts
against precision and recall.

Held-out protocol: rules may carry ``families = ["tiep-nhan"]``, the family they were written
from. With ``--hold-out X`` family X is measured with every rule (row or document type) tagged
with X removed — :func:`ocr.rules.without_families` when the rules module has it, else the
rules file filtered here and loaded from a temporary copy — so X is read as a layout never
seen. ``all-rotating`` does that for each family in turn. The docgen rows are scored by
``bench/fields.py``'s own scorer in the same run, so the gap is visible on one table.

Person-role recall: the share of printed people (applicant, subject, father, mother, signer)
that extraction names under the right role (``ocr.fields.merge_record(...).persons``), and the
share whose printed ID number and date of birth are also kept with them; "n/a" when ``ocr.fields``
has no people yet.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(ROOT))

import argparse
import hashlib
import json
import random
import tempfile
import tomllib
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import ocr.fields as ocr_fields
import ocr.rules as ocr_rules
from bench import fields as docgen_bench
from bench.pipeline import git, table
from ocr.fields import extract_page, merge_fields
from ocr.rules import Rules, load_rules
from samples import docgen
from samples.forms import FAMILIES, FormPage, degrade, make_page
from schemas.fields import FIELD_NAMES
from schemas.models import PageReading
from storage.objectstore import atomic_write_bytes

OUT_MD = ROOT / "bench" / "out" / "forms_fields.md"
SEED = 7100
ROLE_SCORED = ("applicant", "subject", "father", "mother", "signer")
norm = docgen_bench.norm


def log(message: str) -> None:
    print(f"[bench-forms] {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- rules held out


def held_out_rules(base: Rules, family: str) -> Rules:
    """The rules with every row and document type tagged with ``family`` left out."""
    drop = getattr(ocr_rules, "without_families", None)
    if drop is not None:
        return drop(base, [family])
    return load_rules(_filtered_rules_file(family))


def _filtered_rules_file(family: str, source: Path | None = None) -> Path:
    """A copy of a rules file (the built-in one by default) without ``family``'s rows, for a
    rules module that cannot filter itself. Tags are dropped from the copy when the loader
    does not know them."""
    data = tomllib.loads((source or ocr_rules.BUILTIN_RULES).read_text(encoding="utf-8"))
    keep_tags = "families" in ocr_rules.FieldRule.__dataclass_fields__
    for name, doc in list(data.get("doc_types", {}).items()):
        if family in doc.get("families", ()):
            del data["doc_types"][name]
            continue
        doc["fields"] = [r for r in doc.get("fields", ()) if family not in r.get("families", ())]
        if not keep_tags:
            doc.pop("families", None)
            for row in doc["fields"]:
                row.pop("families", None)
    digest = hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:12]
    path = Path(tempfile.gettempdir()) / f"sohoa-rules-without-{family}-{digest}.toml"
    atomic_write_bytes(path, to_toml(data).encode())
    return path


def to_toml(data: dict) -> str:
    """A TOML document of ``data`` (one ``key = value`` line per top-level key).

    Why hand-written: no TOML writer is a dependency, and the rules file holds only strings,
    numbers, booleans, lists and tables, which inline TOML spells exactly like JSON except
    for tables (``{ key = value }``).
    """

    def value(v) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, dict):
            return "{ " + ", ".join(f"{json.dumps(k)} = {value(x)}" for k, x in v.items()) + " }"
        if isinstance(v, list | tuple):
            return "[" + ", ".join(value(x) for x in v) + "]"
        return json.dumps(v, ensure_ascii=False)

    return "".join(f"{json.dumps(k)} = {value(v)}\n" for k, v in data.items())


def rule_count(rules: Rules) -> int:
    return sum(len(t.fields) for t in rules.doc_types.values()) + len(rules.doc_types)


# --------------------------------------------------------------------------- scoring


@dataclass
class Score:
    """Counts for one set of pages under one rule set."""

    counts: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    records: list[int] = field(default_factory=lambda: [0, 0])
    people: Counter = field(default_factory=Counter)
    persons_exposed: bool = False

    def micro(self) -> tuple[float, float, float]:
        tp = sum(c["tp"] for c in self.counts.values())
        fp = sum(c["fp"] for c in self.counts.values())
        fn = sum(c["fn"] for c in self.counts.values())
        return prf(tp, fp, fn)


def prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else float("nan")
    r = tp / (tp + fn) if tp + fn else float("nan")
    f = 2 * p * r / (p + r) if tp else 0.0
    return p, r, f


def found_persons(found, rules: Rules) -> list | None:
    """The people extraction names on the page, or ``None`` when ``ocr.fields`` has no people yet.

    Read from ``merge_record`` (the record-level people: role, name, id_number, birth_date)
    for a one-page record, as the flat fields are read from ``merge_fields``.
    """
    merge_record = getattr(ocr_fields, "merge_record", None)
    if merge_record is None:
        return None
    return list(merge_record([found], rules, kind=None).persons)


def score_pages(pages: Sequence[FormPage], readings, rules: Rules, *, verbose: bool) -> Score:
    """Score every page exactly as ``bench/fields.py`` does, plus people under their roles."""
    score = Score()
    for page, reading in zip(pages, readings, strict=True):
        found = extract_page(reading.ocr, reading.codes, rules, separator_codes=())
        fields, _ = merge_fields([found], rules)
        got = {f.name: norm(f.value) for f in fields}
        truth = {k: norm(v) for k, v in page.truth.items()}
        right = True
        for name in FIELD_NAMES:
            t, g = truth.get(name), got.get(name)
            if t is not None and g == t:
                score.counts[name]["tp"] += 1
                continue
            if verbose and t != g:
                log(f"  {page.family} #{page.seed} [{page.variant}] {name}: truth {t!r} got {g!r}")
            score.counts[name]["fp"] += g is not None
            score.counts[name]["fn"] += t is not None
            right = right and t is None and g is None
        score.records[0] += right
        score.records[1] += 1
        _score_people(page, found_persons(found, rules), score)
    return score


def _score_people(page: FormPage, persons: list | None, score: Score) -> None:
    if persons is None:
        return
    score.persons_exposed = True
    for person in page.people:
        if person.role not in ROLE_SCORED:
            continue
        score.people["n"] += 1
        same = [
            p
            for p in persons
            if getattr(p, "role", None) == person.role
            and norm(getattr(p, "name", None) or "") == norm(person.name)
        ]
        score.people["named"] += bool(same)
        together = any(
            (person.id_number is None or getattr(p, "id_number", None) == person.id_number)
            and (person.birth_date is None or getattr(p, "birth_date", None) == person.birth_date)
            for p in same
        )
        score.people["together"] += together


def role_recall(score: Score) -> str:
    if not score.persons_exposed:
        return "n/a"
    n = score.people["n"]
    return f"{score.people['named'] / n:.3f} / {score.people['together'] / n:.3f}" if n else "—"


# --------------------------------------------------------------------------- reading


def form_pages(per_family: int, seed: int) -> list[FormPage]:
    """``per_family`` pages of each family, alternately 300 and 200 dpi (scanner settings)."""
    return [
        make_page(family, seed + n, dpi=300 if n % 2 == 0 else 200)
        for family in FAMILIES
        for n in range(per_family)
    ]


def cached_read(pages, work: Path, tag: str, cache: Path | None) -> list[PageReading]:
    """``bench/fields.py``'s reading, or what an earlier run with the same key saved."""
    if cache is not None and (path := cache.with_suffix(f".{tag}.json")).exists():
        return [PageReading.model_validate(x) for x in json.loads(path.read_text())]
    readings = docgen_bench.read_all(pages, work, tag)
    if cache is not None:
        payload = json.dumps([r.model_dump(mode="json") for r in readings])
        atomic_write_bytes(cache.with_suffix(f".{tag}.json"), payload.encode())
    return readings


def cache_key(per_family: int, docgen_per_type: int, seed: int) -> str:
    """What readings depend on: the pages drawn and the code and settings reading them."""
    digest = hashlib.sha256(f"{seed}/{per_family}/{docgen_per_type}".encode())
    digest.update(docgen_bench.OPTS.model_dump_json().encode())
    sources = sorted((ROOT / "samples").rglob("*.py")) + [
        ROOT / "ocr" / f"{n}.py" for n in docgen_bench.READING_CODE
    ]
    for path in sources:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


# --------------------------------------------------------------------------- report


def run(args: argparse.Namespace) -> str:
    base = load_rules()
    cache = None
    if args.cache:
        cache = (
            OUT_MD.parent / "cache" / f"forms-{cache_key(args.per_family, args.docgen, args.seed)}"
        )
        cache.parent.mkdir(parents=True, exist_ok=True)
    clean = form_pages(args.per_family, args.seed)
    degraded = [degrade(p, args.seed) for p in clean]
    doc_clean = docgen_bench.make_documents(args.docgen, docgen_bench.SEED)
    rng = random.Random(docgen_bench.SEED + 1)
    doc_degraded = [docgen.degrade_page(p, rng) for p in doc_clean]
    with tempfile.TemporaryDirectory(prefix="sohoa-bench-forms-") as tmp:
        work = Path(tmp)
        log(f"reading {2 * len(clean)} form pages and {2 * len(doc_clean)} docgen pages")
        readings = {
            "clean": cached_read(clean, work, "clean", cache),
            "degraded": cached_read(degraded, work, "degraded", cache),
            "docgen-clean": cached_read(doc_clean, work, "docgen-clean", cache),
            "docgen-degraded": cached_read(doc_degraded, work, "docgen-degraded", cache),
        }
    families = list(FAMILIES) if args.hold_out in ("all-rotating", "none") else [args.hold_out]
    rows, per_field = [], {}
    for family in families:
        held = base if args.hold_out == "none" else held_out_rules(base, family)
        scores = score_family(family, clean, degraded, readings, (base, held), args.verbose)
        per_field[family] = scores["held"]
        n = sum(p.family == family for p in clean)
        rows.append(family_row(family, n, scores, rule_count(base) - rule_count(held)))
    doc = {
        k: docgen_bench.score_fields(pages, readings[k], base)
        for k, pages in (("docgen-clean", doc_clean), ("docgen-degraded", doc_degraded))
    }
    rows.append(docgen_row(len(doc_clean), doc))
    return report(args, rows, per_field, base)


def score_family(family, clean, degraded, readings, rule_sets, verbose: bool) -> dict[str, Score]:
    """One family's pages scored clean and degraded with all rules, and degraded held out."""
    base, held = rule_sets
    idx = [n for n, p in enumerate(clean) if p.family == family]

    def pick(seq):
        return [seq[n] for n in idx]

    deg, deg_read = pick(degraded), pick(readings["degraded"])
    return {
        "clean": score_pages(pick(clean), pick(readings["clean"]), base, verbose=False),
        "degraded": score_pages(deg, deg_read, base, verbose=False),
        "held": score_pages(deg, deg_read, held, verbose=verbose),
    }


def family_row(family: str, n: int, s: dict[str, Score], dropped: int) -> list[str]:
    _, _, f_clean = s["clean"].micro()
    _, _, f_deg = s["degraded"].micro()
    p, r, f = s["held"].micro()
    ok, total = s["held"].records
    return [
        family, str(n), str(dropped), f"{f_clean:.3f}", f"{f_deg:.3f}",
        f"{p:.3f}", f"{r:.3f}", f"**{f:.3f}**", f"{ok}/{total}", role_recall(s["held"]),
    ]  # fmt: skip


def docgen_row(n: int, doc: dict[str, dict]) -> list[str]:
    def micro(result: dict) -> tuple[float, float, float]:
        c = result["counts"]
        return prf(*(sum(x[k] for x in c.values()) for k in ("tp", "fp", "fn")))

    _, _, f_clean = micro(doc["docgen-clean"])
    p, r, f = micro(doc["docgen-degraded"])
    ok, total = doc["docgen-degraded"]["records"]
    return [
        "docgen (rules written on it)", str(n), "—", f"{f_clean:.3f}", f"{f:.3f}",
        f"{p:.3f}", f"{r:.3f}", f"**{f:.3f}**", f"{ok}/{total}", "n/a",
    ]  # fmt: skip


def report(args, rows, per_field: dict[str, Score], base: Rules) -> str:
    exposed = any(s.persons_exposed for s in per_field.values())
    held = {"none": "no rule held out", "all-rotating": "each family with its own rules held out"}
    head = [
        "# Field extraction on official layout families (`bench/forms_fields.py`)",
        "",
        (
            f"- date: {datetime.now().isoformat(timespec='seconds')}; commit"
            f" {git('rev-parse', '--short', 'HEAD')} (working tree as run);"
            f" rules: {rule_count(base)} rows + types"
        ),
        (
            f"- {args.per_family} pages per family (seed {args.seed}), 300/200 dpi alternately,"
            f" clean and mildly degraded; docgen: {args.docgen} of each of its 5 types"
            " (bench/fields.py's seed and scorer)"
        ),
        (
            f"- protocol: {held.get(args.hold_out, f'{args.hold_out} held out')}; field F1 is"
            " micro over all printed fields"
        ),
        "",
    ]
    headers = [
        "family", "pages", "rules dropped", "F1 clean (all rules)", "F1 degraded (all rules)",
        "P held-out", "R held-out", "F1 held-out (degraded)", "whole records", "person-role recall (name / with ID+DOB)",
    ]  # fmt: skip
    body = table(headers, rows)
    note = (
        ""
        if exposed
        else "\n\nPerson-role recall is n/a: `ocr.fields` does not expose persons per page yet"
        " (no `ocr.fields.merge_record`)."
    )
    field_rows = []
    for name in FIELD_NAMES:
        row = [name]
        for score in per_field.values():
            c = score.counts[name]
            support = c["tp"] + c["fn"]
            f = prf(c["tp"], c["fp"], c["fn"])[2]
            row.append(
                f"{f:.2f} ({support})" if support else ("fp " + str(c["fp"]) if c["fp"] else "—")
            )
        field_rows.append(row)
    fields = (
        "\n\n## Per field, held-out, degraded: F1 (printed on n pages); "
        '"fp k" = read k times where not printed\n\n' + table(["field", *per_field], field_rows)
    )
    return "\n".join(head) + "\n" + body + note + fields + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-family", type=int, default=4)
    parser.add_argument("--docgen", type=int, default=2, help="docgen pages per type (baseline)")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument(
        "--hold-out",
        default="all-rotating",
        choices=[*FAMILIES, "all-rotating", "none"],
        help="family measured with its own rules removed, each in turn, or none",
    )
    parser.add_argument("--cache", action="store_true", help="reuse readings of an earlier run")
    parser.add_argument("--verbose", action="store_true", help="log every held-out miss")
    args = parser.parse_args()
    text = run(args)
    print(text)
    OUT_MD.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(OUT_MD, text.encode())


if __name__ == "__main__":
    main()
