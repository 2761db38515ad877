"""The audit log in the object store: hash-chained entries in sealed, object-locked segments.

Why: the catalog is disposable and anyone with write access to its database could
delete or edit a row unseen. Entries are still appended to the catalog as they happen
(one short insert per action, as before); :func:`seal` then copies the entries not yet
in the store into a new *segment* under ``archive/_audit/`` (the locked area, so a
segment cannot be changed or removed before its retention ends) and is never rewritten.

The chain: every entry carries ``prev``, the SHA-256 of the entry before it (the last
entry of the previous segment for a segment's first; 64 zeros for the very first), and
``sha256``, its own hash over its canonical JSON without that field. A segment states the
head it starts from and the head it ends on, so the chain head is recoverable from the
store alone (the last segment's ``head``). A deleted, edited or reordered entry breaks a
hash or a link; a missing segment leaves a gap in the numbers; a removed *last* segment is
caught against the seal note the catalog keeps (``audit.seal``, whose detail is the head).

When entries are sealed: by the nightly run, by ``sohoa catalog backup`` and before a
rebuild, each taking every entry not yet sealed in segments of at most
:data:`SEGMENT_MAX` entries. A claim keeps two sealers apart, and a segment key that
already exists is never written again. Entries younger than :data:`SETTLE` on PostgreSQL
wait for the next seal: ids come from a sequence, so a row with a lower id may commit
after a higher one; SQLite's single writer commits in id order.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from catalog import audit
from catalog.audit import Action, Actor
from catalog.copying import import_rows
from catalog.database import Catalog
from catalog.search_index import on_postgres
from catalog.tables import AuditTable
from sohoa.errors import NotFoundError, SohoaError, StorageError, VerificationError
from storage import claims
from storage.object_keys import AUDIT_PREFIX, audit_segment_key, audit_segment_number
from storage.objectstore import ObjectStore

log = logging.getLogger(__name__)

FORMAT = "sohoa-audit-segment/1"
GENESIS = "0" * 64
"""The ``prev`` of the very first entry."""
SEGMENT_MAX = 5000
"""Entries per segment at most (a segment is read whole; 5,000 entries are ~2 MB)."""
SETTLE = timedelta(seconds=5)
"""How old an entry must be before it is sealed on PostgreSQL (see the module docstring)."""
CLAIM = "audit-seal"
SEALER = Actor("sohoa", via="system")


def entry_hash(entry: dict[str, Any]) -> str:
    """SHA-256 of an entry's canonical JSON (sorted keys, no spaces), its ``sha256`` left out."""
    body = {k: v for k, v in entry.items() if k != "sha256"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def chain(rows: list[dict[str, Any]], prev: str) -> list[dict[str, Any]]:
    """The rows as chained entries, each linked to the one before (the first to ``prev``)."""
    entries = []
    for row in rows:
        entry = {**row, "prev": prev}
        entry["sha256"] = prev = entry_hash(entry)
        entries.append(entry)
    return entries


@dataclass(frozen=True)
class Tail:
    """Where the sealed chain ends: the last segment's number, head and last entry id."""

    number: int = 0
    head: str = GENESIS
    last_id: int = 0


def segment_numbers(store: ObjectStore) -> list[int]:
    """Numbers of the segments in the store, ascending."""
    found = (audit_segment_number(key) for key in store.list(AUDIT_PREFIX))
    return sorted(n for n in found if n is not None)


def read_segment(store: ObjectStore, number: int) -> dict[str, Any]:
    """One segment, parsed.

    Raises:
        NotFoundError: it is not in the store.
        StorageError: the store failed.
        VerificationError: the object is not a segment (damaged, or not ours).
    """
    key = audit_segment_key(number)
    data = store.get_bytes(key)
    try:
        segment = json.loads(data)
        if segment.get("format") != FORMAT or not isinstance(segment.get("entries"), list):
            raise ValueError("not an audit segment")
    except (ValueError, AttributeError) as exc:
        raise VerificationError(record=key, reason=str(exc)[:120]) from None
    return segment


def tail_of(store: ObjectStore) -> Tail:
    """Where the next segment starts, from the last segment's own header."""
    numbers = segment_numbers(store)
    if not numbers:
        return Tail()
    last = read_segment(store, numbers[-1])
    try:
        return Tail(numbers[-1], str(last["head"]), int(last["last_id"]))
    except (KeyError, TypeError, ValueError):
        key = audit_segment_key(numbers[-1])
        raise VerificationError(record=key, reason="its header is incomplete") from None


def _segment(number: int, prev: str, entries: list[dict[str, Any]]) -> bytes:
    body = {
        "format": FORMAT,
        "segment": number,
        "sealed_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "prev": prev,
        "head": entries[-1]["sha256"],
        "first_id": entries[0]["id"],
        "last_id": entries[-1]["id"],
        "count": len(entries),
        "entries": entries,
    }
    return json.dumps(body, ensure_ascii=False, indent=0).encode("utf-8")


def _only_seal_notes(rows: list[dict[str, Any]]) -> bool:
    return all(r["action"] == Action.AUDIT_SEAL for r in rows)


def seal_once(catalog: Catalog, store: ObjectStore, tail: Tail) -> tuple[Tail, int] | None:
    """Write the next segment from the entries after ``tail``; its tail and entry count, or
    ``None`` when there is nothing (but seal notes) to seal or another sealer has the key.

    The seal note is written after the segment: a crash between the two only leaves the
    anchor one segment behind, never pointing at a segment that is not there.
    """
    until = datetime.now(UTC) - SETTLE if _postgres(catalog) else None
    rows = audit.rows_after(catalog, tail.last_id, until=until, limit=SEGMENT_MAX)
    if not rows or _only_seal_notes(rows):
        return None
    number, entries = tail.number + 1, chain(rows, tail.head)
    key = audit_segment_key(number)
    if store.exists(key):  # never rewrite a segment, whoever wrote it
        log.warning("audit segment %s already exists; not sealing again", key)
        return None
    store.put_bytes(key, _segment(number, tail.head, entries), content_type="application/json")
    head = entries[-1]["sha256"]
    audit.record(catalog, SEALER, Action.AUDIT_SEAL, target=head, detail={"segment": number})
    return Tail(number, head, int(entries[-1]["id"])), len(entries)


def _postgres(catalog: Catalog) -> bool:
    with catalog._read() as session:
        return on_postgres(session)


@dataclass(frozen=True)
class SealResult:
    """What one :func:`seal` did."""

    segments: tuple[int, ...] = ()
    """Numbers of the segments written."""
    entries: int = 0
    """Entries sealed into them."""
    busy: bool = False
    """Another process held the sealing claim; nothing was done here."""


def seal(catalog: Catalog, store: ObjectStore, *, place: claims.Place) -> SealResult:
    """Seal every entry not yet in the store, in as many segments as needed.

    Raises:
        StorageError: the store or catalog failed.
        VerificationError: the last segment is damaged (sealing on top of it would hide
            that; ``sohoa verify --audit`` says more).
    """
    with claims.hold(place, CLAIM) as held:
        if held is None:
            return SealResult(busy=True)
        tail, written, entries = tail_of(store), [], 0
        while (done := seal_once(catalog, store, tail)) is not None:
            tail, count = done
            written.append(tail.number)
            entries += count
    return SealResult(tuple(written), entries)


# --- verification ----------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditProblem:
    """One thing wrong with the sealed trail; the CLI words it (``audit_problem_<code>``)."""

    code: str
    """``missing``, ``unreadable``, ``not_following``, ``edited``, ``unlinked``,
    ``out_of_order``, ``count``, ``head``, ``anchor_missing`` or ``anchor_differs``."""
    segment: int | str
    """The segment's number (a range such as ``3-4`` for missing ones)."""
    entry: Any = None
    """The entry's id, for problems of one entry."""
    detail: str = ""
    """More for the reader: a count, or why a segment could not be read."""


@dataclass
class AuditCheck:
    """What ``sohoa verify --audit`` found."""

    segments: int = 0
    entries: int = 0
    head: str = GENESIS
    """The chain head: the last segment's head, as the store holds it."""
    anchored: bool = False
    """True when the catalog's newest seal note was there to check the last segment against."""
    problems: list[AuditProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def error_kind(self) -> type[SohoaError] | None:
        """:class:`VerificationError` when the trail was tampered with, else ``None``."""
        return VerificationError if self.problems else None

    def add(self, code: str, segment: int | str, entry: Any = None, detail: str = "") -> None:
        self.problems.append(AuditProblem(code, segment, entry, detail))

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "segments": self.segments,
            "entries": self.entries,
            "head": self.head,
            "anchored": self.anchored,
            "problems": [asdict(p) for p in self.problems],
        }


def _check_entry(entry: dict[str, Any], number: int, prev: str, last_id: int, found: AuditCheck):
    """Check one entry's own hash, its link to ``prev`` and its place after ``last_id``."""
    ident = entry.get("id")
    if entry_hash(entry) != entry.get("sha256"):
        found.add("edited", number, ident)
    elif entry.get("prev") != prev:
        found.add("unlinked", number, ident)
    if not isinstance(ident, int) or ident <= last_id:
        found.add("out_of_order", number, ident)


def _check_segment(segment: dict[str, Any], number: int, prev: str, found: AuditCheck) -> str:
    """Check one segment's entries against their hashes and links; the head it states."""
    if segment.get("prev") != prev:
        found.add("not_following", number)
    entries, last_id = segment["entries"], 0
    for entry in entries:
        entry = entry if isinstance(entry, dict) else {}
        _check_entry(entry, number, prev, last_id, found)
        last_id = entry["id"] if isinstance(entry.get("id"), int) else last_id
        prev = str(entry.get("sha256"))
    found.entries += len(entries)
    if segment.get("count") != len(entries):
        found.add("count", number, detail=f"{len(entries)}/{segment.get('count')}")
    if entries and segment.get("head") != prev:
        found.add("head", number)
    return str(segment.get("head", prev))


def verify_trail(store: ObjectStore, anchor: tuple[int, str] | None) -> AuditCheck:
    """Walk every segment in order and check the chain; ``anchor`` is the catalog's newest
    seal note (segment number, head), when the catalog could be read."""
    found, prev, expected = AuditCheck(anchored=anchor is not None), GENESIS, 1
    heads: dict[int, str] = {}
    for number in segment_numbers(store):
        if number != expected:
            found.add("missing", f"{expected}-{number - 1}" if number - 1 > expected else expected)
        try:
            segment = read_segment(store, number)
        except (NotFoundError, StorageError, VerificationError) as exc:
            found.add("unreadable", number, detail=exc.render("en")[:160])
            expected, prev = number + 1, GENESIS
            continue
        if number != expected:
            prev = str(segment.get("prev"))  # one problem per gap, not one per link
        prev = heads[number] = _check_segment(segment, number, prev, found)
        expected = number + 1
        found.segments += 1
    found.head = prev
    if anchor is not None and anchor[0] >= expected:
        found.add("anchor_missing", anchor[0])
    elif anchor is not None and heads.get(anchor[0], anchor[1]) != anchor[1]:
        found.add("anchor_differs", anchor[0])
    return found


# --- rebuild -----------------------------------------------------------------------------------


def sealed_segments(store: ObjectStore) -> Iterator[tuple[int, dict[str, Any]]]:
    """Each readable segment with its number, in order.

    A segment that cannot be read is left out with a warning: a rebuild restores what it
    can; ``sohoa verify --audit`` reports the damage.
    """
    for number in segment_numbers(store):
        try:
            yield number, read_segment(store, number)
        except (StorageError, VerificationError) as exc:
            log.warning("audit segment %d not restored: %s", number, exc.render("en"))


def restore(store: ObjectStore, target: Catalog) -> tuple[int, Tail]:
    """Write every sealed entry into ``target`` (chain fields dropped); the entries written
    and where the sealed chain ends."""
    columns = {c.name for c in AuditTable.__table__.columns}
    written, tail = 0, Tail()
    for number, segment in sealed_segments(store):
        rows = [{k: v for k, v in e.items() if k in columns} for e in segment["entries"]]
        written += import_rows(target, [(AuditTable, rows)])[AuditTable.__tablename__]
        last_id = max([tail.last_id, *(int(r["id"]) for r in rows)])
        tail = Tail(number, str(segment.get("head")), last_id)
    return written, tail


def anchor(target: Catalog, tail: Tail) -> None:
    """Note the restored chain's end as a seal note, unless the catalog already has one for
    it: a catalog rebuilt from the segments alone keeps ``verify --audit``'s anchor."""
    noted = audit.last_seal(target)
    if tail.number and (noted is None or noted[0] < tail.number):
        detail = {"segment": tail.number, "restored": True}
        audit.record(target, SEALER, Action.AUDIT_SEAL, target=tail.head, detail=detail)
