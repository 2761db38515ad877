"""Validate and normalise field values read by OCR or decoded from a QR code / barcode.

Rule of the house: a validator normalises only the **form** of a value (ISO
dates, digits without spaces or dots, Vietnamese capitalisation, upper-case
codes) and never its content. A value that fails is returned as read (only
stripped) together with a short English ``problem`` code, so the record goes
to review with the clerk seeing exactly what the page said. Nothing here does
I/O; every function is pure (the only clock read is "today", to reject birth
years in the future).

Identifier formats are those of ``/work/shared/domain.md``: mã hồ sơ
``{agency id}-{yyMMdd}-{NNNN}``, mã TTHC ``1.004616.000.00.00.H56``, CCCD /
số định danh cá nhân (12 digits: province, century+sex, year, random), old
CMND (9 digits), passport (one letter + 7 digits), số ký hiệu per Decree
30/2020 (``123/QĐ-UBND``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from types import MappingProxyType
from typing import Literal

from sohoa.textfold import fold

__all__ = [
    "CCCD_PROVINCE_CODES",
    "PATTERNS",
    "VALIDATORS",
    "Checked",
    "IdKind",
    "check_date",
    "check_document_number",
    "check_dossier_code",
    "check_email",
    "check_id_number",
    "check_person_name",
    "check_phone",
    "check_procedure_code",
    "check_text",
    "id_kind",
    "parse_vn_date",
    "vietnamese_name_case",
]


@dataclass(frozen=True)
class Checked:
    """The outcome of one validator."""

    value: str
    """The normalised value when valid; the input (NFC, stripped) when not."""
    problem: str | None
    """``None`` when valid; else a short English code such as ``cccd_bad_province``."""

    @property
    def ok(self) -> bool:
        """True when the value passed."""
        return self.problem is None


def _clean(text: str) -> str:
    """NFC and stripped: the form every failing value is returned in."""
    return unicodedata.normalize("NFC", str(text)).strip()


def _fail(text: str, problem: str) -> Checked:
    return Checked(_clean(text), problem)


_DASHES = str.maketrans({c: "-" for c in "\u2010\u2011\u2012\u2013\u2014\u2212"})
"""Hyphen look-alikes (en dash, minus, …) that OCR and word processors put for ``-``."""
_SPACES = re.compile(r"\s+")


def _compact(text: str) -> str:
    """Drop all whitespace and unify dashes: the form of codes and numbers."""
    return _SPACES.sub("", _clean(text).translate(_DASHES))


# --- mã hồ sơ and mã TTHC ---------------------------------------------------------------

_AGENCY = r"(?:[A-Z0-9]{1,6}\.){1,4}[A-Z0-9]{1,6}"
"""Agency electronic ID: dot-separated groups, e.g. ``000.00.06.H56`` or ``H21.65``."""
_DOSSIER_SHAPE = re.compile(rf"(?=[^-]*[A-Z])({_AGENCY})-(\d{{6}})-(\d{{4}})")
_PROCEDURE_SHAPE = re.compile(r"[1-9]\.\d{6}(?:\.\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2})?")


def _yymmdd(digits: str) -> date | None:
    """The date of a ``yyMMdd`` group (20yy: one-stop systems started in the 2000s)."""
    try:
        return date(2000 + int(digits[:2]), int(digits[2:4]), int(digits[4:]))
    except ValueError:
        return None


def check_dossier_code(text: str) -> Checked:
    """Validate a mã hồ sơ such as ``000.00.06.H56-231027-0361`` or ``H21.65-220914-0011``.

    Why the date check: the middle group is the day of receipt; a code whose
    date cannot exist was misread, and a wrong code files pages under the
    wrong dossier. Spaces are dropped and letters upper-cased (form only);
    ``O`` for ``0`` is never repaired.

    Returns:
        Problems ``not_a_dossier_code`` or ``bad_date_in_code``.
    """
    value = _compact(text).upper()
    match = _DOSSIER_SHAPE.fullmatch(value)
    if not match:
        return _fail(text, "not_a_dossier_code")
    if _yymmdd(match.group(2)) is None:
        return _fail(text, "bad_date_in_code")
    return Checked(value, None)


def check_procedure_code(text: str) -> Checked:
    """Validate a mã TTHC: ``1.004616.000.00.00.H56`` (local) or the short ``1.001193``.

    Returns:
        Problem ``not_a_procedure_code``.
    """
    value = _compact(text).upper()
    if not _PROCEDURE_SHAPE.fullmatch(value):
        return _fail(text, "not_a_procedure_code")
    return Checked(value, None)


# --- identity numbers ----------------------------------------------------------------------

# fmt: off
CCCD_PROVINCE_CODES: frozenset[str] = frozenset({
    "001", "002", "004", "006", "008", "010", "011", "012", "014", "015", "017", "019",
    "020", "022", "024", "025", "026", "027", "030", "031", "033", "034", "035", "036",
    "037", "038", "040", "042", "044", "045", "046", "048", "049", "051", "052", "054",
    "056", "058", "060", "062", "064", "066", "067", "068", "070", "072", "074", "075",
    "077", "079", "080", "082", "083", "084", "086", "087", "089", "091", "092", "093",
    "094", "095", "096",
})
# fmt: on
"""The 63 province codes of the place of birth registration (Circular 07/2016/TT-BCA, Annex 1).

001 Hà Nội … 045 Quảng Trị … 079 Hồ Chí Minh … 096 Cà Mau. Numbers are not
contiguous: the gaps (003, 005, …) were never assigned. The 2025 merger into
34 provinces kept existing numbers, so the list stays the reference.
"""

IdKind = Literal["cccd", "cmnd", "passport"]
_ID_SEPARATORS = re.compile(r"[\s.\-]+")
_SEX_WORDS = {"nam": "male", "male": "male", "m": "male", "nu": "female", "female": "female",
              "f": "female"}  # fmt: skip


def _id_compact(text: str) -> str:
    return _ID_SEPARATORS.sub("", _clean(text).translate(_DASHES)).upper()


def id_kind(value: str) -> IdKind | None:
    """Say which identity document a number belongs to, by its shape alone.

    A 12-digit number is a CCCD / số định danh (12-digit CMND issued 2012-2016
    share its structure); 9 digits is an old CMND; one letter and 7 digits is a
    passport. Spaces, dots and dashes are ignored.
    """
    compact = _id_compact(value)
    if re.fullmatch(r"\d{12}", compact):
        return "cccd"
    if re.fullmatch(r"\d{9}", compact):
        return "cmnd"
    if re.fullmatch(r"[A-Z]\d{7}", compact):
        return "passport"
    return None


def _cccd_problem(number: str, birth_date: date | None, sex: str | None) -> str | None:
    """Check the structure of a 12-digit number (domain.md: province, century+sex, year)."""
    if number[:3] not in CCCD_PROVINCE_CODES:
        return "cccd_bad_province"
    digit = int(number[3])
    year = 1900 + 100 * (digit // 2) + int(number[4:6])
    if year > date.today().year:
        return "cccd_bad_century"
    if birth_date is not None and birth_date.year != year:
        return "cccd_birth_year_mismatch"
    wanted = _SEX_WORDS.get(fold(sex).strip(" .")) if sex else None
    if wanted is not None and wanted != ("female" if digit % 2 else "male"):
        return "cccd_sex_mismatch"
    return None


def check_id_number(text: str, birth_date: date | None = None, sex: str | None = None) -> Checked:
    """Validate a CCCD / CMND / passport number and drop the spaces, dots and dashes in it.

    Why the structure checks: a CCCD carries the province of birth registration,
    the century and sex, and the last two digits of the birth year, so a misread
    digit there is caught here instead of filing the dossier under someone else.

    Args:
        text: the number as read.
        birth_date: the holder's date of birth when found on the same paper.
        sex: ``Nam``/``Nữ``/``male``/``female``/``M``/``F`` when found; other words are ignored.

    Returns:
        Problems ``not_an_id_number``, ``cccd_bad_province``, ``cccd_bad_century``
        (the century digit puts the birth in the future), ``cccd_birth_year_mismatch``,
        ``cccd_sex_mismatch``.
    """
    kind = id_kind(text)
    if kind is None:
        return _fail(text, "not_an_id_number")
    value = _id_compact(text)
    if kind == "cccd":
        problem = _cccd_problem(value, birth_date, sex)
        if problem:
            return _fail(text, problem)
    return Checked(value, None)


# --- dates ------------------------------------------------------------------------------

_NUMERIC_DATE = re.compile(
    r"(?<!\d)(?<!\d[/.-])(\d{1,2})\s*([/.-])\s*(\d{1,2})\s*\2\s*(\d{4})(?!\d)"
)
"""``10/9/2022``, ``10-9-2022``, ``10.09.2022`` (one separator kind per date)."""
_ISO_DATE = re.compile(r"(?<![\d/.-])(\d{4})-(\d{2})-(\d{2})(?!\d)")
_WORDED_DATE = re.compile(
    r"(?<![a-z])(?:ngay\s*)?(\d{1,2})\s*[,.]?\s*thang\s*(\d{1,2})\s*[,.]?\s*nam\s*"
    r"(\d(?: ?\d){3})(?!\d)"
)
"""``ngày 10 tháng 9 năm 2022`` on folded text, so ``thảng``/``nãm``/``tháng9`` still match;
the year may come split by one space (``năm 2 023``: OCR reads a wide gap between digits)."""


def _date_candidates(text: str) -> Iterator[tuple[int, int, int]]:
    """Yield every date-shaped ``(year, month, day)`` in ``text``, in reading order."""
    found: list[tuple[int, tuple[int, int, int]]] = []
    for m in _WORDED_DATE.finditer(fold(text)):
        found.append((m.start(), (int(m[3].replace(" ", "")), int(m[2]), int(m[1]))))
    for m in _NUMERIC_DATE.finditer(text):
        found.append((m.start(), (int(m[4]), int(m[3]), int(m[1]))))
    for m in _ISO_DATE.finditer(text):
        found.append((m.start(), (int(m[1]), int(m[2]), int(m[3]))))
    for _, ymd in sorted(found, key=lambda item: item[0]):
        yield ymd


def _real_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def parse_vn_date(text: str) -> date | None:
    """Find the first real calendar date written anywhere in ``text``.

    Accepts ``ngày 10 tháng 9 năm 2022`` (with or without diacritics, with
    OCR noise such as ``thảng``, ``nãm``, ``tháng9``), ``10/9/2022``,
    ``10-9-2022``, ``10.09.2022`` and ISO ``2022-09-10``. Letters inside numbers
    (``2O22``) are not repaired: such a reading is not a date.

    Returns:
        The first date-shaped group that exists in the calendar (``31/02/2023``
        does not), or ``None``.
    """
    for ymd in _date_candidates(_clean(text)):
        real = _real_date(*ymd)
        if real is not None:
            return real
    return None


def check_date(
    text: str, *, earliest: date = date(1900, 1, 1), latest: date | None = None
) -> Checked:
    """Validate a date field and give it in ISO form (``YYYY-MM-DD``).

    Returns:
        Problems ``not_a_date`` (nothing date-shaped), ``impossible_date``
        (date-shaped but not in the calendar, e.g. ``31/02/2023``), ``out_of_range``.
    """
    candidates = list(_date_candidates(_clean(text)))
    if not candidates:
        return _fail(text, "not_a_date")
    real = next((d for d in (_real_date(*c) for c in candidates) if d is not None), None)
    if real is None:
        return _fail(text, "impossible_date")
    if real < earliest or (latest is not None and real > latest):
        return _fail(text, "out_of_range")
    return Checked(real.isoformat(), None)


# --- contact details ---------------------------------------------------------------------

_PHONE_SEPARATORS = re.compile(r"[\s.\-()]+")
_PHONE_SHAPE = re.compile(r"0[35789]\d{8}|02\d{9}")
"""Mobile: 10 digits after the 2018 renumbering; landline: 02 + area code, 11 digits."""


def check_phone(text: str) -> Checked:
    """Validate a Vietnamese phone number and write it as national digits (``0912345678``).

    ``+84``/``84``/``0084`` becomes ``0`` and a ``(0)`` after the country code is
    dropped; spaces, dots, dashes and brackets go.

    Returns:
        Problem ``not_a_phone`` (including the 11-digit mobile numbers retired in 2018).
    """
    digits = _PHONE_SEPARATORS.sub("", _clean(text).translate(_DASHES))
    for prefix in ("+84", "0084", "84"):
        if digits.startswith(prefix) and len(digits) - len(prefix) in (9, 10, 11):
            digits = "0" + digits[len(prefix) :].removeprefix("0")
            break
    if not _PHONE_SHAPE.fullmatch(digits):
        return _fail(text, "not_a_phone")
    return Checked(digits, None)


_EMAIL_SHAPE = re.compile(
    r"(?P<local>[A-Za-z0-9_%+-]+(?:\.[A-Za-z0-9_%+-]+)*)"
    r"@(?P<domain>(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,})"
)


def check_email(text: str) -> Checked:
    """Validate an e-mail address; lower-case its domain only (the local part may be
    case-sensitive). Spaces OCR put around ``@`` or ``.`` and a final full stop go.

    Returns:
        Problem ``not_an_email``.
    """
    value = re.sub(r"\s*([@.])\s*", r"\1", _clean(text)).rstrip(".,;")
    match = _EMAIL_SHAPE.fullmatch(value)
    if not match:
        return _fail(text, "not_an_email")
    return Checked(f"{match['local']}@{match['domain'].lower()}", None)


# --- số ký hiệu ----------------------------------------------------------------------------

_SO_LABEL = re.compile(r"^so\s*[:.]?\s*(?=\d)")
"""``Số:`` / ``So:`` / ``SỐ`` on folded text, only when a number follows."""
_DOC_NUMBER_SHAPE = re.compile(r"\d{1,5}(?:/\d{4})?/[A-ZĐ][A-ZĐ0-9]*(?:-[A-ZĐ][A-ZĐ0-9]*)*")


_ETH_FOR_D = str.maketrans({"Ð": "Đ", "ð": "đ"})
"""Icelandic eth, which Tesseract gives for Vietnamese đ; Vietnamese never uses it."""


def check_document_number(text: str) -> Checked:
    """Validate the số, ký hiệu of an official document (Decree 30/2020/NĐ-CP).

    Shape: number, optionally ``/year`` (legal documents), ``/`` and symbol groups
    joined by ``-`` (``123/QĐ-UBND``, ``05/2023/TT-BTC``, ``125/TLKS-BS``). A leading
    ``Số:`` is removed, spaces around ``/`` and ``-`` dropped and symbols upper-cased.

    Returns:
        Problem ``not_a_document_number``.
    """
    value = _clean(text)
    label = _SO_LABEL.match(fold(value))
    if label:
        value = value[label.end() :]
    value = value.translate(_DASHES).translate(_ETH_FOR_D)
    value = re.sub(r"\s*([/-])\s*", r"\1", value).rstrip(".,;").upper()
    if not _DOC_NUMBER_SHAPE.fullmatch(value):
        return _fail(text, "not_a_document_number")
    return Checked(value, None)


# --- names and free text -----------------------------------------------------------------

_VIETNAMESE_LETTERS = frozenset(
    "aàáảãạăằắẳẵặâầấẩẫậbcdđeèéẻẽẹêềếểễệfghiìíỉĩịjklmnoòóỏõọôồốổỗộơờớởỡợpqrstuùúủũụưừứửữựvwxyỳýỷỹỵz"
)
"""Latin letters with Vietnamese diacritics (f, j, w, z kept for minority and foreign names)."""
_NAME_JOINERS = frozenset("'’-")
"""Kept inside names of ethnic minorities: ``H'Hen Niê``, ``Y-Moan``."""
_HONORIFIC = re.compile(
    r"^(?:ong|ba|anh|chi)(?:\s*(?:/|\(|hoac)\s*(?:ong|ba|anh|chi)\s*\)?)?(?=[\s:.,]|$)[\s:.,]*"
)
"""``Ông``, ``Bà``, ``Ông/Bà``, ``Ông (Bà)``, ``Anh``, ``Chị`` before a name, on folded text."""
_EDGE_PUNCTUATION = ".,;:-–—…"


def vietnamese_name_case(text: str) -> str:
    """Capitalise a Vietnamese name: first letter of every syllable upper, the rest lower.

    ``NGUYỄN VĂN AN`` -> ``Nguyễn Văn An``; ``đặng thị ÁNH`` -> ``Đặng Thị Ánh``;
    ``H'HEN NIÊ`` -> ``H'Hen Niê``. Whitespace is collapsed; the result is NFC.
    """
    words = unicodedata.normalize("NFC", text).split()
    cased = (re.sub(r"[^\W\d_]+", lambda m: m[0][:1].upper() + m[0][1:].lower(), w) for w in words)
    return " ".join(cased)


def _strip_honorific(text: str) -> str:
    found = _HONORIFIC.match(fold(text))
    rest = text[found.end() :] if found else text
    return rest if rest.strip() else text


def check_person_name(text: str) -> Checked:
    """Validate a person's name and give it Vietnamese capitalisation.

    Honorifics in front (``Ông``, ``Bà``, ``Ông/Bà``, ``Ông (Bà)``, ``Anh``, ``Chị``)
    and punctuation around are removed: they are labels, not part of the name.

    Returns:
        Problems ``name_has_digits``, ``name_not_vietnamese`` (a character outside
        Vietnamese letters), ``name_too_short`` (< 2 syllables), ``name_too_long`` (> 7).
    """
    value = _SPACES.sub(" ", _clean(text)).strip(_EDGE_PUNCTUATION + " ")
    value = _strip_honorific(value).strip(_EDGE_PUNCTUATION + " ")
    if any(ch.isdigit() for ch in value):
        return _fail(text, "name_has_digits")
    syllables = value.split()
    letters = (ch for word in syllables for ch in word.lower() if ch not in _NAME_JOINERS)
    if any(ch not in _VIETNAMESE_LETTERS for ch in letters):
        return _fail(text, "name_not_vietnamese")
    if len(syllables) < 2:
        return _fail(text, "name_too_short")
    if len(syllables) > 7:
        return _fail(text, "name_too_long")
    return Checked(vietnamese_name_case(value), None)


def check_text(text: str) -> Checked:
    """Tidy free text (address, procedure name, …): NFC, whitespace collapsed,
    trailing punctuation (``.,;:`` and dashes) trimmed.

    Returns:
        Problem ``empty``.
    """
    value = _SPACES.sub(" ", _clean(text)).rstrip(_EDGE_PUNCTUATION + " ")
    if not value:
        return _fail(text, "empty")
    return Checked(value, None)


VALIDATORS: Mapping[str, Callable[[str], Checked]] = MappingProxyType(
    {
        "dossier_code": check_dossier_code,
        "procedure_code": check_procedure_code,
        "id_number": check_id_number,
        "date": check_date,
        "phone": check_phone,
        "email": check_email,
        "document_number": check_document_number,
        "person_name": check_person_name,
        "text": check_text,
    }
)
"""Validators by the rule name used in field-extraction tables."""

# --- shapes to find anywhere in a line ---------------------------------------------------

_A = "[aàáảãạăằắẳẵặâầấẩẫậ]"
_O = "[oòóỏõọôồốổỗộơờớởỡợ]"

PATTERNS: Mapping[str, re.Pattern[str]] = MappingProxyType(
    {
        "dossier_code": re.compile(
            r"(?<![\w.-])((?:[A-Z0-9]{1,6}\.){1,4}[A-Z0-9]{1,6}\s?-\s?\d{6}\s?-\s?\d{4})"
            r"(?![\w-])",
            re.IGNORECASE,
        ),
        "procedure_code": re.compile(
            r"(?<![\w.])([1-9]\.\d{6}(?:\.\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2})?)(?![\w]|\.\w)",
            re.IGNORECASE,
        ),
        "cccd": re.compile(
            r"(?<![\w.,/])(\d{3}(?:[ .]?\d{3}){3}|\d{4}(?:[ .]?\d{4}){2})(?![\w/]|[.,]\d)"
        ),
        "phone": re.compile(
            r"(?<![\w+./-])((?:\(?\+84\)?[ .]?|0)[1-9](?:[ .-]?\d){8,9})(?![\d/]|[.-]\d)"
        ),
        "email": re.compile(
            r"(?<![\w.+-])([A-Za-z0-9_%+-]+(?:\.[A-Za-z0-9_%+-]+)*@"
            r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,})(?![\w-])"
        ),
        "document_number": re.compile(
            rf"(?:(?<!\w)S(?i:{_O})|(?<!\w)s{_O}(?=\s*:))\s*[:.]?\s*"
            r"(\d{1,5}(?:\s?/\s?\d{4})?\s?/\s?[^\W\d_][^\W_]*(?:\s?-\s?[^\W\d_][^\W_]*)*)",
        ),
        "date_line": re.compile(
            rf"([^\W\d_][^,;:\n]{{0,60}}?),\s*"
            rf"(ng{_A}y\s*\d{{1,2}}\s*th{_A}ng\s*\d{{1,2}}\s*n{_A}m\s*\d{{4}})",
            re.IGNORECASE,
        ),
    }
)
"""Value shapes to look for anywhere in a line (``pattern`` extraction); group 1 is the value.

``document_number`` needs a ``Số`` (capital S, or ``số:`` with a colon) in front,
so documents cited in running text (``Nghị định số 43/2014/NĐ-CP``) are not
taken for the paper's own number. ``date_line`` gives the place in group 1 and
the worded date in group 2. Pass every match through its validator.
"""
