"""QR codes and barcodes on synthetic scans, and receipt payloads mapped to fields.

Symbols are made by encoders independent of the decoder (segno for QR,
python-barcode for Code 39 / Code 128), pasted on A4 pages of Vietnamese text
inside a white quiet zone, then scanned-looking (turned, skewed, JPEG q40 with
noise). Expected boxes are where the ink of each symbol was pasted.
"""

from __future__ import annotations

import io
import json
import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest
import segno
from barcode.codex import Code39, Code128
from barcode.writer import ImageWriter
from PIL import Image
from ppf.datamatrix import DataMatrix

from ocr.codes import decode_codes, is_separator, parse_code_payload
from samples.synth import degrade, render_page, sample_lines, turn_page
from schemas.fields import FIELD_NAMES, Box, CodeHit
from sohoa.errors import BadInputError

DOSSIER = "000.00.06.H56-231027-0361"
SEPARATOR = "TACH-HO-SO-0001"
RECEIPT = {
    "maHoSo": DOSSIER,
    "maTTHC": "1.004616.000.00.00.H56",
    "soDinhDanh": "045187002319",
    "hoTen": "Nguyễn Thị Hồng Đào",
    "tenGiayTo": "Giấy tiếp nhận hồ sơ và hẹn trả kết quả",
    "heThong": "Hệ thống thông tin giải quyết TTHC tỉnh Quảng Trị",
    "thoiGianCap": "27/10/2023 08:30:00",
    "ngayHenTra": "31/10/2023",
}
QR_PAYLOAD = json.dumps(RECEIPT, ensure_ascii=False)
TOLERANCE = 10


# --- symbols and pages -------------------------------------------------------------------


def _px(mm: float, dpi: int) -> int:
    return round(mm / 25.4 * dpi)


def _qr(payload: str, dpi: int, mm: float = 25.0, micro: bool = False) -> Image.Image:
    """A QR code about ``mm`` wide, whole pixels per module, no quiet zone (the page gives it)."""
    code = segno.make(payload, error="m", micro=micro)
    modules = code.symbol_size(scale=1, border=0)[0]
    buf = io.BytesIO()
    code.save(buf, kind="png", scale=max(2, round(_px(mm, dpi) / modules)), border=0)
    return Image.open(io.BytesIO(buf.getvalue())).convert("L")


def _linear(kind: type, text: str, dpi: int, width_mm: float, height_mm: float = 10.0,
            **options) -> Image.Image:  # fmt: skip
    """A 1-D symbol printed ``width_mm`` x ``height_mm``, as a scanner at ``dpi`` sees it.

    Drawn with 4 px per module at 254 dpi, cropped to its bars and resampled
    with area averaging, so module edges fall between pixels as on a real scan.
    """
    code = kind(text, writer=ImageWriter(), **options)
    buf = io.BytesIO()
    code.write(buf, options={"write_text": False, "dpi": 254, "module_width": 0.4,
                             "module_height": height_mm, "quiet_zone": 1})  # fmt: skip
    arr = np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("L"))
    ys, xs = np.nonzero(arr < 128)
    arr = arr[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    size = (_px(width_mm, dpi), _px(height_mm, dpi))
    return Image.fromarray(cv2.resize(arr, size, interpolation=cv2.INTER_AREA))


def _paste(page: Image.Image, symbol: Image.Image, x_mm: float, y_mm: float, dpi: int) -> Box:
    """Paste ``symbol`` inside a 4 mm white quiet zone; return where its ink is."""
    x, y, quiet = _px(x_mm, dpi), _px(y_mm, dpi), _px(4, dpi)
    page.paste((255, 255, 255), (x - quiet, y - quiet, x + symbol.width + quiet,
                                 y + symbol.height + quiet))  # fmt: skip
    page.paste(symbol.convert("RGB"), (x, y))
    return (x, y, symbol.width, symbol.height)


@dataclass(frozen=True)
class Page:
    image: Image.Image
    dpi: int
    boxes: dict[tuple[str, str], Box]
    """(format, text) -> where the symbol's ink is."""


def _receipt_page(dpi: int, seed: int = 0) -> Page:
    """A receipt: QR at the top left, Code 39 of the mã hồ sơ top right, a Code 128 low down."""
    page = render_page(sample_lines(seed, 40), dpi=dpi, seed=seed)
    boxes = {
        ("QRCode", QR_PAYLOAD): _paste(page, _qr(QR_PAYLOAD, dpi), 15, 12, dpi),
        ("Code39", DOSSIER): _paste(
            page, _linear(Code39, DOSSIER, dpi, 70, add_checksum=False), 125, 15, dpi
        ),
        ("Code128", SEPARATOR): _paste(page, _linear(Code128, SEPARATOR, dpi, 50), 140, 260, dpi),
    }
    return Page(page, dpi, boxes)


@pytest.fixture(scope="module", params=[300, 200], ids=["300dpi", "200dpi"])
def receipt(request) -> Page:
    return _receipt_page(request.param)


def _turn_box(box: Box, size: tuple[int, int], quarter_turns: int) -> Box:
    """Where ``box`` lands after :func:`turn_page` (counter-clockwise quarter turns)."""
    (left, top, width, height), (page_w, page_h) = box, size
    for _ in range(quarter_turns % 4):
        left, top, width, height = top, page_w - left - width, height, width
        page_w, page_h = page_h, page_w
    return (left, top, width, height)


def _centre(box: Box) -> tuple[float, float]:
    return (box[0] + box[2] / 2, box[1] + box[3] / 2)


def _skewed_centre(box: Box, size: tuple[int, int], skew_deg: float) -> tuple[float, float]:
    """Where the centre of ``box`` goes when :func:`degrade` rotates the page."""
    matrix = cv2.getRotationMatrix2D(((size[0] - 1) / 2, (size[1] - 1) / 2), skew_deg, 1.0)
    x, y = _centre(box)
    return tuple(matrix @ np.array([x, y, 1.0]))


def _by_key(hits: tuple[CodeHit, ...]) -> dict[tuple[str, str], CodeHit]:
    return {(h.format, h.text): h for h in hits}


def _assert_boxes(hits: tuple[CodeHit, ...], expected: dict[tuple[str, str], Box]) -> None:
    found = _by_key(hits)
    assert set(found) == set(expected)
    for key, box in expected.items():
        got = found[key].box
        assert all(abs(g - e) <= TOLERANCE for g, e in zip(got, box, strict=True)), (key, got, box)


# --- decoding ------------------------------------------------------------------------------


def test_decodes_every_symbol_where_it_was_pasted(receipt: Page) -> None:
    hits = decode_codes(receipt.image, page=4)
    _assert_boxes(hits, receipt.boxes)
    assert all(h.page == 4 for h in hits)


def test_vietnamese_json_in_qr_comes_out_exactly(receipt: Page) -> None:
    qr = next(h for h in decode_codes(receipt.image, 0) if h.format == "QRCode")
    assert qr.text == QR_PAYLOAD
    assert json.loads(qr.text)["hoTen"] == "Nguyễn Thị Hồng Đào"
    assert parse_code_payload(qr.text) == {
        "dossier_code": DOSSIER,
        "procedure_code": "1.004616.000.00.00.H56",
        "id_number": "045187002319",
        "applicant_name": "Nguyễn Thị Hồng Đào",
        "received_date": "2023-10-27",  # a receipt is issued when the dossier is received
        "due_date": "2023-10-31",
    }


def test_hits_are_sorted_top_to_bottom_then_left_to_right(receipt: Page) -> None:
    hits = decode_codes(receipt.image, 0)
    assert [h.format for h in hits] == ["QRCode", "Code39", "Code128"]
    assert [h.box[1] for h in hits] == sorted(h.box[1] for h in hits)


@pytest.mark.parametrize("quarter_turns", [1, 2, 3], ids=["90", "180", "270"])
def test_turned_pages(receipt: Page, quarter_turns: int) -> None:
    turned = turn_page(receipt.image, quarter_turns)
    expected = {
        key: _turn_box(box, receipt.image.size, quarter_turns) for key, box in receipt.boxes.items()
    }
    _assert_boxes(decode_codes(turned, 0), expected)


@pytest.mark.parametrize("skew", [3.0, -3.0])
def test_skewed_pages(receipt: Page, skew: float) -> None:
    """A skewed symbol's box is not the pasted rectangle any more: compare centres."""
    skewed = degrade(receipt.image, skew_deg=skew, seed=1)
    found = _by_key(decode_codes(skewed, 0))
    assert set(found) == set(receipt.boxes)
    for key, box in receipt.boxes.items():
        want = _skewed_centre(box, receipt.image.size, skew)
        got = _centre(found[key].box)
        assert math.dist(got, want) <= TOLERANCE, (key, got, want)


def test_jpeg_q40_with_noise(receipt: Page) -> None:
    noisy = degrade(receipt.image, noise=0.15, jpeg_quality=40, seed=2)
    _assert_boxes(decode_codes(noisy, 0), receipt.boxes)


def test_skew_blur_noise_and_jpeg_together_at_300_dpi() -> None:
    page = _receipt_page(300, seed=3)
    scan = degrade(page.image, skew_deg=2.5, blur_sigma=0.7, noise=0.1, jpeg_quality=40,
                   border_px=15, seed=3)  # fmt: skip
    assert set(_by_key(decode_codes(scan, 0))) == set(page.boxes)


def test_inputs_as_array_gray_and_path_give_the_same_hits(receipt: Page, tmp_path: Path) -> None:
    want = decode_codes(receipt.image, 0)
    rgb = np.asarray(receipt.image)
    path = tmp_path / "page.png"
    receipt.image.save(path)
    assert decode_codes(rgb, 0) == want
    assert decode_codes(np.ascontiguousarray(rgb[:, :, ::-1]), 0) == want  # BGR from OpenCV
    assert decode_codes(receipt.image.convert("L"), 0) == want
    assert decode_codes(np.dstack([rgb, np.full(rgb.shape[:2], 255, np.uint8)]), 0) == want
    assert decode_codes(path, 0) == want
    assert decode_codes(str(path), 0) == want


def test_a_colour_jpeg_file_read_as_luminance_gives_the_same_hits(receipt: Page, tmp_path: Path):
    """Scanner pages are colour JPEG files: decoded straight to grey, they read the same."""
    path = tmp_path / "page.jpg"
    receipt.image.convert("RGB").save(path, quality=85)
    with Image.open(path) as opened:
        as_rgb = decode_codes(np.asarray(opened.convert("RGB")), 0)
    from_file = decode_codes(path, 0)
    assert [(h.format, h.text) for h in from_file] == [(h.format, h.text) for h in as_rgb]
    assert set(_by_key(from_file)) == set(receipt.boxes)
    for ours, theirs in zip(from_file, as_rgb, strict=True):
        assert max(abs(a - b) for a, b in zip(ours.box, theirs.box, strict=True)) <= 2


def test_empty_page_has_no_codes() -> None:
    page = render_page(sample_lines(5, 40), dpi=300, seed=5)
    assert decode_codes(page, 0) == ()
    assert decode_codes(degrade(page, noise=0.2, jpeg_quality=40, seed=5), 0) == ()


@pytest.mark.parametrize(
    "image",
    [
        Image.new("RGB", (1, 1), "white"),
        Image.new("L", (1, 1), 0),
        Image.new("1", (1, 1)),
        np.zeros((1, 1), np.uint8),
        np.zeros((1, 1, 3), np.uint8),
        np.zeros((0, 0), np.uint8),
        np.zeros((0, 5, 3), np.uint8),
        np.ones((1, 1, 4), np.uint8),
        np.ones((3, 3), bool),
        np.random.default_rng(0).random((60, 40)),  # floats in 0-1
        np.random.default_rng(1).integers(0, 65535, (80, 80), dtype=np.uint16),
        np.random.default_rng(2).integers(0, 255, (200, 300, 3), dtype=np.uint8),
    ],
    ids=str.split(
        "rgb1 l1 bilevel1 gray1 rgb-array1 empty empty-rgb rgba1 bool float uint16 noise"
    ),
)
def test_garbage_and_tiny_images_give_nothing(image) -> None:
    assert decode_codes(image, 0) == ()


def test_unreadable_file_is_a_bad_input(tmp_path: Path) -> None:
    path = tmp_path / "scan.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    with pytest.raises(BadInputError):
        decode_codes(path, 0)


def test_latin1_qr_keeps_its_own_charset() -> None:
    """segno writes ``café`` as ISO-8859-1 bytes: not UTF-8, so zxing's reading is used."""
    page = Image.new("RGB", (600, 600), "white")
    page.paste(_qr("Tên: café", 300, mm=15).convert("RGB"), (100, 100))
    assert [h.text for h in decode_codes(page, 0)] == ["Tên: café"]


def test_micro_qr_and_two_identical_symbols_both_kept() -> None:
    page = render_page(sample_lines(6, 10), dpi=300, seed=6)
    first = _paste(page, _qr("SO-HOA-01", 300, mm=8, micro=True), 20, 150, 300)
    second = _paste(page, _qr("SO-HOA-01", 300, mm=8, micro=True), 120, 220, 300)
    hits = decode_codes(page, 0)
    assert [(h.format, h.text) for h in hits] == [("MicroQRCode", "SO-HOA-01")] * 2
    assert [h.box[:2] for h in hits] == [first[:2], second[:2]]


def _data_matrix(payload: str, dpi: int, mm: float = 14.0) -> Image.Image:
    """A Data Matrix about ``mm`` wide from ppf-datamatrix (an encoder zxing-cpp did not write)."""
    matrix = np.array(DataMatrix(payload).matrix, dtype=np.uint8)
    module = max(2, round(_px(mm, dpi) / matrix.shape[0]))
    ink = np.where(matrix > 0, 0, 255).astype(np.uint8)
    return Image.fromarray(np.kron(ink, np.ones((module, module), dtype=np.uint8)))


@pytest.mark.parametrize("dpi", [300, 200])
def test_data_matrix_of_a_dossier_code_is_decoded_on_a_noisy_page(dpi: int) -> None:
    page = render_page(sample_lines(7, 40), dpi=dpi, seed=7)
    box = _paste(page, _data_matrix(DOSSIER, dpi), 20, 14, dpi)
    scanned = degrade(page, skew_deg=1.5, noise=0.15, jpeg_quality=40, seed=7)
    hits = [h for h in decode_codes(scanned, page=0) if h.format == "DataMatrix"]
    assert [h.text for h in hits] == [DOSSIER]
    centre = _skewed_centre(box, page.size, 1.5)
    assert math.dist(_centre(hits[0].box), centre) <= TOLERANCE
    assert parse_code_payload(hits[0].text)["dossier_code"] == DOSSIER


def test_code39_check_character_is_recognised() -> None:
    """python-barcode adds the mod-43 check character by default; the code still parses."""
    page = render_page(sample_lines(8, 10), dpi=300, seed=8)
    _paste(page, _linear(Code39, DOSSIER, 300, 75, add_checksum=True), 100, 200, 300)
    (hit,) = decode_codes(page, 0)
    assert hit.format == "Code39" and hit.text.startswith(DOSSIER) and len(hit.text) == 26
    assert parse_code_payload(hit.text) == {"dossier_code": DOSSIER}


# --- separators ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "codes", "expected"),
    [
        (SEPARATOR, {SEPARATOR}, True),
        (" tach-ho-so-0001\n", ["TACH-HO-SO-0001"], True),
        (SEPARATOR, [" Tach-Ho-So-0001 "], True),
        (SEPARATOR, [], False),
        (SEPARATOR, ["TACH-HO-SO-0002"], False),
        ("TACH-HO-SO-00011", [SEPARATOR], False),
        (DOSSIER, [SEPARATOR], False),
    ],
)
def test_is_separator(text: str, codes, expected: bool) -> None:
    hit = CodeHit(format="Code128", text=text, page=0, box=(0, 0, 10, 10))
    assert is_separator(hit, codes) is expected


# --- payloads -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        # a bare mã hồ sơ
        (DOSSIER, {"dossier_code": DOSSIER}),
        (" h21.65-220914-0011\r\n", {"dossier_code": "H21.65-220914-0011"}),
        # URLs
        (f"https://dichvucong.quangtri.gov.vn/tra-cuu-ho-so?maHoSo={DOSSIER}",
         {"dossier_code": DOSSIER}),
        ("https://igate.vn/tra-cuu?ma_ho_so=H21.65-220914-0011&lang=vi",
         {"dossier_code": "H21.65-220914-0011"}),
        (f"http://a.gov.vn/hs?mahoso={DOSSIER}", {"dossier_code": DOSSIER}),
        (f"https://a.gov.vn/q?code={DOSSIER}", {"dossier_code": DOSSIER}),
        (f"https://a.gov.vn/q?id={DOSSIER}&maTTHC=1.004616.000.00.00.H56",
         {"dossier_code": DOSSIER, "procedure_code": "1.004616.000.00.00.H56"}),
        (f"https://a.gov.vn/tracuu#maHoSo={DOSSIER}", {"dossier_code": DOSSIER}),
        (f"https://a.gov.vn/ho-so/{DOSSIER}", {"dossier_code": DOSSIER}),
        ("https://a.gov.vn/tra-cuu?id=12345", {}),
        # JSON, keys in any case and with or without diacritics / underscores
        (json.dumps({"MaHoSo": DOSSIER, "MaTTHC": "2.000986.000.00.00.H12"}),
         {"dossier_code": DOSSIER, "procedure_code": "2.000986.000.00.00.H12"}),
        (json.dumps({"ma_ho_so": DOSSIER, "so_cccd": "045 187 002 319",
                     "ngay_hen_tra": "2023-10-31"}),
         {"dossier_code": DOSSIER, "id_number": "045187002319", "due_date": "2023-10-31"}),
        (json.dumps({"Mã hồ sơ": DOSSIER, "Ngày hẹn trả": "31/10/2023"}, ensure_ascii=False),
         {"dossier_code": DOSSIER, "due_date": "2023-10-31"}),
        (json.dumps({"data": {"maHoSo": DOSSIER, "ngayTiepNhan": "20231027083000"}}),
         {"dossier_code": DOSSIER, "received_date": "2023-10-27"}),
        (json.dumps({"maHoSo": DOSSIER, "soDinhDanh": 45187002319}),  # number lost its 0
         {"dossier_code": DOSSIER}),
        (json.dumps({"maHoSo": DOSSIER, "soDinhDanh": "045187002319", "ngaySinh": "15/03/1978"}),
         {"dossier_code": DOSSIER, "birth_date": "1978-03-15"}),  # ID disagrees: left out
        (json.dumps({"maHoSo": DOSSIER, "soDienThoai": "+84 912 345 678",
                     "email": "Dao@Example.VN", "tenGiayTo": "Giấy tiếp nhận"}),
         {"dossier_code": DOSSIER, "phone": "0912345678", "email": "Dao@example.vn"}),
        # key: value lines and key=value; pairs
        (f"Mã hồ sơ: {DOSSIER}\nMã TTHC: 1.004616.000.00.00.H56\nNgày hẹn trả: 31/10/2023",
         {"dossier_code": DOSSIER, "procedure_code": "1.004616.000.00.00.H56",
          "due_date": "2023-10-31"}),
        (f"maHoSo={DOSSIER};soCCCD=045187002319;thoiGianCap=27/10/2023 08:30:00;",
         {"dossier_code": DOSSIER, "id_number": "045187002319", "issue_date": "2023-10-27"}),
        # thoiGianCap: the issue time, which on a receipt is the time received
        (json.dumps({"maHoSo": DOSSIER, "tenGiayTo": "Quyết định công nhận",
                     "thoiGianCap": "2023-11-02T10:00:00"}, ensure_ascii=False),
         {"dossier_code": DOSSIER, "issue_date": "2023-11-02"}),
        (json.dumps({"maHoSo": DOSSIER, "tenGiayTo": "Giấy biên nhận hồ sơ",
                     "thoiGianCap": "2023-10-27T08:30"}, ensure_ascii=False),
         {"dossier_code": DOSSIER, "received_date": "2023-10-27"}),
        (json.dumps({"maHoSo": DOSSIER, "thoiGianCap": "2023-10-27T08:30",
                     "ngayHenTra": "2023-10-31"}),
         {"dossier_code": DOSSIER, "received_date": "2023-10-27", "due_date": "2023-10-31"}),
        (json.dumps({"maHoSo": DOSSIER, "ngayTiepNhan": "27/10/2023", "thoiGianCap": "28/10/2023",
                     "ngayHenTra": "2023-10-31"}),
         {"dossier_code": DOSSIER, "received_date": "2023-10-27", "issue_date": "2023-10-28",
          "due_date": "2023-10-31"}),
        (f"MAHOSO = {DOSSIER}; NGAYHENTRA = 31-10-2023",
         {"dossier_code": DOSSIER, "due_date": "2023-10-31"}),
        # pipe-separated, recognised by shape
        (f"{DOSSIER}|1.004616.000.00.00.H56|045187002319|27/10/2023|Nguyễn Thị Hồng Đào",
         {"dossier_code": DOSSIER, "procedure_code": "1.004616.000.00.00.H56",
          "id_number": "045187002319"}),
        (f"IGATE|{DOSSIER}|C1234567", {"dossier_code": DOSSIER, "id_number": "C1234567"}),
        # malformed
        ('{"maHoSo": "000.00.06.H56-231027-0361", "maTTHC": ', {}),
        ("{maHoSo: 000.00.06.H56-231027-0361}", {}),
        ("000.00.06.H56-231327-0361", {}),
        (json.dumps({"maHoSo": "000.00.06.H56-230231-0361", "maTTHC": "1.004616.000.00.00.H56"}),
         {"procedure_code": "1.004616.000.00.00.H56"}),
        ("maHoSo=000.00.06.H56-231027-O361", {}),
        ("https://a.gov.vn/q?maHoSo=000.00.06.H56-231331-0361", {}),
        ("", {}),
        ("   ", {}),
        ("xin chào", {}),
    ],
)  # fmt: skip
def test_parse_code_payload(payload: str, expected: dict[str, str]) -> None:
    assert parse_code_payload(payload) == expected


def test_payload_fields_are_schema_field_names() -> None:
    every_key = {
        "maHoSo": DOSSIER, "maTTHC": "1.004616.000.00.00.H56", "tenTTHC": "Đăng ký khai sinh",
        "soDinhDanh": "045187002319", "hoTen": "NGUYỄN THỊ HỒNG ĐÀO", "ngaySinh": "1987-03-15",
        "diaChi": "Số 12 Lê Lợi, Đông Hà", "soDienThoai": "0912345678", "email": "a@b.vn",
        "ngayTiepNhan": "27/10/2023", "ngayHenTra": "31/10/2023", "thoiGianCap": "27/10/2023",
        "soKyHieu": "123/QĐ-UBND", "coQuanBanHanh": "UBND phường Đông Hà",
        "nguoiKy": "Lê Thị Mỹ Duyên", "linhVuc": "Hộ tịch", "trichYeu": "Khai sinh",
    }  # fmt: skip
    fields = parse_code_payload(json.dumps(every_key, ensure_ascii=False))
    assert set(fields) <= set(FIELD_NAMES)
    assert len(fields) == len(every_key)
    assert fields["applicant_name"] == "Nguyễn Thị Hồng Đào"
    assert fields["document_number"] == "123/QĐ-UBND"


def test_read_page_decodes_once_and_reads_as_from_the_file(tmp_path: Path) -> None:
    """The page task decodes a page once for OCR, codes and MRC: the same readings as
    decoding it for each, and OCR leaves the shared pixels as they were."""
    import cv2

    from ocr.engine import load_page_pixels
    from ocr.reading import read_page
    from schemas.models import PageImage
    from schemas.settings import OcrSettings

    scan = _receipt_page(200, seed=4)
    path = tmp_path / "page.jpg"
    scan.image.convert("RGB").save(path, quality=90, dpi=(200, 200))
    page = PageImage(
        index=0, path=str(path), source="page.jpg", source_page=0, width=scan.image.width,
        height=scan.image.height, dpi=200, dpi_known=True, mode="RGB", encoding="jpeg",
    )  # fmt: skip
    pixels = load_page_pixels(page)
    before = pixels.copy()
    shared = read_page(page, OcrSettings(), pixels=pixels)
    assert np.array_equal(pixels, before)
    alone = read_page(page, OcrSettings())
    assert shared == alone
    assert set(_by_key(shared.codes)) == set(scan.boxes)
    assert shared.codes == decode_codes(cv2.imread(str(path), cv2.IMREAD_GRAYSCALE), 0)
