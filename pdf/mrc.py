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
arrays, whatever the batch size. CPU is 0.1-0.16 s a 300-dpi page (``bench/mrc_speed.py``),
mostly in what must see every pixel: the ratio to the paper, labelling specks, the G4
encoder and the background's area average. Steps work in place or a band of rows at a
time where they can: a new page-sized array costs about as much (in page faults) as the
arithmetic done in it.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Iterator
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
BAND_ROWS = 256
"""Rows worked on at once where a step would otherwise make page-sized temporaries (a
band's stay in the processor's cache)."""


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


def _jpeg(arr: np.ndarray, quality: int, subsampling: int = 2, *, bgr: bool = False) -> bytes:
    """JPEG of a grey or colour image; ``bgr``: a colour ``arr`` is in OpenCV's order.

    Pillow, not OpenCV: OpenCV's encoder is about 1 ms a page faster and writes the same
    bytes for colour, but its grey JPEGs declare other sampling factors (same pixels).
    """
    if bgr and arr.ndim == 3:
        arr = cv2.cvtColor(arr, cv2.COLOR_BGR2RGB)
    buf = io.BytesIO()
    Image.fromarray(arr).save(
        buf, format="JPEG", quality=quality, optimize=True, subsampling=subsampling
    )
    return buf.getvalue()


def _paper_level(channel: np.ndarray, dpi: float) -> np.ndarray:
    """The local paper brightness under every pixel: a max filter at low resolution, smoothed.

    At least 1, as it divides. Interpolating between cells of 1 or more never gives 0,
    so only a page with black cells (a black border or scanner lid) needs a page-sized
    ``maximum`` (half as much CPU again as the rest of this function).
    """
    h, w = channel.shape
    factor = max(1, round(dpi / PAPER_DPI))
    small = _shrink(channel, (max(1, w // factor), max(1, h // factor)))
    k = max(3, round(PAPER_WINDOW_MM / 25.4 * dpi / factor)) | 1
    small = cv2.dilate(small, cv2.getStructuringElement(cv2.MORPH_RECT, (k, k)))
    small = cv2.GaussianBlur(small, (0, 0), k / 2)
    paper = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    return paper if small.all() else np.maximum(paper, 1, out=paper)


def _ink(channel: np.ndarray, dpi: float) -> np.ndarray:
    """Pixels clearly darker than their paper: Otsu on the channel divided by the paper level.

    The ratio is written over the paper level and the mask over Otsu's own output.
    """
    paper = _paper_level(channel, dpi)
    ratio = cv2.divide(channel, paper, dst=paper, scale=255)
    otsu, ink = cv2.threshold(ratio, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    low, high = (255 * v for v in THRESHOLD_RANGE)
    below = math.ceil(min(max(otsu, low), high)) - 1  # ratio < threshold: ratio <= below
    return cv2.threshold(ratio, below, 1, cv2.THRESH_BINARY_INV, dst=ink)[1].view(bool)


def _despeckle(mask: np.ndarray, dpi: float, min_area: float) -> np.ndarray:
    """Drop specks smaller than ``min_area`` pixels unless they sit next to larger ink.

    Changes ``mask`` in place (and returns it). Only the box holding all of the mask's ink
    is labelled (none outside it to keep or drop): a seal's mask is a few per cent of the
    page, a text page's about two thirds.
    """
    left, top, width, height = cv2.boundingRect(mask.view(np.uint8))
    if width * height:
        _despeckle_box(mask[top : top + height, left : left + width], dpi, min_area)
    return mask


def _despeckle_box(mask: np.ndarray, dpi: float, min_area: float) -> None:
    """:func:`_despeckle` on the whole of ``mask``, in place.

    Specks are few and tiny, so their pixels are found from their boxes in the label
    image (:func:`_component_pixels`), not by looking every pixel's label up (an index
    array of the page, 8 bytes a pixel, cost more than the labelling itself).
    """
    _, labels, stats = label_components(mask.view(np.uint8))  # 16-bit labels when they fit
    specks = np.flatnonzero(stats[1:, cv2.CC_STAT_AREA] < min_area) + 1
    if not len(specks):
        return
    rows, cols, owner = _component_pixels(labels, stats, specks)
    del labels
    mask[rows, cols] = False
    reach = max(3, round(DIACRITIC_REACH_MM / 25.4 * dpi) * 2 + 1)
    near = cv2.dilate(mask.view(np.uint8), np.ones((reach, reach), np.uint8))
    keep = np.zeros(len(specks), bool)
    keep[owner[near[rows, cols] != 0]] = True
    mask[rows, cols] = keep[owner]


def _component_pixels(
    labels: np.ndarray, stats: np.ndarray, ids: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows, columns and owner (index into ``ids``) of the pixels of components ``ids``.

    Each component's box is read as a window of the largest box's size (clipped to the
    image, so a pixel may come twice), a bounded number of components at a time.
    """
    x, y, w, h = (stats[ids, k] for k in (0, 1, 2, 3))  # left, top, width, height
    dy, dx = np.indices((h.max(), w.max())).reshape(2, -1)
    per_chunk = max(1, 2**20 // dy.size)
    found = []
    for start in range(0, len(ids), per_chunk):
        part = slice(start, start + per_chunk)
        rows = np.minimum(y[part, None] + dy, labels.shape[0] - 1)
        cols = np.minimum(x[part, None] + dx, labels.shape[1] - 1)
        inside = labels[rows, cols] == ids[part, None]
        owner = np.broadcast_to(np.arange(start, start + len(rows))[:, None], inside.shape)
        found.append((rows[inside], cols[inside], owner[inside]))
    return tuple(np.concatenate(parts) for parts in zip(*found, strict=True))


def _fill(values: np.ndarray, known: np.ndarray) -> np.ndarray:
    """Fill cells where ``known`` is 0 from their neighbourhood (push-pull over a pyramid).

    Why: excluded cells (all ink for a background, no ink for an ink colour)
    must not show through, and viewers smooth upscaled images, so a hole gets
    the weighted average of the nearest known cells, coarser the farther they are.
    ``known`` is 1 where ``values`` (C-contiguous) holds a cell's value, 0 where it does
    not. ``values`` is overwritten, and usually returned filled: a background's float
    copies cost as much as the arithmetic on them.
    """
    holes = known == 0
    values.reshape(holes.size, -1, copy=False)[np.flatnonzero(holes)] = 0  # values * known
    levels = [(values, known)]
    while not levels[-1][1].all() and min(levels[-1][1].shape[:2]) > 1:
        total, share = levels[-1]
        size = (max(1, share.shape[1] // 2), max(1, share.shape[0] // 2))
        levels.append(
            (
                cv2.resize(total, size, interpolation=cv2.INTER_AREA),
                cv2.resize(share, size, interpolation=cv2.INTER_AREA),
            )
        )
    filled = np.full_like(levels[-1][0], 255)
    for depth in range(len(levels) - 1, -1, -1):
        total, share = levels[depth]
        if depth < len(levels) - 1:
            size = (share.shape[1], share.shape[0])
            filled = cv2.resize(filled, size, interpolation=cv2.INTER_LINEAR)
        if depth == 0 and len(levels) > 1:  # known cells keep their values, only holes change
            return cv2.copyTo(filled, holes.view(np.uint8), dst=values)
        have = _nonzero(share)
        # the coarser levels are this function's own: divided in place
        weight = np.maximum(share, 1e-6, out=share if depth else None)
        filled = cv2.copyTo(_divide_cells(total, weight), have, dst=filled)
    return filled


def _divide_cells(total: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """``total`` (grey or colour) divided by the one-channel ``weight`` (never 0), in place.

    OpenCV divides exactly as numpy (IEEE), three times faster than numpy's broadcast.
    """
    if total.ndim == 3:
        weight = cv2.merge([weight] * total.shape[2])
    return cv2.divide(total, weight, dst=total)


def _nonzero(values: np.ndarray) -> np.ndarray:
    """An OpenCV mask (uint8, 1 = set) of the non-zero cells of ``values``."""
    return (values != 0).view(np.uint8)


def _masked_mean(image: np.ndarray, keep: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Downsample ``image`` averaging only pixels where ``keep`` (0 or 255) is set; fill empty cells."""
    total = _shrink_kept(image, keep, size).astype(np.float32)
    share = np.divide(_shrink(keep, size), np.float32(255), dtype=np.float32)
    mean = _divide_cells(total, np.maximum(share, 1e-3))
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
    factor = _whole_factor(image, size)
    if factor >= 2:
        crop = image[: height // factor * factor, : width // factor * factor]
        image = cv2.resize(crop, (width // factor, height // factor), interpolation=cv2.INTER_AREA)
    return _area_resize(image, size)


def _shrink_kept(image: np.ndarray, keep: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """:func:`_shrink` of ``image`` where ``keep`` is set and 0 elsewhere, a band at a time.

    The same blocks as :func:`_shrink` (bands are whole blocks high), without a masked
    copy of the whole page. copyTo zero-fills where the mask is 0: the same pixels as a
    masked bitwise_and, which OpenCV runs some 40 times slower (0.17 s a page against 5 ms).
    """
    factor = _whole_factor(image, size)
    if factor < 2:
        return _shrink(cv2.copyTo(image, keep), size)
    height, width = (n // factor * factor for n in image.shape[:2])
    blocks = np.empty((height // factor, width // factor, *image.shape[2:]), image.dtype)
    for rows in _bands(height, factor):
        kept = cv2.copyTo(image[rows, :width], keep[rows, :width])
        into = blocks[rows.start // factor : rows.stop // factor]
        cv2.resize(kept, into.shape[1::-1], dst=into, interpolation=cv2.INTER_AREA)
    return _area_resize(blocks, size)


def _whole_factor(image: np.ndarray, size: tuple[int, int]) -> int:
    """The largest whole number of pixels per cell, across and down, for ``size``."""
    return min(image.shape[1] // size[0], image.shape[0] // size[1])


def _area_resize(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``image`` area-resized to ``size`` (itself when it has that size)."""
    if (image.shape[1], image.shape[0]) == size:
        return image
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def _page_array(image: Image.Image | np.ndarray) -> np.ndarray:
    """The page as an RGB or grey uint8 array (an array is taken as it is)."""
    if isinstance(image, np.ndarray):
        return image
    if image.mode == "L":
        return np.asarray(image)
    return np.asarray(image if image.mode == "RGB" else image.convert("RGB"))


def _masks(pixels: np.ndarray, dpi: float) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """The page's darkest channel, dark-ink mask and coloured-ink mask (``None``: no colour)."""
    min_area = SPECK_AREA_300DPI * (dpi / 300) ** 2
    if pixels.ndim == 2:
        return pixels, _despeckle(_ink(pixels, dpi), dpi, min_area), None
    brightest, darkest = _extreme_channels(pixels)
    dark = _despeckle(_ink(brightest, dpi), dpi, min_area)
    chroma = _chroma(brightest, darkest)
    if not chroma.any():  # a grey page in RGB: no coloured ink, whatever the threshold
        return darkest, dark, None
    coloured = _ink(darkest, dpi).view(np.uint8)
    cv2.bitwise_and(coloured, chroma.view(np.uint8), dst=coloured)
    cv2.subtract(coloured, dark.view(np.uint8), dst=coloured)  # 0/1 masks: and not dark
    return darkest, dark, _despeckle(coloured.view(bool), dpi, 3 * min_area)


def _extreme_channels(pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The brightest and the darkest channel of every pixel, a band of rows at a time."""
    brightest, darkest = (np.empty(pixels.shape[:2], np.uint8) for _ in range(2))
    for rows in _bands(pixels.shape[0]):
        first, second, third = cv2.split(pixels[rows])
        cv2.max(cv2.max(first, second, dst=brightest[rows]), third, dst=brightest[rows])
        cv2.min(cv2.min(first, second, dst=darkest[rows]), third, dst=darkest[rows])
    return brightest, darkest


def _bands(height: int, multiple: int = 1) -> Iterator[slice]:
    """Slices of :data:`BAND_ROWS` rows (a multiple of ``multiple``) covering ``height`` rows."""
    step = max(multiple, BAND_ROWS // multiple * multiple)
    return (slice(top, min(top + step, height)) for top in range(0, height, step))


def _chroma(brightest: np.ndarray, darkest: np.ndarray) -> np.ndarray:
    """Pixels whose channels differ by more than :data:`MIN_CHROMA` (written over ``brightest``)."""
    spread = cv2.subtract(brightest, darkest, dst=brightest)
    return cv2.threshold(spread, MIN_CHROMA, 1, cv2.THRESH_BINARY, dst=spread)[1].view(bool)


def _colour_layer(
    pixels: np.ndarray,
    coloured: np.ndarray,
    darkest: np.ndarray,
    dpi: float,
    colour_dpi: float,
    bgr: bool,
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
    mean = _divide_cells(total, np.maximum(share, 1e-3))
    known = (share > 0.02 * 255).astype(np.float32)
    colours = _to_uint8(_fill(mean, known))
    jpeg = _jpeg(colours, INK_COLOUR_QUALITY, subsampling=0, bgr=bgr)
    return g4_encode(crop), jpeg, size, (x, y, w, h)


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
    0.1-0.16 s of CPU a page) runs while other pages are being OCR'd, instead of one page
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
            layers = _split(pixels, dpi, bgr=pixels.ndim == 3, **options)
        else:
            with Image.open(path) as img:
                img.load()
                layers = _split(img, dpi, **options)
    except (OSError, ValueError):
        return
    _store_layers(Path(path), dpi, options, layers)


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
    bgr: bool = False,
) -> MrcLayers | None:
    """:func:`split_page` without looking for stored layers.

    ``bgr``: ``image`` is an array in OpenCV's channel order. Masks do not depend on the
    order, and the colour images are turned to RGB once they are small.
    """
    pixels = _page_array(image)
    darkest, dark, coloured = _masks(pixels, dpi)
    if _ink_pixels(dark, coloured) > max_ink_share * dark.size:
        return None
    height, width = dark.shape
    bg_size = _scaled_size(width, height, dpi, background_dpi)
    background = _masked_mean(pixels, _paper_pixels(dark, coloured), bg_size)
    colour = None
    if coloured is not None:
        colour = _colour_layer(pixels, coloured, darkest, dpi, ink_colour_dpi, bgr)
    text_rgb = _text_colour(pixels, dark)
    return MrcLayers(
        width=width,
        height=height,
        text_mask=g4_encode(dark) if dark.any() else None,
        text_rgb=text_rgb[::-1] if bgr else text_rgb,
        colour_mask=colour[0] if colour else None,
        colour_jpeg=colour[1] if colour else None,
        colour_size=colour[2] if colour else (0, 0),
        colour_box=colour[3] if colour else (0, 0, 0, 0),
        background_jpeg=_jpeg(background, background_quality, bgr=bgr),
        background_size=bg_size,
        background_grey=pixels.ndim == 2,
    )


def _ink_pixels(dark: np.ndarray, coloured: np.ndarray | None) -> int:
    return np.count_nonzero(dark) + (0 if coloured is None else np.count_nonzero(coloured))


def _paper_pixels(dark: np.ndarray, coloured: np.ndarray | None) -> np.ndarray:
    """255 where a pixel is neither ink nor next to it, else 0 (uint8, full size)."""
    ink = dark.view(np.uint8)
    if coloured is not None:
        ink = cv2.bitwise_or(ink, coloured.view(np.uint8))
    near_ink = cv2.dilate(ink, np.ones((3, 3), np.uint8))
    return cv2.threshold(near_ink, 0, 255, cv2.THRESH_BINARY_INV, dst=near_ink)[1]
