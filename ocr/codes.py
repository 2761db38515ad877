"""QR codes and 1-D barcodes on page images, and what their payloads say.

Receipts and results printed by one-stop systems carry a QR code (mã hồ sơ,
mã TTHC, the applicant's ID, document name, source system, issue time,
appointment date) and often a Code 39 barcode of the mã hồ sơ; separator
sheets between dossiers carry a code too. A decoded code is worth more than
any OCR reading, so every page goes through :func:`decode_codes`.

Speed: zxing-cpp runs on every page, so the options are the cheapest that
still read every test symbol (300/200 dpi, turned 90/180/270, skewed ±3°,
JPEG q40 with noise). Median ms per A4 page, one core (zxing 3.1.1):

=====================================================  =======  =======
setting                                                300 dpi  200 dpi
=====================================================  =======  =======
zxing defaults (all formats), RGB PIL image                171       84
our 5 formats, RGB PIL image                               113       53
our 5 formats, RGB array                                    94       45
our 5 formats, grayscale (RGB->L conversion included)       82       40
and ``try_invert=False``                                    59       30
and ``try_downscale=False`` (chosen)                        48       21
and ``try_rotate=False``: misses 1-D codes turned 90/270    23       11
=====================================================  =======  =======

A page without any code costs the same. Downscaled passes only help symbols
far larger than printed ones; inverted (light-on-dark) codes are not printed
on paper. Limits measured with these settings: 1-D symbols need about 1.5 px
per narrow bar (at 200 dpi a Code 39 of a 25-character mã hồ sơ must be about
65 mm wide or more), QR codes about 1.8 px per module on a noisy JPEG, and a
1-D symbol is only read while some pixel row crosses all its bars, i.e.
``tan(skew) < bar height / symbol width`` (a 110 x 10 mm Code 39 fails at 5°).
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Iterable, Iterator
from datetime import date
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

import cv2
import numpy as np
import zxingcpp
from PIL import Image, UnidentifiedImageError

from ocr.validators import (
    Checked,
    check_date,
    check_document_number,
    check_dossier_code,
    check_email,
    check_id_number,
    check_person_name,
    check_phone,
    check_procedure_code,
    check_text,
    id_kind,
)
from schemas.fields import Box, CodeHit
from sohoa.errors import BadInputError
from sohoa.textfold import fold

__all__ = ["decode_codes", "is_separator", "parse_code_payload"]

_FORMAT_NAMES = ("QRCode", "MicroQRCode", "DataMatrix", "Code39", "Code128")
"""What one-stop systems print: QR (TCVN 7322), Code 39 / Code 128 of the mã hồ sơ."""


def _formats() -> zxingcpp.BarcodeFormats:
    """Built per call: a module-level nanobind object outlives the interpreter's teardown and
    makes nanobind print "leaked instance" warnings at every exit."""
    return zxingcpp.BarcodeFormats([getattr(zxingcpp.BarcodeFormat, n) for n in _FORMAT_NAMES])


_READ_OPTIONS = {"try_rotate": True, "try_downscale": False, "try_invert": False}
"""Chosen by measurement (see the module docstring): paper codes are never light-on-dark."""


# --- decoding ---------------------------------------------------------------------------


def _to_uint8(arr: np.ndarray) -> np.ndarray:
    """Bring any numeric pixel array to 8 bits (bool masks, 16-bit scans, 0-1 floats)."""
    if arr.dtype == np.uint8:
        return arr
    if arr.dtype == bool:
        return arr.astype(np.uint8) * 255
    if np.issubdtype(arr.dtype, np.floating):
        scale = 255.0 if arr.size and float(np.nanmax(arr)) <= 1.0 else 1.0
        return np.clip(np.nan_to_num(arr) * scale, 0, 255).astype(np.uint8)
    if arr.dtype == np.uint16:
        return (arr >> 8).astype(np.uint8)
    return np.clip(arr, 0, 255).astype(np.uint8)


def _gray_from_array(arr: np.ndarray) -> np.ndarray:
    """Luminance of an H x W (x 1/3/4) array; three channels are taken as RGB.

    BGR input works too: only the weights of the red and blue channels swap,
    which does not matter for black-on-white symbols.
    """
    arr = _to_uint8(np.asarray(arr))
    if arr.size == 0:
        return arr
    if arr.ndim == 3 and arr.shape[2] in (1, 2):  # gray, gray + alpha
        arr = arr[:, :, 0]
    elif arr.ndim == 3 and arr.shape[2] in (3, 4):
        code = cv2.COLOR_RGB2GRAY if arr.shape[2] == 3 else cv2.COLOR_RGBA2GRAY
        arr = cv2.cvtColor(np.ascontiguousarray(arr), code)
    return np.ascontiguousarray(arr)


def _load_gray(image: np.ndarray | Image.Image | str | Path) -> np.ndarray:
    """One grayscale, C-contiguous 8-bit array from whatever the caller holds.

    Why grayscale here: zxing converts to luminance anyway, and converting once
    ourselves is faster than handing it RGB (measured 82 vs 94 ms per 300-dpi page).
    A colour JPEG file is decoded straight to its luminance (Pillow's draft mode: no
    chroma upsampling or colour conversion): 20 instead of 45 ms for an A4 page at
    300 dpi, the same grey but for a few pixels at colour edges.
    """
    if isinstance(image, str | Path):
        try:
            with Image.open(image) as opened:
                if opened.format == "JPEG" and opened.mode == "RGB":
                    opened.draft("L", opened.size)
                opened.load()
                return _load_gray(opened)
        except (OSError, UnidentifiedImageError, Image.DecompressionBombError) as exc:
            raise BadInputError("corrupt_image", file=Path(image).name, reason=str(exc)) from exc
    if isinstance(image, Image.Image):
        if image.mode in ("RGB", "RGBA", "L", "I;16", "I;16B", "I", "F"):
            return _gray_from_array(np.asarray(image))  # OpenCV converts 3x faster than PIL
        return np.asarray(image.convert("L"))
    return _gray_from_array(image)


def _box(barcode: zxingcpp.Barcode, width: int, height: int) -> Box:
    """Axis-aligned ``(left, top, width, height)`` around a symbol's four corners."""
    pos = barcode.position
    corners = (pos.top_left, pos.top_right, pos.bottom_right, pos.bottom_left)
    xs = [min(max(p.x, 0), width - 1) for p in corners]
    ys = [min(max(p.y, 0), height - 1) for p in corners]
    return (min(xs), min(ys), max(xs) - min(xs) + 1, max(ys) - min(ys) + 1)


_LINEAR = frozenset({"Code39", "Code128"})
_BAR_ROW_SHARE = 0.5
"""A row still crosses the bars when it has at least this share of the transitions
(dark/light changes) of the rows zxing read."""


def _bar_extent(gray: np.ndarray, box: Box, horizontal: bool) -> Box:
    """Grow a 1-D symbol's box along its bars to their full length.

    Why: zxing places a linear symbol by the scan lines that decoded it, which
    can be a thin band (a third of the bar height on a noisy JPEG). Rows (or
    columns, for a turned symbol) are added while they keep crossing about as
    many bar edges as the decoded ones; the white gap above and below the bars
    (or before human-readable text) stops the growth.
    """
    arr = gray if horizontal else gray.T
    left, top, width, height = box if horizontal else (box[1], box[0], box[3], box[2])
    reach = max(width, height)
    low, high = max(0, top - reach), min(arr.shape[0], top + height + reach)
    strip = arr[low:high, left : left + width]
    core = strip[top - low : top - low + height]
    dark_level, light_level = np.percentile(core, (5, 95))
    if light_level - dark_level < 32:  # no contrast: keep zxing's box
        return box
    dark = strip < (dark_level + light_level) / 2
    edges = np.count_nonzero(dark[:, 1:] != dark[:, :-1], axis=1)
    needed = _BAR_ROW_SHARE * float(np.median(edges[top - low : top - low + height]))
    first, last = top - low, top - low + height - 1
    while first > 0 and edges[first - 1] >= needed:
        first -= 1
    while last < len(edges) - 1 and edges[last + 1] >= needed:
        last += 1
    top, height = low + first, last - first + 1
    return (left, top, width, height) if horizontal else (top, left, height, width)


def _text(barcode: zxingcpp.Barcode) -> str:
    """The payload as UTF-8 when its bytes are UTF-8, else zxing's own reading.

    Why: QR codes from one-stop systems hold Vietnamese as UTF-8 bytes, usually
    without an ECI marker, and zxing then guesses the charset (ISO-8859-1 or
    Shift_JIS) from the bytes; a code written in Latin-1 is not valid UTF-8
    and keeps zxing's decoding.
    """
    try:
        return barcode.bytes.decode("utf-8")
    except UnicodeDecodeError:
        return barcode.text


def _overlaps(a: Box, b: Box) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def _unique(hits: Iterable[CodeHit]) -> list[CodeHit]:
    """Drop repeated reads of one symbol (same format and text, overlapping boxes).

    Two separate symbols with the same content (a QR at the top and at the
    bottom of a page) are both kept: they are two things on the paper.
    """
    kept: list[CodeHit] = []
    for hit in hits:
        if not any(
            k.format == hit.format and k.text == hit.text and _overlaps(k.box, hit.box)
            for k in kept
        ):
            kept.append(hit)
    return kept


def _hit(gray: np.ndarray, barcode: zxingcpp.Barcode, page: int) -> CodeHit:
    """One decoded symbol as a :class:`CodeHit`, its box grown to full bars for 1-D codes."""
    height, width = gray.shape
    box = _box(barcode, width, height)
    name = barcode.format.name
    if name.startswith("Code39"):  # zxing says Code39Ext when it read full-ASCII pairs
        name = "Code39"
    if name in _LINEAR:
        horizontal = abs((barcode.orientation + 90) % 180 - 90) < 45
        box = _bar_extent(gray, box, horizontal)
    return CodeHit(format=name, text=_text(barcode), page=page, box=box)


def decode_codes(image: np.ndarray | Image.Image | str | Path, page: int) -> tuple[CodeHit, ...]:
    """Find and decode every QR code, Data Matrix, Code 39 and Code 128 symbol on a page.

    Args:
        image: the page: a PIL image, an ``H x W`` / ``H x W x 3|4`` array
            (RGB or BGR), or a path to an image file.
        page: 0-based page index, copied into every hit.

    Returns:
        The hits sorted top-to-bottom, then left-to-right, with boxes in the
        input image's pixels (the image as given: a turned page is not turned
        back). Empty when there is no symbol, including for tiny or blank images.

    Raises:
        BadInputError: ``image`` is a path that cannot be read as an image.
    """
    gray = _load_gray(image)
    if gray.ndim != 2 or min(gray.shape) < 1:
        return ()
    found = zxingcpp.read_barcodes(gray, formats=_formats(), **_READ_OPTIONS)
    hits = [_hit(gray, b, page) for b in found if b.valid]
    ordered = sorted(_unique(hits), key=lambda h: (h.box[1], h.box[0], h.format, h.text))
    return tuple(ordered)


def is_separator(hit: CodeHit, separator_codes: Collection[str]) -> bool:
    """True when ``hit`` holds one of the configured separator-sheet codes.

    Compared after stripping and case-insensitively: printers and scanners
    add spaces, and Code 39 readers may give upper case.
    """
    wanted = {code.strip().casefold() for code in separator_codes}
    return hit.text.strip().casefold() in wanted


# --- payloads ---------------------------------------------------------------------------

_KEYS: dict[str, tuple[str, ...]] = {
    "dossier_code": ("mahoso", "mahs", "sohoso", "mahosodientu", "dossiercode", "dossierid",
                     "dossier", "code", "id"),
    "procedure_code": ("matthc", "mathutuc", "mathutuchanhchinh", "procedurecode",
                       "procedureid"),
    "procedure_name": ("tentthc", "tenthutuc", "tenthutuchanhchinh", "noidungyeucau",
                       "procedurename"),
    "id_number": ("sodinhdanh", "sodinhdanhcanhan", "madinhdanh", "socccd", "cccd", "socmnd",
                  "cmnd", "socmndcccd", "cmndcccd", "socancuoc", "cancuoc", "sohochieu",
                  "hochieu", "idnumber", "citizenid"),
    "applicant_name": ("hoten", "hovaten", "tencongdan", "nguoinop", "tennguoinop", "chuhoso",
                       "chugiayto", "applicant", "applicantname", "fullname"),
    "birth_date": ("ngaysinh", "birthdate", "dob"),
    "address": ("diachi", "address"),
    "phone": ("sodienthoai", "dienthoai", "sdt", "phone", "mobile"),
    "email": ("email", "thudientu", "mail"),
    "received_date": ("ngaytiepnhan", "thoigiantiepnhan", "ngaynhan", "ngaynhanhoso", "ngaynop",
                      "receiveddate"),
    "due_date": ("ngayhentra", "thoigianhentra", "hentra", "ngayhen", "ngaytraketqua",
                 "duedate"),
    "issue_date": ("thoigiancap", "ngaycap", "ngaybanhanh", "issuedate", "issuetime"),
    "document_number": ("sokyhieu", "sohieu", "kyhieu", "documentnumber"),
    "issuer": ("coquanbanhanh", "coquancap", "issuer"),
    "signer": ("nguoiky", "signer"),
    "sector": ("linhvuc", "tenlinhvuc", "sector"),
    "summary": ("trichyeu", "summary"),
}  # fmt: skip
"""Payload keys per field, folded (no diacritics, lower case, letters and digits only).

``tenGiayTo`` (document name), ``heThong`` (source system) and ``maGiayTo`` have no
field in :mod:`schemas.fields`. ``thoiGianCap`` is the issue time of the paper carrying
the code: ``issue_date``, except on a receipt, which is issued when the dossier is
received, so there it is the ``received_date`` (see :func:`_is_receipt`).
"""

_DOCUMENT_NAME_KEYS = frozenset({"tengiayto", "loaigiayto", "tenvanban", "documentname"})
_RECEIPT_NAMES = ("tiep nhan", "bien nhan", "hen tra")

_FIELD_OF_KEY = {key: field for field, keys in _KEYS.items() for key in keys}
_DATE_FIELDS = frozenset({"birth_date", "received_date", "due_date", "issue_date"})
_NAME_FIELDS = frozenset({"applicant_name", "signer"})
_VALIDATOR_OF_FIELD = {
    "dossier_code": check_dossier_code,
    "procedure_code": check_procedure_code,
    "id_number": check_id_number,
    "phone": check_phone,
    "email": check_email,
    "document_number": check_document_number,
}


def _key(raw: str) -> str:
    """Fold a payload key: ``MaHoSo``, ``ma_ho_so``, ``Mã hồ sơ`` all become ``mahoso``."""
    return re.sub(r"[^a-z0-9]", "", fold(raw))


def _check_payload_date(value: str) -> Checked:
    """Dates as payloads write them: ``27/10/2023 08:30``, ISO, or compact ``yyyyMMdd[HHmmss]``."""
    compact = re.fullmatch(r"(\d{4})(\d{2})(\d{2})(?:\d{6})?", value.strip())
    if compact:
        value = "-".join(compact.groups())
    return check_date(value)


def _check(field: str, value: str) -> Checked:
    """Validate one payload value with the validator of its field."""
    if field in _DATE_FIELDS:
        return _check_payload_date(value)
    if field in _NAME_FIELDS:
        return check_person_name(value)
    return _VALIDATOR_OF_FIELD.get(field, check_text)(value)


def _is_receipt(fields: dict[str, str], document_name: str) -> bool:
    """A receipt's payload: it names an appointment date (domain.md: "receipts add the
    appointment date"), or its document name is a receipt's (tiếp nhận, biên nhận, hẹn trả)."""
    return "due_date" in fields or any(n in fold(document_name) for n in _RECEIPT_NAMES)


def _collect(pairs: Iterable[tuple[str, object]]) -> dict[str, str]:
    """Keep the first valid value of every known key; drop unknown keys and bad values."""
    fields: dict[str, str] = {}
    document_name = ""
    for raw_key, raw_value in pairs:
        key = _key(raw_key)
        if key in _DOCUMENT_NAME_KEYS and isinstance(raw_value, str):
            document_name = raw_value
        field = _FIELD_OF_KEY.get(key)
        if field is None or field in fields or raw_value is None:
            continue
        if isinstance(raw_value, dict | list | bool):
            continue
        checked = _check(field, str(raw_value))
        if checked.ok:
            fields[field] = checked.value
    if "id_number" in fields and "birth_date" in fields:  # both known: they must agree
        born = date.fromisoformat(fields["birth_date"])
        if not check_id_number(fields["id_number"], birth_date=born).ok:
            del fields["id_number"]
    issued_on_receipt = "issue_date" in fields and _is_receipt(fields, document_name)
    if issued_on_receipt and "received_date" not in fields:
        fields["received_date"] = fields.pop("issue_date")
    return fields


def _json_pairs(data: object) -> Iterator[tuple[str, object]]:
    """Every key/value pair of a JSON document, nested objects included (outer first)."""
    if isinstance(data, dict):
        nested = []
        for key, value in data.items():
            if isinstance(value, dict | list):
                nested.append(value)
            else:
                yield str(key), value
        for value in nested:
            yield from _json_pairs(value)
    elif isinstance(data, list):
        for item in data:
            yield from _json_pairs(item)


_CODE39_CHARS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-. $/+%"


def _without_code39_check(text: str) -> str | None:
    """``text`` minus a trailing Code 39 mod-43 check character, when it is one."""
    body, check = text[:-1].upper(), text[-1:].upper()
    if not body or any(c not in _CODE39_CHARS for c in body + check):
        return None
    total = sum(_CODE39_CHARS.index(c) for c in body) % 43
    return text[:-1] if _CODE39_CHARS[total] == check else None


def _by_shape(parts: Iterable[str]) -> dict[str, str]:
    """Recognise values without keys (pipe-separated or bare payloads) by their shape.

    Only shapes that cannot be confused are taken: mã hồ sơ, mã TTHC, a 12-digit
    CCCD or a passport number, a phone number, an e-mail. Dates are left out:
    without a key, a receipt date and an appointment date look the same.
    """
    fields: dict[str, str] = {}
    for part in (p.strip() for p in parts):
        if not part:
            continue
        candidates: list[tuple[str, Checked]] = [
            ("dossier_code", check_dossier_code(part)),
            ("procedure_code", check_procedure_code(part)),
            ("phone", check_phone(part)),
            ("email", check_email(part)),
        ]
        if id_kind(part) in ("cccd", "passport"):
            candidates.append(("id_number", check_id_number(part)))
        for field, checked in candidates:
            if checked.ok and field not in fields:
                fields[field] = checked.value
                break
    return fields


def _url_fields(text: str) -> dict[str, str]:
    """Fields from a URL: its query and fragment parameters, else path segments by shape."""
    parts = urlsplit(text)
    pairs = parse_qsl(parts.query, keep_blank_values=False)
    pairs += parse_qsl(parts.fragment, keep_blank_values=False)
    fields = _collect(pairs)
    if "dossier_code" not in fields:
        segments = [unquote(s) for s in parts.path.split("/")]
        fields = {**_by_shape(segments), **fields}
    return fields


_PAIR_SPLIT = re.compile(r"[\n;&]+")
_PAIR = re.compile(r"\s*([^:=]{1,60}?)\s*[:=]\s*(.*?)\s*")


def _pair_fields(text: str) -> dict[str, str]:
    """Fields from ``key: value`` lines or ``key=value;`` pairs (first ``:`` or ``=`` splits)."""
    pairs = []
    for chunk in _PAIR_SPLIT.split(text):
        match = _PAIR.fullmatch(chunk)
        if match:
            pairs.append((match[1], match[2]))
    return _collect(pairs)


def parse_code_payload(text: str) -> dict[str, str]:
    """Map the text of a receipt's QR code or barcode to field values.

    The payload is not standardised, so several styles are accepted: a bare
    mã hồ sơ (a trailing Code 39 check character is recognised); a URL whose
    query holds it (``maHoSo``, ``ma_ho_so``, ``code``, ``id``, …); JSON with
    keys such as ``maHoSo``, ``maTTHC``, ``soDinhDanh``, ``ngayHenTra``;
    ``key: value`` lines or ``key=value;`` pairs; and pipe-separated values
    recognised by their shapes. Keys are matched without case or diacritics.

    Why values are validated: the payload is authoritative only when
    well-formed; a field whose value fails its validator is left out, and a
    broken JSON document gives nothing at all.

    Returns:
        Field name (:data:`schemas.fields.FieldName`) -> normalised value.
    """
    text = text.strip().lstrip("\ufeff")
    if not text:
        return {}
    if text[0] in "{[":
        try:
            return _collect(_json_pairs(json.loads(text)))
        except (json.JSONDecodeError, ValueError):
            return {}
    if re.match(r"[a-z][a-z0-9+.-]*://", text, re.IGNORECASE):
        return _url_fields(text)
    if "|" in text:
        return _by_shape(text.split("|"))
    if re.search(r"[:=]", text):
        return _pair_fields(text)
    fields = _by_shape([text])
    if "dossier_code" not in fields:
        stripped = _without_code39_check(text.strip())
        if stripped and check_dossier_code(stripped).ok:
            fields["dossier_code"] = check_dossier_code(stripped).value
    return fields
