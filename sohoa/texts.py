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
}


def t(key: str, **params: Any) -> str:
    """The interface text ``key`` in the current language."""
    vi, en = TEXTS.get(key, (key, key))
    template = vi if current_lang() == "vi" else en
    return template.format(**params) if params else template
