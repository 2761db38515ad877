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
    # --- web (issue 7) ---
    "web_bad_request": ("Yêu cầu không hợp lệ.", "Bad request."),
    "web_login_required": ("Cần đăng nhập.", "Please sign in."),
    "web_token_invalid": (
        "Mã truy cập API không hợp lệ, đã thu hồi hoặc tài khoản đã bị khóa.",
        "The API token is invalid, revoked, or its account is disabled.",
    ),
    "web_forbidden": (
        "Tài khoản của bạn không có quyền dùng trang này.",
        "Your account is not allowed to use this page.",
    ),
    "web_csrf_failed": (
        "Biểu mẫu đã hết hạn hoặc không hợp lệ. Hãy tải lại trang rồi thử lại.",
        "The form has expired or is not valid. Reload the page and try again.",
    ),
    "web_login_failed": (
        "Tên đăng nhập hoặc mật khẩu không đúng.",
        "Wrong user name or password.",
    ),
    "web_login_locked": (
        "Đăng nhập sai quá nhiều lần. Hãy thử lại sau {minutes} phút.",
        "Too many failed sign-ins. Try again in {minutes} minute(s).",
    ),
    "web_invalid_form": (
        "Dữ liệu gửi lên không hợp lệ hoặc thiếu.",
        "The data sent is missing or not valid.",
    ),
    "web_http_404": ("Không có trang này.", "No such page."),
    "web_http_405": ("Không dùng được cách gửi này.", "Method not allowed."),
    "web_http_413": ("Tệp gửi lên quá lớn.", "The upload is too large."),
    "web_error_title": ("Không thực hiện được", "Could not do that"),
    "web_back_home": ("Về trang chính", "Back to the home page"),
    "web_nav_label": ("Chức năng", "Sections"),
    "web_logout": ("Đăng xuất", "Sign out"),
    "web_role_clerk": ("Cán bộ một cửa", "Clerk"),
    "web_role_auditor": ("Thanh tra, kiểm tra", "Auditor"),
    "web_role_admin": ("Quản trị", "Administrator"),
    "web_login_title": ("Đăng nhập", "Sign in"),
    "web_login_button": ("Đăng nhập", "Sign in"),
    "web_field_name": ("Tên đăng nhập", "User name"),
    "web_field_password": ("Mật khẩu", "Password"),
    "web_field_password2": ("Nhập lại mật khẩu", "Password again"),
    "web_field_role": ("Vai trò", "Role"),
    "web_field_unit": ("Đơn vị", "Unit"),
    "web_field_user": ("Người dùng", "User"),
    "web_field_action": ("Thao tác", "Action"),
    "web_field_from": ("Từ ngày", "From"),
    "web_field_to": ("Đến ngày", "To"),
    "web_unit_all": ("mọi đơn vị", "every unit"),
    "web_home_title": ("Trang chính", "Home"),
    "web_home_intro": (
        "Bạn đăng nhập với vai trò {role}. Các việc bạn có thể làm:",
        "You are signed in as {role}. What you can do:",
    ),
    "web_home_unit": (
        "Bạn chỉ xem và xử lý hồ sơ của đơn vị {unit}.",
        "You see and handle the records of unit {unit} only.",
    ),
    "web_coming": ("sắp có", "coming"),
    "web_nav_upload": ("Tải bản quét", "Upload scans"),
    "web_nav_review": ("Xem lại", "Review"),
    "web_nav_search": ("Tra cứu", "Search"),
    "web_nav_verify": ("Kiểm tra toàn vẹn", "Verify"),
    "web_nav_reports": ("Báo cáo", "Reports"),
    "web_nav_users": ("Người dùng", "Users"),
    "web_nav_units": ("Đơn vị", "Units"),
    "web_nav_settings": ("Cấu hình", "Settings"),
    "web_nav_audit": ("Nhật ký truy cập", "Audit log"),
    "web_can_upload": (
        "Tải lên bản quét hồ sơ, kết quả và theo dõi tiến độ số hóa.",
        "Upload scanned dossiers and results, and follow their digitisation.",
    ),
    "web_can_review": (
        "Xem lại các bản ghi cần kiểm tra, sửa trường thông tin và duyệt.",
        "Check records that need review, correct their fields and accept them.",
    ),
    "web_can_search": (
        "Tìm hồ sơ theo mã, tên, số định danh hay nội dung, có hoặc không dấu; xem và tải PDF đã ký.",
        "Find records by code, name, ID number or text, with or without diacritics; view and download signed PDFs.",
    ),
    "web_can_verify": (
        "Kiểm tra chữ ký số và tính toàn vẹn của bản lưu trữ.",
        "Check the digital signatures and the integrity of the archive.",
    ),
    "web_can_reports": (
        "Xem tỷ lệ số hóa theo đơn vị, lĩnh vực, thủ tục và thời gian.",
        "See digitisation rates by unit, field, procedure and period.",
    ),
    "web_can_users": (
        "Tạo tài khoản, gán vai trò và đơn vị, đặt lại mật khẩu, khóa tài khoản.",
        "Create accounts, set roles and units, reset passwords, disable accounts.",
    ),
    "web_can_units": ("Quản lý danh sách đơn vị.", "Manage the list of units."),
    "web_can_settings": ("Xem cấu hình hệ thống.", "See the system's settings."),
    "web_can_audit": (
        "Xem và lọc nhật ký: ai xem, tải, sửa, kiểm tra gì, khi nào, từ đâu.",
        "Read and filter the log of who viewed, downloaded, corrected or verified what, when and from where.",
    ),
    "web_users_title": ("Người dùng", "Users"),
    "web_users_new": ("Thêm tài khoản", "New account"),
    "web_users_create": ("Tạo tài khoản", "Create account"),
    "web_users_list": ("{n} tài khoản", "{n} accounts"),
    "web_col_state": ("Trạng thái", "State"),
    "web_col_created": ("Ngày tạo", "Created"),
    "web_col_tokens": ("Mã API", "API tokens"),
    "web_col_at": ("Thời gian", "Time"),
    "web_col_target": ("Đối tượng", "Target"),
    "web_col_detail": ("Chi tiết", "Detail"),
    "web_col_from": ("Từ", "From"),
    "web_state_active": ("đang dùng", "active"),
    "web_state_disabled": ("đã khóa", "disabled"),
    "web_save": ("Lưu", "Save"),
    "web_reset_password": ("Đặt lại", "Reset"),
    "web_disable": ("Khóa", "Disable"),
    "web_enable": ("Mở khóa", "Enable"),
    "web_confirm_disable": (
        "Khóa tài khoản {name}? Các phiên đăng nhập của tài khoản này sẽ kết thúc.",
        "Disable {name}? Their sessions will end.",
    ),
    "web_done_created": ("Đã tạo tài khoản.", "Account created."),
    "web_done_disabled": ("Đã khóa tài khoản.", "Account disabled."),
    "web_done_enabled": ("Đã mở khóa tài khoản.", "Account enabled."),
    "web_done_password": ("Đã đặt lại mật khẩu.", "Password reset."),
    "web_done_role": ("Đã lưu vai trò và đơn vị.", "Role and unit saved."),
    "web_audit_title": ("Nhật ký truy cập", "Audit log"),
    "web_audit_count": (
        "{total} mục — trang {page}/{pages}",
        "{total} entries — page {page} of {pages}",
    ),
    "web_audit_empty": ("Không có mục nào.", "No entries."),
    "web_all": ("(tất cả)", "(all)"),
    "web_filter": ("Lọc", "Filter"),
    "web_pages": ("Trang", "Pages"),
    "web_prev": ("Trang trước", "Previous"),
    "web_next": ("Trang sau", "Next"),
    "users_added": (
        "Đã tạo tài khoản {name} ({role}).",
        "Account {name} created ({role}).",
    ),
    "users_title": ("{n} tài khoản", "{n} accounts"),
    "users_col_name": ("Tên đăng nhập", "Name"),
    "users_col_role": ("Vai trò", "Role"),
    "users_col_unit": ("Đơn vị", "Unit"),
    "users_col_active": ("Đang dùng", "Active"),
    "users_col_created": ("Ngày tạo", "Created"),
    "users_col_tokens": ("Mã API", "Tokens"),
    "users_none": (
        "Chưa có tài khoản nào. Tạo: sohoa users add TÊN --role admin",
        "No accounts yet. Create one: sohoa users add NAME --role admin",
    ),
    "users_disabled": (
        "Đã khóa {name}; các phiên đăng nhập đã kết thúc.",
        "{name} disabled; their sessions have ended.",
    ),
    "users_enabled": ("Đã mở khóa {name}.", "{name} enabled."),
    "users_role_set": (
        "{name}: vai trò {role}, {unit}.",
        "{name}: role {role}, {unit}.",
    ),
    "users_password_set": (
        "Đã đặt mật khẩu mới cho {name}; các phiên đăng nhập đã kết thúc.",
        "New password set for {name}; their sessions have ended.",
    ),
    "users_password_prompt": ("Mật khẩu", "Password"),
    "users_password_again": ("Nhập lại mật khẩu", "Password again"),
    "users_token_created": (
        "Mã API “{name}” của {user} (chỉ hiện một lần, hãy lưu lại ngay):",
        "API token “{name}” for {user} (shown once; store it now):",
    ),
    "users_token_revoked": ("Đã thu hồi mã API “{name}”.", "API token “{name}” revoked."),
    "users_tokens_none": ("{user} chưa có mã API nào.", "{user} has no API tokens."),
    "users_col_token": ("Mã API", "Token"),
    "users_col_last_used": ("Dùng lần cuối", "Last used"),
    "users_col_revoked": ("Thu hồi lúc", "Revoked"),
    "serve_no_admin": (
        "Chưa có tài khoản quản trị nào đang dùng. Tạo một tài khoản trước: sohoa users add TÊN --role admin",
        "There is no active administrator account. Create one first: sohoa users add NAME --role admin",
    ),
    "serve_starting": (
        "sohoa đang chạy tại http://{host}:{port}/ (Ctrl+C để dừng)",
        "sohoa is serving at http://{host}:{port}/ (Ctrl+C to stop)",
    ),
}


def t(key: str, **params: Any) -> str:
    """The interface text ``key`` in the current language."""
    vi, en = TEXTS.get(key, (key, key))
    template = vi if current_lang() == "vi" else en
    return template.format(**params) if params else template
