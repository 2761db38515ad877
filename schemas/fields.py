"""Key fields, machine-readable codes and review history: the value types of field extraction.

Field names are English identifiers; their Vietnamese names (the labels a clerk
reads on the paper) are in :data:`FIELD_LABELS_VI`. Values are normalised only
in form, never in content: dates become ISO ``YYYY-MM-DD``, names get Vietnamese
capitalisation, ID numbers lose their spaces. What was read is kept in ``raw``;
a value that fails its validator keeps its reading and is flagged with
``problem``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

FieldName = Literal[
    "dossier_code",
    "procedure_code",
    "procedure_name",
    "sector",
    "applicant_name",
    "id_number",
    "birth_date",
    "address",
    "phone",
    "email",
    "received_date",
    "due_date",
    "document_number",
    "issue_date",
    "issuer",
    "signer",
    "summary",
]

FIELD_NAMES: tuple[str, ...] = FieldName.__args__  # type: ignore[attr-defined]

FIELD_LABELS_VI: dict[str, str] = {
    "dossier_code": "Mã hồ sơ",
    "procedure_code": "Mã TTHC",
    "procedure_name": "Tên thủ tục / nội dung yêu cầu",
    "sector": "Lĩnh vực",
    "applicant_name": "Người nộp / chủ hồ sơ",
    "id_number": "Số định danh (CCCD / CMND / hộ chiếu)",
    "birth_date": "Ngày sinh",
    "address": "Địa chỉ",
    "phone": "Điện thoại",
    "email": "Email",
    "received_date": "Ngày tiếp nhận",
    "due_date": "Ngày hẹn trả",
    "document_number": "Số, ký hiệu",
    "issue_date": "Ngày ban hành",
    "issuer": "Cơ quan ban hành",
    "signer": "Người ký",
    "summary": "Trích yếu",
}

DocType = Literal[
    "receipt",  # giấy tiếp nhận hồ sơ và hẹn trả kết quả
    "control_sheet",  # phiếu kiểm soát quá trình giải quyết hồ sơ (never opens a dossier)
    "application",  # đơn / tờ khai
    "decision",  # quyết định
    "certificate",  # giấy chứng nhận / giấy khai sinh / trích lục
    "id_card",  # bản sao CCCD / CMND
    "separator",  # a separator sheet between dossiers (never archived)
    "other",
]

DOC_TYPES: tuple[str, ...] = DocType.__args__  # type: ignore[attr-defined]

DOC_TYPE_LABELS_VI: dict[str, str] = {
    "receipt": "Giấy tiếp nhận hồ sơ và hẹn trả kết quả",
    "control_sheet": "Phiếu kiểm soát quá trình giải quyết hồ sơ",
    "application": "Đơn / tờ khai",
    "decision": "Quyết định",
    "certificate": "Giấy chứng nhận / giấy khai sinh / trích lục",
    "id_card": "Bản sao CCCD / CMND",
    "separator": "Tờ phân cách",
    "other": "Khác",
}

PersonRole = Literal["applicant", "subject", "father", "mother", "signer", "other"]
"""Whose a name, ID number or date of birth is: the applicant (người nộp, người yêu cầu,
ông (bà)), the person the procedure is for (người được khai sinh, chủ hồ sơ, người được
cấp), the subject's parents, the signer of a result, or someone the page does not place
(an ID-card copy whose holder matches nobody else in the dossier)."""

PERSON_ROLES: tuple[str, ...] = PersonRole.__args__  # type: ignore[attr-defined]

PERSON_ROLE_LABELS_VI: dict[str, str] = {
    "applicant": "Người nộp hồ sơ",
    "subject": "Người được cấp / chủ hồ sơ",
    "father": "Cha",
    "mother": "Mẹ",
    "signer": "Người ký",
    "other": "Người khác",
}

Method = Literal["qr", "barcode", "label", "pattern", "manual"]
"""How a value was found: decoded from a QR code or a 1-D barcode, read after its printed label,
matched by its own shape anywhere on the page, or typed by a clerk in review."""

Box = tuple[int, int, int, int]
"""``(left, top, width, height)`` in pixels of the archived page image."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class CodeHit(_Frozen):
    """One QR code or barcode decoded on a page."""

    format: str
    """Symbology as the decoder names it: ``QRCode``, ``Code39``, ``Code128``, …"""
    text: str
    """The decoded content."""
    page: int
    """0-based page index in the batch."""
    box: Box
    """Where the symbol is, in archived-page pixels."""


class FieldValue(_Frozen):
    """One extracted field with its evidence."""

    name: FieldName
    value: str
    """Normalised value (ISO dates, Vietnamese-capitalised names, digits without spaces)."""
    raw: str = ""
    """The text as read (OCR or decoded), before normalisation."""
    confidence: float
    """0–1: 1.0 for a decoded code or a clerk's correction; OCR word confidence times match quality
    otherwise."""
    page: int | None = None
    """0-based page index within the record where the value was found."""
    box: Box | None = None
    method: Method
    problem: str | None = None
    """Why the value failed validation (English code, e.g. ``cccd_birth_year_mismatch``);
    ``None`` when it passed. A failing value is kept as read and the record goes to review."""


class Person(_Frozen):
    """One person a record names, with the values printed for them kept together.

    Why: a birth-registration dossier names the applicant, the child and both parents;
    a date of birth or an ID number means nothing without whose it is. Two entries of
    one role (other than ``signer``) with different names or ID numbers are a conflict
    the review queue shows with both values and pages.
    """

    role: PersonRole
    name: str | None = None
    """Vietnamese-capitalised name as validated (``None``: no name printed for them)."""
    id_number: str | None = None
    """Số định danh / CCCD / CMND / passport number, without spaces."""
    birth_date: str | None = None
    """ISO ``YYYY-MM-DD`` when a full date is printed."""
    birth_year: int | None = None
    """The year of birth, also when only "Năm sinh: 1996" is printed."""
    page: int | None = None
    """0-based page (within the record, or the batch for one page) where they are named first."""
    problem: str | None = None
    """Why their values disagree with each other (``cccd_birth_year_mismatch``), else ``None``."""


class PageFacts(_Frozen):
    """What field extraction learned about one page (kept in the manifest)."""

    index: int
    """0-based page index in the batch."""
    doc_type: DocType
    doc_type_confidence: float
    codes: tuple[CodeHit, ...] = ()


class Correction(_Frozen):
    """One change a clerk made in review; the history is never rewritten."""

    field: str
    """A field name, or ``"*"`` for accepting the record as reviewed."""
    old: str | None
    new: str | None
    by: str
    at: datetime
    reason: str = ""


class Segment(_Frozen):
    """Pages of one dossier inside a batch, as the splitter decided."""

    pages: tuple[int, ...]
    """0-based batch page indexes, in paper order (separator sheets excluded)."""
    dossier_code: str | None
    """The mã hồ sơ that opened this segment, if any."""
    reason: str
    """Why the segment starts here: ``start``, ``new_receipt``, ``separator`` or ``forced``."""
