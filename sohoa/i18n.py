"""User-facing messages in Vietnamese (default) and English.

Code and logs speak English; people at the counter read Vietnamese. The CLI
picks the language from ``SOHOA_LANG`` (``vi`` or ``en``) or ``--lang``.
"""

from __future__ import annotations

import os
from typing import Any

DEFAULT_LANG = "vi"

MESSAGES: dict[str, dict[str, str]] = {
    "internal": {
        "vi": "Lỗi nội bộ: {detail}",
        "en": "Internal error: {detail}",
    },
    "bad_input": {
        "vi": "{file}: tệp không hợp lệ ({reason}). Hãy quét lại hoặc kiểm tra tệp.",
        "en": "{file}: invalid file ({reason}). Rescan or check the file.",
    },
    "empty_file": {
        "vi": "{file}: tệp rỗng (0 byte). Hãy quét lại.",
        "en": "{file}: empty file (0 bytes). Rescan it.",
    },
    "unsupported_format": {
        "vi": "{file}: không phải PDF, TIFF, JPEG hay PNG. Hãy xuất bản quét ở một trong các định dạng này.",
        "en": "{file}: not a PDF, TIFF, JPEG or PNG. Export the scan in one of these formats.",
    },
    "corrupt_pdf": {
        "vi": "{file}: PDF bị hỏng hoặc không đầy đủ ({reason}). Hãy quét hoặc xuất lại.",
        "en": "{file}: corrupt or truncated PDF ({reason}). Rescan or export it again.",
    },
    "corrupt_image": {
        "vi": "{file}: ảnh bị hỏng hoặc không đầy đủ ({reason}). Hãy quét lại.",
        "en": "{file}: corrupt or truncated image ({reason}). Rescan it.",
    },
    "no_pages": {
        "vi": "{file}: không có trang nào. Hãy quét lại.",
        "en": "{file}: has no pages. Rescan it.",
    },
    "encrypted_pdf": {
        "vi": "{file}: PDF có mật khẩu. Hãy gỡ mật khẩu hoặc quét lại từ bản giấy.",
        "en": "{file}: password-protected PDF. Remove the password or rescan the paper.",
    },
    "too_large": {
        "vi": "{file}: quá lớn ({reason}). Hãy quét ở độ phân giải 200–600 dpi.",
        "en": "{file}: too large ({reason}). Scan at 200–600 dpi.",
    },
    "ocr_failed": {
        "vi": "{file}: nhận dạng chữ (OCR) thất bại ở trang {page}: {reason}",
        "en": "{file}: OCR failed on page {page}: {reason}",
    },
    "signing_failed": {
        "vi": "Không ký số được: {reason}. Kiểm tra chứng thư số và mật khẩu.",
        "en": "Signing failed: {reason}. Check the certificate and its password.",
    },
    "storage_failed": {
        "vi": "Lỗi lưu trữ ({operation}): {reason}. Kiểm tra kết nối tới kho lưu trữ.",
        "en": "Storage error ({operation}): {reason}. Check the object store connection.",
    },
    "object_locked": {
        "vi": "{name} đang trong thời hạn lưu giữ (khóa đối tượng) đến {until}; không được xóa.",
        "en": "{name} is under retention (object lock) until {until}; it cannot be deleted.",
    },
    "verify_failed": {
        "vi": "{record}: kiểm tra toàn vẹn thất bại: {reason}",
        "en": "{record}: integrity check failed: {reason}",
    },
    "not_found": {
        "vi": "Không tìm thấy {what}: {name}",
        "en": "Not found: {what} {name}",
    },
    "rebuild_needs_sqlite": {
        "vi": "Chỉ dựng lại được danh mục SQLite dạng tệp (cấu hình đang dùng: {backend}).",
        "en": "Only a SQLite file catalog can be rebuilt (configured: {backend}).",
    },
    "config": {
        "vi": "Cấu hình không hợp lệ: {reason}",
        "en": "Invalid configuration: {reason}",
    },
    "external_program": {
        "vi": "Chương trình ngoài lỗi: {detail}",
        "en": "External program error: {detail}",
    },
    "program_missing": {
        "vi": "Thiếu chương trình {program}. Hãy chạy lệnh cài đặt trong README.",
        "en": "Program {program} is missing. Run the set-up command from the README.",
    },
    "program_timeout": {
        "vi": "{program} chạy quá {seconds} giây và đã bị dừng.",
        "en": "{program} ran longer than {seconds} s and was stopped.",
    },
    "program_failed": {
        "vi": "{program} thất bại (mã {code}): {detail}",
        "en": "{program} failed (code {code}): {detail}",
    },
    "program_no_output": {
        "vi": "{program} không tạo ra {path}",
        "en": "{program} did not create {path}",
    },
    "unknown_field": {
        "vi": "Không có trường {field}. Các trường: {known}",
        "en": "No field {field}. Fields: {known}",
    },
    "invalid_value": {
        "vi": "Giá trị {value!r} của {field} không hợp lệ ({problem}). Sửa lại, hoặc thêm --force để vẫn lưu (bản ghi vẫn cần xem lại).",
        "en": "{value!r} is not a valid {field} ({problem}). Fix it, or add --force to keep it (the record stays in review).",
    },
    "review_open_fields": {
        "vi": "Bản ghi {record} còn trường thiếu hoặc sai: {reasons}. Sửa bằng `sohoa review set` trước, hoặc chấp nhận nguyên trạng bằng --force --reason.",
        "en": "Record {record} still has missing or invalid fields: {reasons}. Fix them with `sohoa review set` first, or accept them as they are with --force --reason.",
    },
}

REVIEW_REASONS: dict[str, tuple[str, str]] = {
    # code prefix: (Vietnamese, English); {field} is the field's label, {detail} the rest
    "missing": ("Thiếu {field}", "{field} missing"),
    "invalid": ("{field} không hợp lệ ({detail})", "{field} invalid ({detail})"),
    "low_confidence": ("{field} đọc chưa chắc chắn", "{field} read with low confidence"),
    "disagreement": (
        "{field}: mã QR/mã vạch khác chữ in trên giấy",
        "{field}: QR/barcode and printed text disagree",
    ),
    "page_low_confidence": (
        "Trang {field} đọc kém (độ tin cậy OCR thấp)",
        "Page {field}: low OCR confidence",
    ),
}


def review_reason(code: str, lang: str | None = None) -> str:
    """Render a review reason code (``invalid:id_number:cccd_bad_province``) for people."""
    from schemas.fields import FIELD_LABELS_VI

    lang = lang or current_lang()
    kind, _, rest = code.partition(":")
    name, _, detail = rest.partition(":")
    templates = REVIEW_REASONS.get(kind)
    if templates is None:
        return code
    label = FIELD_LABELS_VI.get(name, name) if lang == "vi" else name
    return templates[0 if lang == "vi" else 1].format(field=label, detail=detail)


def current_lang() -> str:
    """The language chosen by ``SOHOA_LANG``, falling back to Vietnamese."""
    lang = os.environ.get("SOHOA_LANG", DEFAULT_LANG).lower()[:2]
    return lang if lang in ("vi", "en") else DEFAULT_LANG


def message(key: str, lang: str | None = None, **params: Any) -> str:
    """Render message ``key`` in ``lang``; unknown keys fall back to the internal message."""
    lang = lang or current_lang()
    entry = MESSAGES.get(key) or MESSAGES["internal"]
    template = entry.get(lang) or entry["en"]
    try:
        return template.format(**params)
    except (KeyError, IndexError):
        return f"{template} {params}"
