"""User-facing messages in Vietnamese (default) and English.

Code and logs speak English; people at the counter read Vietnamese. The CLI
picks the language from ``SOHOA_LANG`` (``vi`` or ``en``) or ``--lang``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
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
    # --- report (issue 6) ---
    "report_bad_date": {
        "vi": "{option} {value}: không phải ngày (dd/mm/yyyy hoặc yyyy-mm-dd).",
        "en": "{option} {value}: not a date (dd/mm/yyyy or yyyy-mm-dd).",
    },
    "report_period_order": {
        "vi": "--from {start} sau --to {end}: ngày bắt đầu phải trước hoặc bằng ngày kết thúc.",
        "en": "--from {start} is after --to {end}: the period must start on or before its end.",
    },
    "report_bad_by": {
        "vi": "--by {value} không hợp lệ; chọn một trong: {known}.",
        "en": "--by {value} is not valid; choose one of: {known}.",
    },
    "report_bad_format": {
        "vi": "--format {value} không hợp lệ; chọn table, csv, json, xlsx hoặc html.",
        "en": "--format {value} is not valid; choose table, csv, json, xlsx or html.",
    },
    "report_needs_output": {
        "vi": "Định dạng {fmt} cần tên tệp: thêm -o TỆP.{fmt}",
        "en": "The {fmt} format needs a file: add -o FILE.{fmt}",
    },
    "report_unknown_unit": {
        "vi": "Không có đơn vị {unit} trong sổ theo dõi hồ sơ. Nhập sổ bằng `sohoa register import` hoặc kiểm tra mã đơn vị.",
        "en": "Unit {unit} is not in the dossier register. Import it with `sohoa register import` or check the unit code.",
    },
    "report_write_failed": {
        "vi": "Không ghi được báo cáo {path}: {reason}",
        "en": "Could not write the report {path}: {reason}",
    },
    # --- register (issue 6) ---
    "register_file_missing": {
        "vi": "Không tìm thấy tệp {file}.",
        "en": "File not found: {file}.",
    },
    "register_empty": {
        "vi": "{file}: tệp rỗng, không có dòng nào. Hãy xuất lại sổ đăng ký từ hệ thống một cửa.",
        "en": "{file}: the file is empty. Export the register from the one-stop-shop system again.",
    },
    "register_no_header": {
        "vi": "{file}: không tìm thấy dòng tiêu đề (cần cột “Mã hồ sơ” và các cột như “Mã đơn vị”, “Trạng thái”). Kiểm tra tệp, hoặc chỉ tên cột bằng --mapping.",
        "en": "{file}: no header row found (needs a “Mã hồ sơ” column and others such as “Mã đơn vị”, “Trạng thái”). Check the file, or name the columns with --mapping.",
    },
    "register_missing_columns": {
        "vi": "{file}: thiếu cột bắt buộc: {columns}. Dùng --mapping nếu tệp đặt tên cột khác.",
        "en": "{file}: required columns missing: {columns}. Use --mapping if the file names them differently.",
    },
    "register_mapping_column": {
        "vi": "{file}: không có cột mà tệp ánh xạ chỉ ra: {columns}.",
        "en": "{file}: columns named in the mapping file are missing: {columns}.",
    },
    "register_mapping_invalid": {
        "vi": "Tệp ánh xạ {file} không hợp lệ: {reason}",
        "en": "Invalid mapping file {file}: {reason}",
    },
    "register_mapping_field": {
        "vi": "Tệp ánh xạ {file}: không có trường {field}. Các trường: {known}",
        "en": "Mapping file {file}: no field {field}. Fields: {known}",
    },
    "register_not_table": {
        "vi": "{file}: không phải bảng CSV hay Excel (tệp nhị phân?). Hãy xuất sổ đăng ký ra CSV hoặc .xlsx.",
        "en": "{file}: not a CSV or Excel table (a binary file?). Export the register as CSV or .xlsx.",
    },
    "register_corrupt": {
        "vi": "{file}: tệp bị hỏng hoặc không đọc được ({reason}). Hãy xuất lại; chưa nhập dòng nào.",
        "en": "{file}: corrupt or unreadable file ({reason}). Export it again; no row was imported.",
    },
    "register_encrypted": {
        "vi": "{file}: tệp Excel có mật khẩu. Hãy gỡ mật khẩu hoặc xuất lại không đặt mật khẩu.",
        "en": "{file}: password-protected Excel file. Remove the password or export it again without one.",
    },
    "register_xls": {
        "vi": "{file}: định dạng Excel cũ (.xls) không được hỗ trợ. Hãy lưu thành .xlsx hoặc CSV.",
        "en": "{file}: the old Excel format (.xls) is not supported. Save it as .xlsx or CSV.",
    },
    "register_row_missing": {
        "vi": "Thiếu {column}",
        "en": "{column} is missing",
    },
    "register_row_bad_date": {
        "vi": "{column} “{value}” không phải ngày hợp lệ (dd/mm/yyyy hoặc yyyy-mm-dd)",
        "en": "{column} “{value}” is not a valid date (dd/mm/yyyy or yyyy-mm-dd)",
    },
    "register_row_bad_status": {
        "vi": "{column} “{value}” không hợp lệ (mã 1–10)",
        "en": "{column} “{value}” is not a valid status (code 1–10)",
    },
    "register_row_bad_channel": {
        "vi": "{column} “{value}” không hợp lệ (1 trực tiếp, 2 trực tuyến, 3 bưu chính)",
        "en": "{column} “{value}” is not a valid channel (1 in person, 2 online, 3 by post)",
    },
    "register_row_bad_level": {
        "vi": "{column} “{value}” không rõ là cấp nào (tỉnh, sở, huyện, xã)",
        "en": "{column} “{value}” is not a known level (tỉnh, sở, huyện, xã)",
    },
    "register_row_bad_paper_result": {
        "vi": "{column} “{value}” phải là có hoặc không",
        "en": "{column} “{value}” must be yes or no (có/không)",
    },
    "register_row_too_long": {
        "vi": "{column} quá dài (“{value}”)",
        "en": "{column} is too long (“{value}”)",
    },
    "register_row_duplicate": {
        "vi": "Mã hồ sơ {value} đã có ở dòng {first}; giữ dòng {first}",
        "en": "Dossier code {value} already on line {first}; line {first} kept",
    },
    "register_row_invalid": {
        "vi": "Dòng không hợp lệ: {value}",
        "en": "Invalid row: {value}",
    },
    # --- web (issue 7) ---
    "invalid_request": {
        "vi": "Yêu cầu không hợp lệ.",
        "en": "Invalid request.",
    },
    "conflict": {
        "vi": "Đã có, không tạo lại được.",
        "en": "Already exists.",
    },
    "permission_denied": {
        "vi": "Bạn không có quyền làm việc này.",
        "en": "You are not allowed to do this.",
    },
    "unit_denied": {
        "vi": "Bản ghi thuộc đơn vị {unit}: bạn chỉ được xử lý hồ sơ của đơn vị mình.",
        "en": "The record belongs to unit {unit}: you may only handle your own unit's records.",
    },
    "bad_user_name": {
        "vi": "Tên đăng nhập “{name}” không hợp lệ: 2–64 ký tự a-z, 0-9, dấu chấm, gạch dưới, gạch ngang, không dấu.",
        "en": "User name “{name}” is not valid: 2–64 of a-z, 0-9, dot, underscore, hyphen.",
    },
    "bad_role": {
        "vi": "Vai trò “{role}” không hợp lệ; chọn một trong: {known}.",
        "en": "Role “{role}” is not valid; choose one of: {known}.",
    },
    "bad_unit": {
        "vi": "Mã đơn vị “{unit}” quá dài (tối đa 64 ký tự).",
        "en": "Unit code “{unit}” is too long (at most 64 characters).",
    },
    "unit_bad_name": {
        "vi": "Tên đơn vị phải có từ 1 đến {limit} ký tự.",
        "en": "The unit's name must be 1 to {limit} characters.",
    },
    "unit_bad_level": {
        "vi": "Cấp “{level}” không hợp lệ; chọn một trong: {levels}.",
        "en": "Level “{level}” is not valid; choose one of: {levels}.",
    },
    "unit_parent_unknown": {
        "vi": "Đơn vị cấp trên “{parent}” chưa có trong danh sách đơn vị; thêm đơn vị đó trước.",
        "en": "Parent unit “{parent}” is not in the unit list; add it first.",
    },
    "unit_parent_cycle": {
        "vi": "Không thể đặt “{parent}” làm cấp trên của “{unit}”: “{parent}” là chính nó hoặc nằm dưới nó.",
        "en": "“{parent}” cannot be the parent of “{unit}”: it is the unit itself or lies under it.",
    },
    "unit_not_found": {
        "vi": "Không có đơn vị “{unit}” trong danh sách đơn vị.",
        "en": "There is no unit “{unit}” in the unit list.",
    },
    "unit_in_use": {
        "vi": "Đơn vị “{unit}” còn {count} hồ sơ, bản ghi, lô tải lên, tài khoản hoặc đơn vị cấp dưới; không thể xóa.",
        "en": "Unit “{unit}” is still used by {count} dossiers, records, uploaded batches, accounts or child units; it cannot be removed.",
    },
    "password_too_short": {
        "vi": "Mật khẩu phải có ít nhất {min} ký tự.",
        "en": "The password must have at least {min} characters.",
    },
    "password_too_long": {
        "vi": "Mật khẩu dài quá {max} ký tự.",
        "en": "The password is longer than {max} characters.",
    },
    "password_is_name": {
        "vi": "Mật khẩu không được trùng tên đăng nhập.",
        "en": "The password must not be the user name.",
    },
    "password_mismatch": {
        "vi": "Hai lần nhập mật khẩu không khớp.",
        "en": "The two passwords do not match.",
    },
    "password_file": {
        "vi": "Không đọc được tệp mật khẩu {file}: {reason}",
        "en": "Cannot read the password file {file}: {reason}",
    },
    "user_exists": {
        "vi": "Đã có tài khoản {name} (tên tài khoản đã khóa cũng không dùng lại được).",
        "en": "Account {name} already exists (names of disabled accounts are not reused either).",
    },
    "user_not_found": {
        "vi": "Không có tài khoản {name}.",
        "en": "No account {name}.",
    },
    "user_disabled": {
        "vi": "Tài khoản {name} đang bị khóa.",
        "en": "Account {name} is disabled.",
    },
    "last_admin": {
        "vi": "Đây là tài khoản quản trị cuối cùng đang dùng: hãy tạo hoặc mở khóa một tài khoản quản trị khác trước.",
        "en": "This is the last active administrator: create or enable another administrator first.",
    },
    "self_disable": {
        "vi": "Không tự khóa tài khoản của mình được; nhờ một quản trị viên khác.",
        "en": "You cannot disable your own account; ask another administrator.",
    },
    "bad_token_name": {
        "vi": "Tên mã API “{name}” không hợp lệ: 2–64 ký tự a-z, 0-9, dấu chấm, gạch dưới, gạch ngang.",
        "en": "Token name “{name}” is not valid: 2–64 of a-z, 0-9, dot, underscore, hyphen.",
    },
    "token_exists": {
        "vi": "Tài khoản đã có mã API đang dùng tên “{name}”; thu hồi nó trước hoặc chọn tên khác.",
        "en": "The account already has an active token named “{name}”; revoke it first or pick another name.",
    },
    "token_not_found": {
        "vi": "Không có mã API đang dùng tên “{name}”.",
        "en": "No active API token named “{name}”.",
    },
    "bad_day": {
        "vi": "{option} “{value}”: không phải ngày (yyyy-mm-dd hoặc dd/mm/yyyy).",
        "en": "{option} “{value}”: not a day (yyyy-mm-dd or dd/mm/yyyy).",
    },
    "bad_period": {
        "vi": "Ngày bắt đầu {start} sau ngày kết thúc {end}.",
        "en": "The start {start} is after the end {end}.",
    },
    # --- web clerk (issue 7) ---
    "stale_revision": {
        "vi": "Bản ghi {record} vừa được người khác sửa (phiên bản {current}; biểu mẫu của bạn là phiên bản {expected}). Chưa lưu gì: xem giá trị hiện tại rồi lưu lại nếu vẫn cần.",
        "en": "Record {record} was changed by someone else meanwhile (revision {current}; your form was revision {expected}). Nothing was saved: check the current values, then save again if still needed.",
    },
    "record_busy": {
        "vi": "Bản ghi {record} đang được người khác sửa; thử lại sau ít giây.",
        "en": "Record {record} is being changed by someone else; try again in a few seconds.",
    },
    "batch_busy": {
        "vi": "Lô {batch} đang được một lượt xử lý khác (chạy đêm, trang web hoặc một lệnh ingest khác) số hóa. Chưa làm gì, bản gốc vẫn còn nguyên: hãy thử lại sau.",
        "en": "Batch {batch} is being digitised by another run (the nightly run, the web app or another ingest). Nothing was done and the originals are untouched: try again later.",
    },
    "upload_no_files": {
        "vi": "Chưa chọn tệp nào để tải lên.",
        "en": "No files were chosen for upload.",
    },
    "upload_bad_kind": {
        "vi": "Loại số hóa “{kind}” không hợp lệ; chọn thanh-phan hoặc ket-qua.",
        "en": "Kind “{kind}” is not valid; choose thanh-phan or ket-qua.",
    },
    "upload_bad_unit": {
        "vi": "Mã đơn vị “{unit}” không hợp lệ: 1–64 ký tự chữ, số, dấu chấm, gạch dưới, gạch ngang.",
        "en": "Unit code “{unit}” is not valid: 1–64 letters, digits, dots, underscores, hyphens.",
    },
    "upload_bad_dossier": {
        "vi": "Mã hồ sơ “{code}” không hợp lệ: tối đa 64 ký tự chữ, số, dấu chấm, gạch dưới, gạch ngang.",
        "en": "Dossier code “{code}” is not valid: at most 64 letters, digits, dots, underscores, hyphens.",
    },
    "batch_not_retryable": {
        "vi": "Lô {batch} đang ở trạng thái “{status}”: chỉ thử lại được lô bị lỗi hoặc đang chờ mà bản gốc còn trong hộp thư đến.",
        "en": "Batch {batch} is “{status}”: only a failed or waiting batch whose originals are still in the inbox can be retried.",
    },
    "bad_crop_box": {
        "vi": "Vùng cắt “{box}” không hợp lệ: cần trái,trên,rộng,cao (số nguyên, nằm trong trang).",
        "en": "Crop box “{box}” is not valid: left,top,width,height (whole numbers, inside the page).",
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


_CONTEXT_LANG: ContextVar[str | None] = ContextVar("sohoa_lang", default=None)
"""The language of the current web request, when there is one (see :func:`use_lang`)."""


def current_lang() -> str:
    """The current request's language if set, else ``SOHOA_LANG``, falling back to Vietnamese.

    Why a context variable: the web server answers people in both languages at once,
    so a process-wide setting cannot say which language a library message is for.
    """
    lang = _CONTEXT_LANG.get() or os.environ.get("SOHOA_LANG", DEFAULT_LANG).lower()[:2]
    return lang if lang in ("vi", "en") else DEFAULT_LANG


@contextmanager
def use_lang(lang: str) -> Iterator[None]:
    """Make :func:`current_lang` answer ``lang`` inside the block (this task/thread only)."""
    token = _CONTEXT_LANG.set(lang)
    try:
        yield
    finally:
        _CONTEXT_LANG.reset(token)


def message(key: str, lang: str | None = None, **params: Any) -> str:
    """Render message ``key`` in ``lang``; unknown keys fall back to the internal message."""
    lang = lang or current_lang()
    entry = MESSAGES.get(key) or MESSAGES["internal"]
    template = entry.get(lang) or entry["en"]
    try:
        return template.format(**params)
    except (KeyError, IndexError):
        return f"{template} {params}"
