"""Crops of an archived page around a field's box, for the review page's "what was read where".

Why the signed PDF and not the originals or page images: the archive keeps the
originals (as uploaded: a multi-page PDF would have to be unpacked again) and the
signed PDF; the page images of the pipeline are scratch and deleted. The signed
PDF is the legal copy, so showing a clerk a crop of it shows what an auditor
will see. In its default ``mrc`` mode a page is several layers (ink masks over a
low-resolution background), so the page is *rendered* with poppler's ``pdftoppm``,
not extracted with pikepdf: only rendering composes the layers.

Field boxes are ``(left, top, width, height)`` in pixels of the scan as it came
from the scanner; the PDF page is that scan at its true size, turned by
``/Rotate`` when the scan was sideways or upside down. A rendered page is turned
back and scaled to the scan's pixel grid before cropping.

Rendered pages (at :data:`RENDER_DPI`, a few MB each) and finished crops (a few
KB) are kept in bounded in-memory LRU caches keyed by the PDF's sha256, so a
review page's ten crops render the page once and a changed PDF never serves an
old picture. Nothing is written to disk beyond a temporary copy of the PDF:
crops carry personal data, and the derived area of the store is not the place
to multiply it.
"""

from __future__ import annotations

import hashlib
import io
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

from PIL import Image

from catalog.rows import RecordRow
from schemas.models import PageSummary
from sohoa.errors import (
    ExternalProgramError,
    InvalidRequestError,
    NotFoundError,
    VerificationError,
)
from sohoa.programs import pdftoppm
from storage.objectstore import ObjectStore

__all__ = ["CropCache", "parse_box"]

RENDER_DPI = 150
"""Enough to read a line of print; an A4 page is about 1240 × 1754 pixels."""
MAX_WIDTH = 1000
"""Crops wider than this (in rendered pixels) are scaled down."""
RENDER_TIMEOUT_S = 60

K = TypeVar("K")
V = TypeVar("V")


class _Lru(Generic[K, V]):
    """A small thread-safe least-recently-used map."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: K, value: V) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)


def parse_box(text: str) -> tuple[int, int, int, int]:
    """``"left,top,width,height"`` as four whole numbers, width and height above zero.

    Raises:
        InvalidRequestError: anything else (400).
    """
    parts = text.split(",")
    try:
        left, top, width, height = (int(p) for p in parts)
    except ValueError:
        raise InvalidRequestError("bad_crop_box", box=text[:40]) from None
    if min(left, top) < 0 or min(width, height) <= 0 or max(width, height) > 100_000:
        raise InvalidRequestError("bad_crop_box", box=text[:40])
    return left, top, width, height


def _render(pdf: bytes, number: int) -> Image.Image:
    pages = pdftoppm.render_bytes(
        pdf, dpi=RENDER_DPI, first_page=number, last_page=number, timeout=RENDER_TIMEOUT_S
    )
    return pages[0].convert("RGB")


def _scan_grid(rendered: Image.Image, page: PageSummary) -> Image.Image:
    """The rendered page turned back to the scan's orientation (``/Rotate`` is clockwise)."""
    if page.rotation % 360:
        rendered = rendered.rotate(page.rotation % 360, expand=True)
    return rendered


def _cut(image: Image.Image, page: PageSummary, box: tuple[int, int, int, int]) -> bytes:
    """The box with some of its line around it, as PNG; the box is in scan pixels."""
    scale = image.width / page.width if page.width else RENDER_DPI / page.dpi
    left, top, width, height = box
    margin_y = max(height // 2, round(page.dpi / 12))
    margin_x = max(margin_y, round(page.dpi))  # an inch each side: the label before the value
    area = (
        max(0, int((left - margin_x) * scale)),
        max(0, int((top - margin_y) * scale)),
        min(image.width, int((left + width + margin_x) * scale) + 1),
        min(image.height, int((top + height + margin_y) * scale) + 1),
    )
    if area[0] >= area[2] or area[1] >= area[3]:
        raise InvalidRequestError("bad_crop_box", box=",".join(map(str, box)))
    crop = image.crop(area)
    if crop.width > MAX_WIDTH:
        crop = crop.resize((MAX_WIDTH, max(1, crop.height * MAX_WIDTH // crop.width)))
    out = io.BytesIO()
    crop.save(out, format="PNG", optimize=True)
    return out.getvalue()


class CropCache:
    """Rendered pages and crops of archived PDFs (module docstring)."""

    def __init__(self, *, pages: int = 4, crops: int = 256) -> None:
        self._pages: _Lru[tuple[str, int], Image.Image] = _Lru(pages)
        self._crops: _Lru[tuple[str, int, tuple[int, ...]], bytes] = _Lru(crops)
        self._render_lock = threading.Lock()

    def crop(
        self,
        store: ObjectStore,
        row: RecordRow,
        pages: tuple[PageSummary, ...],
        number: int,
        box: tuple[int, int, int, int],
    ) -> bytes:
        """PNG bytes of page ``number`` (1-based) of the record's PDF around ``box``.

        Raises:
            NotFoundError: the record has no such page.
            VerificationError: the stored PDF is not the one archived (sha256 differs).
            InvalidRequestError: the box lies outside the page.
        """
        if not 1 <= number <= len(pages):
            raise NotFoundError(what="page", name=f"{row.id} #{number}")
        key = (row.pdf_sha256, number, box)
        if (found := self._crops.get(key)) is not None:
            return found
        page = pages[number - 1]
        image = self._page(row, number, page, lambda: self._pdf(store, row))
        png = _cut(image, page, box)
        self._crops.put(key, png)
        return png

    def _page(
        self, row: RecordRow, number: int, page: PageSummary, pdf: Callable[[], bytes]
    ) -> Image.Image:
        key = (row.pdf_sha256, number)
        with self._render_lock:  # one render at a time: poppler is heavy, pages repeat
            image = self._pages.get(key)
            if image is None:
                data = pdf()
                try:
                    image = _scan_grid(_render(data, number), page)
                except ExternalProgramError:
                    raise  # from the pdftoppm door: names the program and the reason
                except Exception as exc:  # an unreadable or empty rendering
                    detail = type(exc).__name__
                    raise ExternalProgramError(
                        "program_failed", program="pdftoppm", code="-", detail=detail
                    ) from exc
                self._pages.put(key, image)
        return image

    @staticmethod
    def _pdf(store: ObjectStore, row: RecordRow) -> bytes:
        data = store.get_bytes(row.pdf_key)
        if hashlib.sha256(data).hexdigest() != row.pdf_sha256:
            raise VerificationError(record=row.id, reason="sha256 mismatch; run sohoa verify")
        return data
