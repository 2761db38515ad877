"""Does the second reading (:mod:`ocr.reread`) ever make a page worse? CER with it on and off.

Run: ``.venv/bin/python bench/reread.py [--old PATH] [--kinds a,b] [--fonts a,b] [--sizes 12]
[--corpus N] [--out FILE]`` (defaults: about 5 minutes on 2 cores; ``--corpus 1`` adds the
nine kinds of the OCR benchmark, one page each, in about 3 more; ``--kinds ""`` leaves this
file's own pages out).

Why: the second reading replaces words of the page reading; a replacement chosen on
Tesseract's confidence alone once turned right words wrong on clean 200-dpi scans
("Thực hiện" -> "Thực hiên"). So each page here is read four ways and scored with
:func:`samples.synth.cer`: raw Tesseract (``-l vie``, page as is), sohoa with the second
reading off (``reread_below=0, recover_lines=False``), sohoa with it on, and, with
``--old``, sohoa with another version of ``ocr/reread.py`` (a file path) swapped in.
The words each second reading changed are listed, so a regression is seen, not guessed.

The text is written here (not taken from the benchmark generator's pool): official-letter
sentences with the words the field report named ("Thực hiện", "đội", "GD&ĐT", "kết quả",
"phát") and capitals with tone marks ("NGUYỄN", "TỈNH"). Kinds: clean grey at 300 dpi,
clean bilevel at 200 and 300 dpi (an office scanner's black-and-white mode), grey at
200 dpi, and a colour 200-dpi office scan (tinted paper, slight blur and noise, JPEG).
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(ROOT))

import argparse
import difflib
import importlib.util
import itertools
import tempfile
from collections.abc import Callable, Iterable, Iterator

import numpy as np
from PIL import Image

import ocr.engine
from samples import synth
from schemas.models import PageImage
from schemas.settings import OcrSettings
from sohoa.programs import tesseract

FONTS = {
    "DejaVu Serif": "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf",
    "DejaVu Sans": "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "Noto Serif": "/usr/share/fonts/truetype/noto/NotoSerif-Regular.ttf",
    "Liberation Serif": "/usr/share/fonts/truetype/liberation2/LiberationSerif-Regular.ttf",
    "FreeSerif": "/usr/share/fonts/truetype/freefont/FreeSerif.ttf",
}
"""Office letters are set in Times New Roman: Liberation Serif (its metrics) and FreeSerif
come close (Debian ``fonts-liberation2``, ``fonts-freefont-ttf``); missing fonts are skipped."""
LETTER = [
    "UBND TỈNH QUẢNG TRỊ",
    "SỞ GIÁO DỤC VÀ ĐÀO TẠO",
    "Số: 1520/SGDĐT-GDTrH, V/v thực hiện kế hoạch năm học 2023-2024",
    "Kính gửi: Phòng GD&ĐT các huyện, thị xã, thành phố",
    (
        "Thực hiện Công văn số 412/BGDĐT-GDTrH ngày 05 tháng 9 năm 2023 của Bộ GD&ĐT về việc"
        " hướng dẫn thực hiện nhiệm vụ năm học, Sở GD&ĐT đề nghị các đơn vị chỉ đạo đội ngũ"
        " cán bộ, giáo viên thực hiện tốt các nội dung sau:"
    ),
    "1. Rà soát, đánh giá kết quả thực hiện kế hoạch phát triển giáo dục năm học trước.",
    "2. Phát huy vai trò của đội tuyển học sinh giỏi; báo cáo kết quả về Sở trước ngày 30/10.",
    "3. Thành lập đội thanh niên tình nguyện hỗ trợ học sinh có hoàn cảnh khó khăn.",
    "Người phụ trách: NGUYỄN VĂN THÀNH, điện thoại 0233 3852 147.",
    (
        "Trong quá trình thực hiện, nếu có vướng mắc, đề nghị phản ánh về Sở GD&ĐT để được"
        " hướng dẫn; kết quả phát hiện sai phạm được báo cáo kịp thời."
    ),
    "Nơi nhận: Như trên; Lưu: VT, GDTrH.",
    "KT. GIÁM ĐỐC, PHÓ GIÁM ĐỐC",
    "Lê Thị Hồng Nhung",
]
RECEIPT = [
    "ỦY BAN NHÂN DÂN TỈNH HÀ TĨNH",
    "BỘ PHẬN TIẾP NHẬN VÀ TRẢ KẾT QUẢ",
    "PHIẾU TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ",
    "Mã hồ sơ: 000.00.12.H23-240312-0087",
    "Tiếp nhận hồ sơ của: ông TRẦN ĐỨC PHÁT, đội trưởng Đội Quản lý thị trường số 3",
    "Địa chỉ: thôn Đông Thịnh, xã Cẩm Bình, huyện Cẩm Xuyên, tỉnh Hà Tĩnh",
    (
        "Nội dung yêu cầu giải quyết: cấp giấy phép kinh doanh; thực hiện thủ tục đăng ký"
        " hộ kinh doanh, phát hành hóa đơn."
    ),
    "Thời gian trả kết quả: 15 giờ 00 phút, ngày 18 tháng 3 năm 2024.",
    "Kết quả được trả tại Bộ phận một cửa hoặc qua dịch vụ bưu chính công ích.",
    "Người tiếp nhận: HOÀNG THỊ MỸ LỆ, công chức Văn phòng HĐND và UBND huyện.",
    "Ghi chú: hồ sơ đã được số hóa theo Nghị định số 45/2020/NĐ-CP của Chính phủ.",
]
TEXTS = {"letter": LETTER, "receipt": RECEIPT}
CORPUS_SEED = 3000
"""The OCR benchmark's seed (bench/ocr.py), so its pages are the ones it scores."""


def _bilevel(img: Image.Image) -> Image.Image:
    """An office scanner's black-and-white mode: a hard threshold, no grey left."""
    return img.convert("L").point(lambda v: 255 if v > 140 else 0).convert("1")


def _scanned_bilevel(img: Image.Image) -> Image.Image:
    """A real black-and-white scan: optics blur and sensor noise before the threshold,
    so strokes come out ragged and thin marks (a dot below, a hook) lose or gain pixels."""
    return _bilevel(synth.degrade(img.convert("L"), blur_sigma=0.8, noise=0.08, seed=11))


def _office_colour(img: Image.Image) -> Image.Image:
    """A colour office scan: cream paper, ink not quite black, slight blur and noise."""
    arr = np.asarray(img.convert("RGB"), dtype=np.float32) / 255.0
    paper = np.array([246, 241, 228], dtype=np.float32)
    ink = np.array([40, 38, 60], dtype=np.float32)
    out = Image.fromarray((ink + arr * (paper - ink)).round().astype(np.uint8), "RGB")
    return synth.degrade(out, blur_sigma=0.6, noise=0.04, seed=7)


KINDS: dict[str, tuple[int, Callable[[Image.Image], Image.Image], str]] = {
    "clean 300 grey": (300, lambda i: i.convert("L"), "png"),
    "clean 300 bilevel": (300, _bilevel, "png"),
    "clean 200 bilevel": (200, _bilevel, "png"),
    "scanned 200 bilevel": (200, _scanned_bilevel, "png"),
    "clean 200 grey": (200, lambda i: i.convert("L"), "png"),
    "colour 200 office": (200, _office_colour, "jpeg"),
}


def make_page(kind: str, text: str, font: str, size: int, work: Path) -> tuple[PageImage, str]:
    """Render ``text`` in ``font`` at ``size`` points as ``kind``; the page record and its truth."""
    dpi, damage, encoding = KINDS[kind]
    img, truth = synth.render_page_with_truth(
        TEXTS[text], dpi=dpi, font_path=FONTS[font], font_size_pt=size
    )
    img = damage(img)
    path = work / f"{kind}-{text}-{font}-{size}.{'jpg' if encoding == 'jpeg' else 'png'}".replace(
        " ", "_"
    )
    img.save(path, quality=88, dpi=(dpi, dpi)) if encoding == "jpeg" else img.save(
        path, dpi=(dpi, dpi)
    )
    page = PageImage(
        index=0,
        path=str(path),
        source=path.name,
        source_page=0,
        width=img.width,
        height=img.height,
        dpi=float(dpi),
        mode=img.mode,
        encoding=encoding,
    )
    return page, truth


def raw_text(page: PageImage) -> str:
    """Tesseract alone on the page as scanned (``-l vie``, page segmentation 3)."""
    data = tesseract.tsv(Path(page.path), lang="vie", psm=3, dpi=round(page.dpi), timeout=120)
    lines: dict[tuple, list[str]] = {}
    for i, level in enumerate(data["level"]):
        if int(level) == 5 and str(data["text"][i]).strip():
            key = (data["block_num"][i], data["par_num"][i], data["line_num"][i])
            lines.setdefault(key, []).append(str(data["text"][i]).strip())
    return "\n".join(" ".join(words) for words in lines.values())


def sohoa_text(page: PageImage, opts: OcrSettings, reread: Callable | None = None) -> str:
    """``ocr_page``'s text, with ``reread`` standing in for the engine's second reading."""
    current = ocr.engine.reread_page
    ocr.engine.reread_page = reread or current
    try:
        return ocr.engine.ocr_page(page, opts).text
    finally:
        ocr.engine.reread_page = current


def changed_words(before: str, after: str) -> list[str]:
    """The words the second reading changed, as ``old -> new``."""
    a, b = before.split(), after.split()
    out = []
    for tag, i0, i1, j0, j1 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if tag != "equal":
            out.append(f"{' '.join(a[i0:i1]) or '∅'} → {' '.join(b[j0:j1]) or '∅'}")
    return out


def load_old(path: Path) -> Callable:
    """``reread_page`` of another version of ``ocr/reread.py``."""
    spec = importlib.util.spec_from_file_location("reread_old", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module.reread_page


def own_pages(kinds: list[str], fonts: list[tuple[str, int]], work: Path) -> Iterator[tuple]:
    """This file's letters in every kind, font and size: (kind, text, font, page, truth)."""
    for kind in kinds:
        for text in TEXTS:
            for font, size in fonts:
                page, truth = make_page(kind, text, font, size, work)
                yield kind, text, f"{font} {size}", page, truth


def corpus_pages(per_kind: int, work: Path) -> Iterator[tuple]:
    """The OCR benchmark's pages (:mod:`bench.ocr_corpus`), text the vocabulary never saw."""
    from bench.ocr_corpus import make_corpus

    for p in make_corpus(work / "corpus", per_kind, CORPUS_SEED):
        page = PageImage(
            index=0,
            path=str(p.path),
            source=p.path.name,
            source_page=0,
            width=Image.open(p.path).width,
            height=Image.open(p.path).height,
            dpi=float(p.dpi),
            mode="RGB",
            encoding="jpeg",
        )
        yield f"corpus: {p.kind}", f"{p.dpi} dpi", f"{p.font} {p.size_pt}", page, p.truth


def run(pages: Iterable[tuple], old: Callable | None) -> tuple[list[list], list[str]]:
    """Every page read every way: table rows (CER in %) and the changes each reread made."""
    off = OcrSettings(reread_below=0, recover_lines=False)
    rows, notes = [], []
    for kind, text, font, page, truth in pages:
        got = {"raw": raw_text(page), "off": sohoa_text(page, off)}
        if old is not None:
            got["old"] = sohoa_text(page, OcrSettings(), old)
        got["new"] = sohoa_text(page, OcrSettings())
        rows.append([kind, text, font] + [100 * synth.cer(truth, t) for t in got.values()])
        for who in ("old", "new"):
            changes = changed_words(got["off"], got[who]) if who in got else []
            notes += [f"{kind} | {text} | {font} | {who}: {c}" for c in changes]
        print(" | ".join(map(str, rows[-1])), flush=True)
    return rows, notes


def table(rows: list[list], old: bool) -> str:
    """Markdown: every page, then the mean per kind."""
    head = ["kind", "text", "font", "raw tesseract", "reread off"]
    head += ["reread on (old)"] if old else []
    head += ["reread on (new)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r[:3] + [f"{v:.2f}" for v in r[3:]]) + " |" for r in rows]
    for kind in dict.fromkeys(r[0] for r in rows):
        mine = np.array([r[3:] for r in rows if r[0] == kind])
        lines.append(
            f"| **{kind}** | mean | | " + " | ".join(f"{v:.2f}" for v in mine.mean(0)) + " |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", type=Path, help="another ocr/reread.py to compare with")
    parser.add_argument("--kinds", default=",".join(KINDS), help="comma-separated kinds")
    parser.add_argument("--fonts", default=",".join(FONTS), help="comma-separated fonts")
    parser.add_argument("--sizes", default="12", help="comma-separated type sizes in points")
    parser.add_argument("--corpus", type=int, default=0, help="add N OCR-benchmark pages per kind")
    parser.add_argument("--out", type=Path, help="also write the report here")
    args = parser.parse_args()
    old = load_old(args.old) if args.old else None
    fonts = [f for f in args.fonts.split(",") if Path(FONTS[f]).is_file()]
    sizes = [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory(prefix="sohoa-bench-reread-") as tmp:
        kinds = [k for k in args.kinds.split(",") if k]
        pages = own_pages(kinds, [(f, s) for f in fonts for s in sizes], Path(tmp))
        extra = corpus_pages(args.corpus, Path(tmp)) if args.corpus else ()
        rows, notes = run(itertools.chain(pages, extra), old)
    report = (
        "CER in %\n\n"
        + table(rows, old is not None)
        + "\n\nWords changed by the second reading:\n\n"
    )
    report += "\n".join(f"- {n}" for n in notes) + "\n"
    print(report)
    if args.out:
        args.out.write_text(report, encoding="utf-8")


if __name__ == "__main__":
    main()
