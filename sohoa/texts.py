"""CLI interface strings (labels, titles) in Vietnamese and English; errors live in :mod:`sohoa.i18n`."""

from __future__ import annotations

from typing import Any

from sohoa.i18n import current_lang

TEXTS: dict[str, tuple[str, str]] = {
    # key: (Vietnamese, English)
    "error": ("Lỗi", "Error"),
    "bad_kind": (
        "--kind phải là thanh-phan hoặc ket-qua (nhận được: {kind})",
        "--kind must be thanh-phan or ket-qua (got: {kind})",
    ),
    "records_title": ("Bản ghi đã số hóa", "Digitised records"),
    "pages_title": ("Các trang", "Pages"),
    "col_id": ("Mã bản ghi", "Record"),
    "col_dossier": ("Mã hồ sơ", "Dossier code"),
    "col_pages": ("Số trang", "Pages"),
    "col_confidence": ("Độ tin cậy OCR", "OCR confidence"),
    "col_status": ("Trạng thái", "Status"),
    "col_pdf": ("PDF đã ký", "Signed PDF"),
    "col_unit": ("Đơn vị", "Unit"),
    "col_snippet": ("Trích đoạn", "Snippet"),
    "col_page": ("Trang", "Page"),
    "col_source": ("Tệp gốc", "Source"),
    "col_dpi": ("dpi", "dpi"),
    "col_review": ("Cần xem lại", "Review"),
    "col_turned": ("Đã xoay", "Turned"),
    "page_blank": ("trang trắng", "blank"),
    "status_archived": ("đã lưu trữ", "archived"),
    "status_needs_review": ("cần xem lại", "needs review"),
    "field_id": ("Mã bản ghi", "Record"),
    "field_dossier_code": ("Mã hồ sơ", "Dossier code"),
    "field_kind": ("Loại số hóa", "Kind"),
    "field_unit": ("Đơn vị", "Unit"),
    "field_pages": ("Số trang", "Pages"),
    "field_status": ("Trạng thái", "Status"),
    "field_pdf": ("Khóa PDF", "PDF key"),
    "field_sha256": ("SHA-256", "SHA-256"),
    "field_mean_confidence": ("Độ tin cậy OCR", "OCR confidence"),
    "field_fields": ("Trường thông tin", "Fields"),
    "field_created_at": ("Thời gian số hóa", "Digitised at"),
    "field_signer": ("Người ký", "Signer"),
    "field_batch_id": ("Mã lô", "Batch"),
    "field_manifest": ("Khóa manifest", "Manifest key"),
    "field_review_reasons": ("Cần kiểm tra lại", "To re-check"),
    "col_reasons": ("Lý do", "Reasons"),
    "col_field": ("Trường", "Field"),
    "col_value": ("Giá trị", "Value"),
    "col_method": ("Cách đọc", "Found by"),
    "col_doc_type": ("Loại giấy tờ", "Document"),
    "col_problem": ("Vấn đề", "Problem"),
    "fields_title": ("Trường thông tin", "Key fields"),
    "corrections_title": ("Lịch sử sửa", "Corrections"),
    "field_segment": ("Hồ sơ trong lô", "Dossier in batch"),
    "review_title": ("{n} bản ghi cần xem lại", "{n} records need review"),
    "review_empty": ("Không có bản ghi nào cần xem lại.", "No records need review."),
    "review_hint": (
        "Sửa: sohoa review set MÃ_BẢN_GHI TRƯỜNG GIÁ_TRỊ --reason …; duyệt: sohoa review accept MÃ_BẢN_GHI",
        "Correct: sohoa review set RECORD_ID FIELD VALUE --reason …; accept: sohoa review accept RECORD_ID",
    ),
    "review_saved": ("Đã lưu {id}: {status}", "Saved {id}: {status}"),
    "method_qr": ("mã QR", "QR code"),
    "method_barcode": ("mã vạch", "barcode"),
    "method_label": ("theo nhãn", "label"),
    "method_pattern": ("theo mẫu", "pattern"),
    "method_manual": ("nhập tay", "typed"),
    "exported": ("Đã xuất: {path}", "Exported: {path}"),
    "no_results": ("Không tìm thấy kết quả.", "No results."),
    "search_title": ("Kết quả tìm kiếm: {query}", "Search results: {query}"),
    "verify_usage": ("Cho biết mã bản ghi hoặc dùng --all.", "Give a record id or use --all."),
    "verify_summary": (
        "Đã kiểm tra {total} bản ghi, {failed} lỗi.",
        "Checked {total} records, {failed} failed.",
    ),
    "verify_signature": (
        "Chữ ký PAdES {level}: {signer}, ký lúc {signed}, dấu thời gian {stamped}; sau khi ký: {modification}",
        "PAdES {level} signature: {signer}, signed {signed}, time-stamp {stamped}; after signing: {modification}",
    ),
    "verify_mod_none": ("không thay đổi", "nothing added"),
    "verify_mod_validation_data": ("chỉ thêm dữ liệu xác thực", "validation data only"),
    "verify_mod_changed": ("ĐÃ BỊ THAY ĐỔI", "CHANGED"),
    "progress_verify": ("Kiểm tra toàn vẹn", "Checking integrity"),
    "progress_rebuild": ("Đọc manifest", "Reading manifests"),
    "bad_sample": (
        "--sample phải là số bản ghi (50) hoặc tỉ lệ (0.1, 10%), nhận được: {value}",
        "--sample must be a number of records (50) or a fraction (0.1, 10%), got: {value}",
    ),
    "fixity_missing": ("mất đối tượng", "missing"),
    "fixity_changed": ("đã bị thay đổi", "changed"),
    "fixity_invalid": ("chữ ký không hợp lệ", "invalid signature"),
    "fixity_unreadable": ("không đọc được kho", "unreadable"),
    "fixity_ok": ("tốt", "ok"),
    "fixity_orphan": ("MỒ CÔI", "ORPHAN"),
    "fixity_not_checked": ("chưa kiểm tra", "not checked"),
    "fixity_summary": (
        (
            "Đã kiểm tra {checked}/{catalog_records} bản ghi ({workers} luồng, {seconds} s): "
            "{ok} tốt, {missing} mất đối tượng, {changed} bị thay đổi, {invalid} chữ ký không hợp lệ, "
            "{unreadable} không đọc được; đối tượng mồ côi: {orphans}."
        ),
        (
            "Checked {checked}/{catalog_records} records ({workers} threads, {seconds} s): "
            "{ok} ok, {missing} missing, {changed} changed, {invalid} invalid signature, "
            "{unreadable} unreadable; orphans: {orphans}."
        ),
    ),
    "rebuild_skipped": ("BỎ QUA", "SKIPPED"),
    "rebuild_duplicate": (
        "Bản ghi {id} có hai manifest; giữ bản sửa gần nhất.",
        "Record {id} has two manifests; kept the most recently changed.",
    ),
    "rebuild_done": (
        (
            "Đã dựng lại danh mục {catalog} từ {manifests} manifest: {records} bản ghi, "
            "{batches} lô, {corrections} lần sửa ({seconds} s)."
        ),
        (
            "Rebuilt catalog {catalog} from {manifests} manifests: {records} records, "
            "{batches} batches, {corrections} corrections ({seconds} s)."
        ),
    ),
    "progress_batches": ("Lô", "Batches"),
    "progress_pages": ("Trang (lô {batch})", "Pages (batch {batch})"),
    "progress_stage": ("{stage} (lô {batch})", "{stage} (batch {batch})"),
    "stage_sign": ("Tạo PDF và ký số", "Building and signing PDF"),
    "stage_store": ("Lưu trữ", "Storing"),
    "demo_intro": (
        "{software}: đã tạo {n} bản quét mẫu trong {where}; đang số hóa…",
        "{software}: generated {n} sample scans in {where}; digitising…",
    ),
    "demo_search": (
        "Tìm “{word}” (không dấu): {n} kết quả.",
        "Search for “{word}” (no diacritics): {n} hits.",
    ),
    "demo_next": (
        'Danh mục: {catalog}. Thử: sohoa search "dang ky", sohoa review, sohoa verify --all',
        'Catalog: {catalog}. Try: sohoa search "dang ky", sohoa review, sohoa verify --all',
    ),
    # --- report (issue 6) ---
    "report_written": ("Đã ghi báo cáo ({fmt}): {path}", "Report written ({fmt}): {path}"),
    "report_empty": (
        "Không có hồ sơ nào tiếp nhận hoặc giải quyết trong kỳ. Sổ theo dõi đã được nhập chưa? (sohoa register import)",
        "No dossier was received or solved in the period. Has the register been imported? (sohoa register import)",
    ),
    # --- register (issue 6) ---
    "register_imported": (
        "{file}: {inserted} hồ sơ mới, {updated} cập nhật, {unchanged} không đổi, {bad} dòng lỗi.",
        "{file}: {inserted} new dossiers, {updated} updated, {unchanged} unchanged, {bad} bad rows.",
    ),
    "register_units": (
        "Đơn vị: {units_inserted} mới, {units_updated} cập nhật.",
        "Units: {units_inserted} new, {units_updated} updated.",
    ),
    "register_ignored": (
        "Cột không dùng đến: {columns} (chỉ tên cột bằng --mapping nếu cần)",
        "Columns not used: {columns} (name them with --mapping if needed)",
    ),
    "register_bad_title": ("{n} dòng không nhập được", "{n} rows not imported"),
    "register_col_line": ("Dòng", "Line"),
    "register_col_problem": ("Lý do", "Problem"),
    "register_more_bad": (
        "… và {n} lỗi khác (xem đủ bằng --json)",
        "… and {n} more problems (see them all with --json)",
    ),
    "register_check_ok": (
        "Mọi bản ghi số hóa đều có trong sổ đăng ký, đúng đơn vị.",
        "Every digitised record is in the register, under the same unit.",
    ),
    "register_unregistered_title": (
        "{n} bản ghi số hóa không có trong sổ đăng ký",
        "{n} digitised records not in the register",
    ),
    "register_wrong_unit_title": (
        "{n} hồ sơ có đơn vị khác với sổ đăng ký",
        "{n} dossiers whose unit differs from the register",
    ),
    "register_col_register_unit": ("Đơn vị theo sổ", "Register unit"),
    "register_col_record_unit": ("Đơn vị của bản ghi", "Record unit"),
    # --- nightly (issue 6) ---
    "nightly_bad_day": (
        "--day {value}: không phải ngày (yyyy-mm-dd hoặc dd/mm/yyyy).",
        "--day {value}: not a day (yyyy-mm-dd or dd/mm/yyyy).",
    ),
    "nightly_title": (
        "Việc hằng đêm, báo cáo ngày {day} ({seconds} giây)",
        "Nightly run, reporting {day} ({seconds} s)",
    ),
    "nightly_batches": (
        (
            "Lô đã xử lý: {processed} — {archived} đã lưu trữ ({review} có bản ghi cần xem lại), "
            "{failed} lỗi, {quarantined} cách ly"
        ),
        (
            "Batches processed: {processed} — {archived} archived ({review} with records to "
            "review), {failed} failed, {quarantined} quarantined"
        ),
    ),
    "nightly_retries": (
        "Thử lại: {retried}; bỏ qua vì hết lượt thử: {skipped}; đang do tiến trình khác xử lý: {busy}",
        "Retried: {retried}; skipped, attempts used up: {skipped}; held by another process: {busy}",
    ),
    "nightly_failed": ("Lỗi, bản gốc vẫn trong inbox", "Failed, originals kept in the inbox"),
    "nightly_quarantined": ("Đã cách ly (tệp hỏng)", "Quarantined (bad input)"),
    "nightly_skipped": ("Hết lượt thử, cần người xử lý", "Attempts used up, needs a person"),
    "nightly_busy": ("Tiến trình khác đang xử lý", "Held by another process"),
    "nightly_incomplete": ("Thư mục inbox chưa đầy đủ", "Incomplete inbox folder"),
    "nightly_fixity": (
        "Kiểm tra toàn vẹn (mẫu): {checked} bản ghi, {problems} vấn đề",
        "Fixity sample: {checked} records checked, {problems} problem(s)",
    ),
    "nightly_reports": ("Đã ghi {n} báo cáo vào kho:", "{n} reports written to the store:"),
    "nightly_reports_skipped": ("Không ghi báo cáo: {reason}", "No reports written: {reason}"),
    "nightly_step_failed": (
        "Bước {step} không chạy được ({error})",
        "Step {step} could not run ({error})",
    ),
    "nightly_ok": ("Hoàn tất, không có lỗi.", "Done, nothing failed."),
    "nightly_attention": (
        "Cần kiểm tra: mã thoát {code} (xem sohoa nightly --help).",
        "Needs attention: exit code {code} (see sohoa nightly --help).",
    ),
}


def t(key: str, **params: Any) -> str:
    """The interface text ``key`` in the current language."""
    vi, en = TEXTS.get(key, (key, key))
    template = vi if current_lang() == "vi" else en
    return template.format(**params) if params else template
