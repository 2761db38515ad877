"""Mixed raster content: split a colour scan into a sharp ink mask and a small colour background.

Why: a 300-dpi colour A4 scan stored as JPEG takes 0.7-1 MB, mostly spent on
paper grain and on the edges of letters. The domain rule (colour, at least
200 dpi, red seals stay red) is about what a reader sees, so MRC keeps exactly
that: the ink at the scan's full resolution as 1-bit masks (CCITT G4, lossless
for the mask) and everything else, the paper and its shading, as a
low-resolution colour JPEG. Two masks keep the ink's colour:

* dark ink (printed text, black pen) is painted in one colour, its median
  colour on the page;
* coloured ink (red seals, blue pen) shows a low-resolution colour image
  through its own full-resolution mask, so a seal's strokes stay sharp and red.

Dark and coloured ink are told apart by the brightest channel: red seal ink is
bright in red, black toner is dark in every channel. The text mask is what OCR
reads in the archived copy, so it is thresholded like Tesseract does (Otsu),
after dividing by the local paper level so that shadows do not turn into ink.
All pixel work is OpenCV on one page at a time; memory is a few page-sized
arrays, whatever the batch size.
"""

from __future__ import annotations

import io
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from ocr.orient import label_components

PAPER_WINDOW_MM = 4.0
"""Ink thinner than this is measured against the paper around it (letters, seal strokes)."""
PAPER_DPI = 50
"""Resolution at which the local paper level is estimated (cheap, and smooth enough)."""
THRESHOLD_RANGE = (0.45, 0.85)
"""Bounds of the ink threshold as a share of the paper level (a blank page has no Otsu split)."""
MIN_CHROMA = 40
"""Ink whose channels differ by less than this is grey: it belongs to the dark mask or the paper."""
SPECK_AREA_300DPI = 6
"""Isolated specks smaller than this many pixels at 300 dpi are scanner noise, not ink."""
DIACRITIC_REACH_MM = 0.8
"""Small marks this close to larger ink (tone marks, dots of ị) are kept whatever their size."""
INK_COLOUR_QUALITY = 75
"""JPEG quality of the coloured-ink image (seen only through its mask)."""


@dataclass(frozen=True)
class MrcLayers:
    """One page split into masks and colour images, encoded and ready for the PDF."""

    width: int
    """Pixels of the page, and of both masks (the scan's resolution)."""
    height: int
    """Pixels of the page, and of both masks."""
    text_mask: bytes | None
    """CCITT G4 (K -1, BlackIs1) of the dark ink, or ``None`` when the page has none."""
    text_rgb: tuple[int, int, int]
    """The colour the dark ink is painted in (its median on the scan)."""
    colour_mask: bytes | None
    """CCITT G4 of the coloured ink (seals, pen) within ``colour_box``, or ``None``."""
    colour_jpeg: bytes | None
    """Low-resolution RGB JPEG of the coloured ink in ``colour_box``, shown through its mask."""
    colour_size: tuple[int, int]
    """Width and height of ``colour_jpeg``."""
    colour_box: tuple[int, int, int, int]
    """Left, top, width, height (page pixels) that ``colour_mask`` and ``colour_jpeg`` cover."""
    background_jpeg: bytes
    """Low-resolution JPEG of the page without its ink."""
    background_size: tuple[int, int]
    """Width and height of ``background_jpeg``."""
    background_grey: bool
    """The background JPEG has one channel (the scan was greyscale)."""


def g4_encode(ink: np.ndarray) -> bytes:
    """Encode a boolean mask (True = ink) as one CCITT G4 strip, via libtiff in Pillow.

    The strip is what a PDF ``CCITTFaxDecode`` filter reads with ``K -1`` and
    ``BlackIs1 true``: decoded bits are 0 where there is ink, which is what an
    image mask paints.
    """
    img = Image.fromarray(~ink)  # mode "1": ink is 0 (black)
    buf = io.BytesIO()
    img.save(buf, format="TIFF", compression="group4", strip_size=2**31 - 1)
    with Image.open(io.BytesIO(buf.getvalue())) as tiff:
        offsets, counts = tiff.tag_v2[273], tiff.tag_v2[279]
    if len(offsets) != 1:  # several strips cannot be joined into one G4 stream
        raise ValueError("libtiff wrote more than one strip")
    return buf.getvalue()[offsets[0] : offsets[0] + counts[0]]


def _jpeg(arr: np.ndarray, quality: int, subsampling: int = 2) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(
        buf, format="JPEG", quality=quality, optimize=True, subsampling=subsampling
    )
    return buf.getvalue()


def _paper_level(channel: np.ndarray, dpi: float) -> np.ndarray:
    """The local paper brightness under every pixel: a max filter at low resolution, smoothed."""
    h, w = channel.shape
    factor = max(1, round(dpi / PAPER_DPI))
    small = _shrink(channel, (max(1, w // factor), max(1, h // factor)))
    k = max(3, round(PAPER_WINDOW_MM / 25.4 * dpi / factor)) | 1
    small = cv2.dilate(small, cv2.getStructuringElement(cv2.MORPH_RECT, (k, k)))
    small = cv2.GaussianBlur(small, (0, 0), k / 2)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def _ink(channel: np.ndarray, dpi: float) -> np.ndarray:
    """Pixels clearly darker than their paper: Otsu on the channel divided by the paper level."""
    paper = _paper_level(channel, dpi)
    ratio = cv2.divide(channel, np.maximum(paper, 1), scale=255)
    otsu, _ = cv2.threshold(ratio, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    low, high = (255 * v for v in THRESHOLD_RANGE)
    return ratio < min(max(otsu, low), high)


def _despeckle(mask: np.ndarray, dpi: float, min_area: float) -> np.ndarray:
    """Drop specks smaller than ``min_area`` pixels unless they sit next to larger ink.

    Only the box holding all of the mask's ink is labelled (none outside it to keep or
    drop): a seal's mask is a few per cent of the page, a text page's about two thirds.
    """
    left, top, width, height = cv2.boundingRect(mask.view(np.uint8))
    if width * height == 0:
        return mask
    if width * height == mask.size:
        return _despeckle_box(mask, dpi, min_area)
    out = np.zeros_like(mask)
    box = np.ascontiguousarray(mask[top : top + height, left : left + width])
    out[top : top + height, left : left + width] = _despeckle_box(box, dpi, min_area)
    return out


def _despeckle_box(mask: np.ndarray, dpi: float, min_area: float) -> np.ndarray:
    """:func:`_despeckle` on the whole of ``mask``."""
    _, labels, stats = label_components(mask.view(np.uint8))  # 16-bit labels when they fit
    small = stats[:, cv2.CC_STAT_AREA] < min_area
    small[0] = False
    if not small.any():
        return mask
    speck = small[labels]
    where = np.flatnonzero(speck)  # specks are few: work on their pixels only
    out = mask & ~speck
    reach = max(3, round(DIACRITIC_REACH_MM / 25.4 * dpi) * 2 + 1)
    near = cv2.dilate(out.view(np.uint8), np.ones((reach, reach), np.uint8)).view(bool)
    keep = np.zeros_like(small)
    keep[labels.flat[where[near.flat[where]]]] = True
    out.flat[where] = keep[labels.flat[where]]
    return out


def _fill(values: np.ndarray, known: np.ndarray) -> np.ndarray:
    """Fill cells where ``known`` is 0 from their neighbourhood (push-pull over a pyramid).

    Why: excluded cells (all ink for a background, no ink for an ink colour)
    must not show through, and viewers smooth upscaled images, so a hole gets
    the weighted average of the nearest known cells, coarser the farther they are.
    """
    weight = known[..., None] if values.ndim == 3 else known
    levels = [(values * weight, known)]
    while not (levels[-1][1] > 0).all() and min(levels[-1][1].shape[:2]) > 1:
        total, share = levels[-1]
        size = (max(1, share.shape[1] // 2), max(1, share.shape[0] // 2))
        levels.append(
            (
                cv2.resize(total, size, interpolation=cv2.INTER_AREA),
                cv2.resize(share, size, interpolation=cv2.INTER_AREA),
            )
        )
    filled = None
    for depth in range(len(levels) - 1, -1, -1):
        total, share = levels[depth]
        have = share > 0
        weight = share[..., None] if total.ndim == 3 else share
        if filled is None:
            mean = total / np.maximum(weight, 1e-6)
            filled = np.where(have[..., None] if total.ndim == 3 else have, mean, 255)
            continue
        up = cv2.resize(filled, (share.shape[1], share.shape[0]), interpolation=cv2.INTER_LINEAR)
        if depth == 0:  # the cells themselves: known ones keep their values, only holes change
            np.copyto(up, values, where=have[..., None] if values.ndim == 3 else have)
            filled = up
            continue
        mean = total / np.maximum(weight, 1e-6)
        filled = np.where(have[..., None] if total.ndim == 3 else have, mean, up)
    return filled


def _masked_mean(image: np.ndarray, weight: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Downsample ``image`` averaging only pixels where ``weight`` is set; fill empty cells."""
    keep = weight.view(np.uint8) * np.uint8(255)
    # copyTo zero-fills where the mask is 0: the same pixels as a masked bitwise_and,
    # which OpenCV runs some 40 times slower on a page (0.17 s against 5 ms)
    kept = cv2.copyTo(image, keep)
    total = _shrink(kept, size).astype(np.float32)
    share = _shrink(keep, size).astype(np.float32) / 255
    mean = total / np.maximum(share[..., None] if total.ndim == 3 else share, 1e-3)
    known = (share > 0.02).astype(np.float32)
    return _to_uint8(_fill(mean, known))


def _to_uint8(values: np.ndarray) -> np.ndarray:
    """Rounded to the nearest level (half to even, as ``np.round``) and clipped to 0-255, in
    one pass: the values are averages of pixels, never negative, so the absolute value
    ``convertScaleAbs`` takes changes nothing."""
    return cv2.convertScaleAbs(values)


def _scaled_size(width: int, height: int, dpi: float, target_dpi: float) -> tuple[int, int]:
    scale = min(1.0, target_dpi / dpi)
    return max(1, round(width * scale)), max(1, round(height * scale))


def _shrink(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Area-average ``image`` down to ``size`` (width, height), a whole factor first.

    OpenCV averages whole blocks (an integer factor on a cropped multiple of it) 3-5
    times faster than a fractional area resize; what is left after the whole factor,
    if anything, is resized on an image that much smaller. The crop drops fewer than
    ``factor`` pixels at the right and bottom edges.
    """
    height, width = image.shape[:2]
    factor = min(width // size[0], height // size[1])
    if factor >= 2:
        crop = image[: height // factor * factor, : width // factor * factor]
        image = cv2.resize(crop, (width // factor, height // factor), interpolation=cv2.INTER_AREA)
    if (image.shape[1], image.shape[0]) != size:
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    return image


def _page_array(image: Image.Image | np.ndarray) -> np.ndarray:
    """The page as an RGB or grey uint8 array (an array is taken as it is)."""
    if isinstance(image, np.ndarray):
        return image
    if image.mode == "L":
        return np.asarray(image)
    return np.asarray(image if image.mode == "RGB" else image.convert("RGB"))


def _masks(
    image: Image.Image | np.ndarray, dpi: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The page's pixels (RGB or grey), darkest channel, dark-ink mask and coloured-ink mask."""
    min_area = SPECK_AREA_300DPI * (dpi / 300) ** 2
    pixels = _page_array(image)
    if pixels.ndim == 2:
        dark = _despeckle(_ink(pixels, dpi), dpi, min_area)
        return pixels, pixels, dark, np.zeros_like(dark)
    red, green, blue = cv2.split(pixels)
    brightest = cv2.max(cv2.max(red, green), blue)
    darkest = cv2.min(cv2.min(red, green), blue)
    del red, green, blue
    dark = _despeckle(_ink(brightest, dpi), dpi, min_area)
    chroma = cv2.subtract(brightest, darkest) > MIN_CHROMA
    if not chroma.any():  # a grey page in RGB: no coloured ink, whatever the threshold
        return pixels, darkest, dark, np.zeros_like(dark)
    coloured = _despeckle(_ink(darkest, dpi) & chroma & ~dark, dpi, 3 * min_area)
    return pixels, darkest, dark, coloured


def _colour_layer(
    pixels: np.ndarray, coloured: np.ndarray, darkest: np.ndarray, dpi: float, colour_dpi: float
) -> tuple[bytes, bytes, tuple[int, int], tuple[int, int, int, int]] | None:
    """G4 mask, JPEG colours, JPEG size and pixel box of the coloured ink, cropped to its extent.

    Each colour cell averages its ink weighted by how much ink each pixel
    holds, so the faint rims of strokes do not pale the seal: the mask draws
    the strokes' shape, the cell their full colour.
    """
    if not coloured.any():
        return None
    x, y, w, h = cv2.boundingRect(coloured.view(np.uint8))
    crop = coloured[y : y + h, x : x + w]
    density = (255 - darkest[y : y + h, x : x + w].astype(np.float32)) * crop
    size = _scaled_size(w, h, dpi, colour_dpi)
    region = pixels[y : y + h, x : x + w].astype(np.float32)
    total = _shrink(region * density[..., None], size)
    share = _shrink(density, size)
    mean = total / np.maximum(share, 1e-3)[..., None]
    known = (share > 0.02 * 255).astype(np.float32)
    colours = _to_uint8(_fill(mean, known))
    return g4_encode(crop), _jpeg(colours, INK_COLOUR_QUALITY, subsampling=0), size, (x, y, w, h)


def _text_colour(pixels: np.ndarray, dark: np.ndarray) -> tuple[int, int, int]:
    """The median colour of the dark ink (a sample of it is plenty)."""
    step = 4 if dark.size > 1_000_000 else 1
    sample = pixels[::step, ::step][dark[::step, ::step]]
    if not len(sample):
        return (0, 0, 0)
    median = np.median(sample, axis=0)
    return tuple(int(v) for v in np.broadcast_to(median, (3,)))


def split_page(
    image: Image.Image,
    dpi: float,
    *,
    background_dpi: float,
    background_quality: int,
    ink_colour_dpi: float,
    max_ink_share: float,
) -> MrcLayers | None:
    """Split an RGB or greyscale scan into MRC layers, or ``None`` if it should stay as it is.

    Returns ``None`` for pages MRC would damage: photographs or dark scans
    (more ink than ``max_ink_share`` of the page). When :func:`prepare_layers` already
    split the file ``image`` was opened from, with the same options, and the file has
    not changed since, its stored layers are returned instead of splitting again.
    """
    options = {
        "background_dpi": background_dpi,
        "background_quality": background_quality,
        "ink_colour_dpi": ink_colour_dpi,
        "max_ink_share": max_ink_share,
    }
    source = getattr(image, "filename", None)
    if source:
        found = _stored_layers(Path(source), dpi, options)
        if found is not _NOT_STORED:
            return found  # type: ignore[return-value]
    return _split(image, dpi, **options)


def prepare_layers(
    path: Path, dpi: float, *, pixels: np.ndarray | None = None, **options: float
) -> None:
    """Split the page image at ``path`` now and store its layers beside it (``<name>.mrc``).

    Why: the flow calls this for each page right after reading it, so the split (about
    0.3 s of CPU a page) runs while other pages are being OCR'd, instead of one page
    after another once every page has been read; :func:`split_page` then returns the
    stored layers when the PDF is assembled. The file lives in the batch's work folder
    and goes with it. An image that cannot be read is left alone: assembling the PDF
    reports it as before.

    Args:
        path: the page image (as :func:`split_page`'s image would be opened from).
        dpi: its resolution.
        pixels: the image at ``path`` as OpenCV decodes it (BGR or grey), when the caller
            holds it: not decoded a second time.
        options: :func:`split_page`'s keyword options.
    """
    try:
        if pixels is not None:
            layers = _split(_rgb(pixels), dpi, **options)
        else:
            with Image.open(path) as img:
                img.load()
                layers = _split(img, dpi, **options)
    except (OSError, ValueError):
        return
    _store_layers(Path(path), dpi, options, layers)


def _rgb(pixels: np.ndarray) -> np.ndarray:
    """OpenCV's BGR page in the RGB order the layers keep; grey stays grey."""
    return cv2.cvtColor(pixels, cv2.COLOR_BGR2RGB) if pixels.ndim == 3 else pixels


_NOT_STORED = object()
_STORE_FORMAT = 1
_BLOBS = ("text_mask", "colour_mask", "colour_jpeg", "background_jpeg")


def _stored_path(path: Path) -> Path:
    return path.with_name(path.name + ".mrc")


def _store_key(path: Path, dpi: float, options: dict) -> dict:
    """What the stored layers were made from: the file as it was, the resolution, the options."""
    stat = path.stat()
    return {
        "format": _STORE_FORMAT,
        "size": stat.st_size,
        "mtime_ns": stat.st_mtime_ns,
        "dpi": float(dpi),
        "options": {k: float(v) for k, v in sorted(options.items())},
    }


def _store_layers(path: Path, dpi: float, options: dict, layers: MrcLayers | None) -> None:
    """Write ``layers`` beside ``path``: a JSON header line, then the encoded images."""
    header: dict = {"key": _store_key(path, dpi, options), "layers": None}
    blobs: list[bytes] = []
    if layers is not None:
        fields = {k: v for k, v in asdict(layers).items() if k not in _BLOBS}
        blobs = [getattr(layers, k) or b"" for k in _BLOBS]
        header["layers"] = fields | {
            "blobs": [
                None if getattr(layers, k) is None else len(b)
                for k, b in zip(_BLOBS, blobs, strict=True)
            ]
        }
    dest = _stored_path(path)
    tmp = dest.with_name(f".{dest.name}.tmp")
    tmp.write_bytes(json.dumps(header).encode() + b"\n" + b"".join(blobs))
    tmp.replace(dest)


def _stored_layers(path: Path, dpi: float, options: dict) -> MrcLayers | None | object:
    """The layers :func:`prepare_layers` stored for this file and options, else ``_NOT_STORED``."""
    stored = _stored_path(path)
    try:
        data = stored.read_bytes()
        key = _store_key(path, dpi, options)
    except OSError:
        return _NOT_STORED
    head, _, body = data.partition(b"\n")
    try:
        header = json.loads(head)
        if header["key"] != key:
            return _NOT_STORED
        return _layers_from(header["layers"], body)
    except (ValueError, KeyError, TypeError):  # a torn or foreign file: split again
        return _NOT_STORED


def _layers_from(fields: dict | None, body: bytes) -> MrcLayers | None:
    if fields is None:
        return None
    lengths, blobs, at = fields.pop("blobs"), {}, 0
    for name, length in zip(_BLOBS, lengths, strict=True):
        blobs[name] = None if length is None else body[at : at + length]
        at += length or 0
    if at != len(body):
        raise ValueError("stored layers are cut short")
    tuples = ("text_rgb", "colour_size", "colour_box", "background_size")
    return MrcLayers(**{k: tuple(v) if k in tuples else v for k, v in fields.items()}, **blobs)


def _split(
    image: Image.Image | np.ndarray,
    dpi: float,
    *,
    background_dpi: float,
    background_quality: int,
    ink_colour_dpi: float,
    max_ink_share: float,
) -> MrcLayers | None:
    """:func:`split_page` without looking for stored layers."""
    pixels, darkest, dark, coloured = _masks(image, dpi)
    if (np.count_nonzero(dark) + np.count_nonzero(coloured)) > max_ink_share * dark.size:
        return None
    height, width = dark.shape
    any_ink = cv2.dilate((dark | coloured).view(np.uint8), np.ones((3, 3), np.uint8)).view(bool)
    bg_size = _scaled_size(width, height, dpi, background_dpi)
    background = _masked_mean(pixels, ~any_ink, bg_size)
    del any_ink
    colour = _colour_layer(pixels, coloured, darkest, dpi, ink_colour_dpi)
    return MrcLayers(
        width=width,
        height=height,
        text_mask=g4_encode(dark) if dark.any() else None,
        text_rgb=_text_colour(pixels, dark),
        colour_mask=colour[0] if colour else None,
        colour_jpeg=colour[1] if colour else None,
        colour_size=colour[2] if colour else (0, 0),
        colour_box=colour[3] if colour else (0, 0, 0, 0),
        background_jpeg=_jpeg(background, background_quality),
        background_size=bg_size,
        background_grey=pixels.ndim == 2,
    )
