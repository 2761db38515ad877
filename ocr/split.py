"""Split a scanned stack into dossiers: a new mã hồ sơ or a separator sheet starts the next one.

Why: a clerk scans the day's counter pile in one go; each dossier must become
its own record with its own archive object, or the rates and the search are
wrong. The cues are the ones a clerk uses by eye — the one-stop system's
receipt (its code, printed or in a QR/barcode) on top of each dossier, and the
separator sheets some offices put between dossiers — and nothing else, so a
page is never moved on a guess.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from ocr.fields import PageFields
from schemas.fields import Segment


@dataclass
class _Open:
    pages: list[int] = field(default_factory=list)
    code: str | None = None
    has_receipt: bool = False
    reason: str = "start"


def page_dossier_code(page: PageFields) -> str | None:
    """The mã hồ sơ that identifies the dossier a page opens, if it can open one.

    A decoded QR code or barcode carries it on any page (receipts and results
    printed by the one-stop system); printed text counts only on a receipt.
    """
    best = page.best("dossier_code")
    if best is None or best.problem:
        return None
    if best.method in ("qr", "barcode") or page.facts.doc_type == "receipt":
        return best.value
    return None


def split_batch(pages: Sequence[PageFields], *, split: bool = True) -> list[Segment]:
    """Group the batch's pages into dossiers, in paper order; separator sheets are dropped.

    Args:
        pages: every page of the batch, in order.
        split: ``False`` keeps all pages together (``--dossier`` given, or splitting off).
    """
    if not split:
        kept = tuple(p.facts.index for p in pages if p.facts.doc_type != "separator")
        return [Segment(pages=kept, dossier_code=None, reason="forced")] if kept else []
    segments: list[Segment] = []
    current = _Open()
    for page in pages:
        if page.facts.doc_type == "separator":
            _close(current, segments)
            current = _Open(reason="separator")
            continue
        code = page_dossier_code(page)
        receipt = page.facts.doc_type == "receipt"
        if current.pages and _starts_new(current, code, receipt):
            _close(current, segments)
            current = _Open(reason="new_receipt")
        current.pages.append(page.facts.index)
        current.code = current.code or code
        current.has_receipt = current.has_receipt or receipt
    _close(current, segments)
    return segments


def _starts_new(current: _Open, code: str | None, receipt: bool) -> bool:
    """A different mã hồ sơ, or a second receipt in a dossier that already has one."""
    if code is not None and current.code is not None:
        return code != current.code
    if code is not None:  # the open pages have no code yet: this code names them, unless it
        return current.has_receipt and receipt  # is a second receipt after an unreadable one
    return receipt and current.has_receipt


def _close(current: _Open, segments: list[Segment]) -> None:
    if current.pages:
        segments.append(
            Segment(pages=tuple(current.pages), dossier_code=current.code, reason=current.reason)
        )
