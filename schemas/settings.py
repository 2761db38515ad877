"""The one frozen settings model, read from ``SOHOA_*`` variables and an optional TOML file.

Every step receives the settings (or the part it needs) as an argument; no
module reads environment variables on its own. Nested groups use ``__`` in
variable names, e.g. ``SOHOA_STORE__BACKEND=s3``. A TOML file named by
``SOHOA_CONFIG`` (or ``./sohoa.toml`` if present) is read with lower priority
than the environment. Secrets are :class:`~pydantic.SecretStr` so they never
print in logs or reprs; they can also come from ``*_FILE`` secrets files.
"""

from __future__ import annotations

import os
import re
from decimal import Decimal
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

Kind = Literal["thanh-phan", "ket-qua"]
"""Loại số hóa: ``thanh-phan`` (thành phần hồ sơ, 0) or ``ket-qua`` (kết quả, 1)."""


def default_data_dir() -> Path:
    """Where embedded-mode state lives: ``$XDG_DATA_HOME/sohoa`` or ``~/.local/share/sohoa``."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "sohoa"


class _Frozen(BaseModel):
    # Attribute docstrings become field descriptions: the admin's settings page shows them.
    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True)


class OcrSettings(_Frozen):
    """How pages are cleaned and read."""

    language: str = "vie"
    """Tesseract language(s), e.g. ``vie`` or ``vie+eng``."""
    tessdata_dir: Path | None = None
    """Directory with ``*.traineddata``; ``None`` uses Tesseract's default."""
    psm: int = 3
    """Tesseract page segmentation mode (3 = fully automatic)."""
    workers: int = Field(default=0, ge=0)
    """Tesseracts run at once (one page more is prepared meanwhile); 0 means one per CPU core."""
    page_timeout_s: float = Field(default=180.0, gt=0)
    """Seconds before Tesseract is stopped on one page."""
    orient: bool = True
    """Detect pages turned 90/180/270° and turn them upright (the archived page too, losslessly)."""
    deskew: bool = True
    """Estimate and remove skew (up to ±15°) before OCR."""
    denoise: bool = True
    """Median-filter salt-and-pepper noise and JPEG ringing before OCR."""
    remove_borders: bool = True
    """Whiten dark scanner borders and punch holes touching the page edge, for OCR only."""
    normalise_illumination: bool = True
    """Flatten uneven lighting (shadows, gradients) before OCR."""
    suppress_colour: bool = True
    """Lighten red seals and coloured stamps over the text, for OCR only."""
    binarise: bool = False
    """Hand Tesseract a binarised image instead of grey (off: Tesseract's Otsu measured better)."""
    detect_blank: bool = True
    """Report pages with no content as blank instead of OCR'ing them at length."""
    min_ocr_dpi: int = 200
    """Pages below this resolution are upscaled to it for OCR (the archive keeps the original).

    Measured (bench/ocr.py): upscaling 200-dpi pages to 300 raised mean CER from 0.12 % to
    3.81 % on the same 18 pages, so only scans below 200 dpi are enlarged.
    """
    max_ocr_dpi: int | None = Field(default=240, ge=150, le=600)
    """Pages finer than this are shrunk to it for OCR (the archive keeps the original); None: never.

    Tesseract scales every text line to its network's input height, so 300 dpi buys no
    recognition over 240 but costs pixels in every step before it. Measured on held-out
    pages (``bench/README.md``, "Reading at 240 dpi"): Tesseract CPU -8 % over 36 generated
    pages (-15 % on the 300-dpi ones), mean CER 0.25 -> 0.17 %; 18 real-world-kind pages
    0.49 -> 0.39 % (their 300-dpi pages 0.49 -> 0.20 %). 200 dpi was as fast again but read
    the real-world 300-dpi pages worse than 240 (0.32 %).
    """
    estimate_resolution: bool = True
    """Measure a page's resolution from the height of its letters when the file states none,
    or one the letters contradict by more than 1.6x (a 70-dpi photo tagged 300, a phone's
    72-dpi tag on a 12-megapixel photo); see :mod:`ocr.resolution`. Off: the stated resolution, or 300 dpi."""
    flatten_photos: bool = True
    """Find the sheet in a photographed page (a bright quadrilateral on a darker surround) and
    flatten its perspective for OCR; the archive keeps the photo as taken (:mod:`ocr.flatten`)."""
    review_confidence: float = Field(default=70.0, ge=0, le=100)
    """Pages whose mean word confidence is below this are flagged for review."""
    reread_below: float = Field(default=80.0, ge=0, le=100)
    """Words read with less confidence are cut out and read again alone (0 turns it off).

    The re-reading replaces a word only when it spells the same letters, is more confident
    and has more evidence than Tesseract's own confidence: a valid Vietnamese syllable where
    the first reading is none, or a known phrase with its neighbours ("DÂN TĨNH" → "TỈNH",
    "NGUYÊN THỊ" → "NGUYỄN"); on a tie the first reading stays (:mod:`ocr.reread`).
    """
    drop_noise: bool = True
    """Drop words Tesseract doubts (confidence under 50) that cannot be print: a character no
    Vietnamese document prints, or letters that spell no Vietnamese syllable ("Cftuayert",
    "X⁄Ẳ++⁄"); and, under 60, words far taller or shorter than the page's print, or bare
    symbols: what seals, signatures and handwriting are read as (:mod:`ocr.noise`). They
    are dropped before the reading order is worked out, so they never pass for a column."""
    drop_margin_notes: bool = True
    """Drop words wholly outside the print's area (the box of the lines with two sure words)
    that are unlike print: doubted, off the print's height, or no syllable, abbreviation or
    number; what a reader's pen notes in the margins are read as (:func:`ocr.noise.margin_notes`)."""
    recover_lines: bool = True
    """Read again, line by line, inked text lines the page reading returned no words for; a
    region taller than two lines (a 1-bit seal over the signer's title and name) is cut into
    its lines after the seal's rings are erased (:func:`ocr.seals.line_bands`)."""
    split_blocks: bool = True
    """Read again, one side at a time, a block Tesseract merged across a column gap (the
    "Nơi nhận" list beside the signature block) when it doubted a word of it (:mod:`ocr.reread`)."""
    retone_words: bool = True
    """Change a word's marks, however confidently read, when the word as read forms no known
    word with its neighbours and exactly one other marking does ("tống hợp" → "tổng hợp"),
    by a published dictionary (:func:`ocr.lexicon.retoned`)."""


class LimitSettings(_Frozen):
    """Guards against oversized input (decompression bombs, huge uploads)."""

    max_file_mb: float = Field(default=500.0, gt=0)
    """Largest accepted upload file in megabytes."""
    max_page_megapixels: float = Field(default=150.0, gt=0)
    """Largest accepted page image (A3 at 600 dpi is about 70 MP)."""
    max_pages: int = Field(default=2000, gt=0)
    """Most pages accepted in one batch."""
    rasterise_dpi: int = Field(default=300, ge=150, le=600)
    """Resolution for PDF pages that are not a single embedded image."""


_BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
"""S3 bucket naming rules (lower-case DNS-style names)."""


class StoreSettings(_Frozen):
    """Where archive objects go: a local directory (default) or MinIO/S3."""

    backend: Literal["local", "s3"] = "local"
    """``local`` keeps objects under ``data_dir/objects``; ``s3`` uses the MinIO SDK."""
    local_root: Path | None = None
    """Root of the local store; default ``data_dir/objects``."""
    endpoint: str = "localhost:9000"
    """S3 endpoint ``host:port`` (no scheme)."""
    secure: bool = False
    """Use HTTPS to reach the S3 endpoint."""
    region: str | None = None
    """S3 region, if the server needs one."""
    bucket: str = "sohoa"
    """Stem of the three bucket names below when they are not set (``sohoa-archive``...)."""
    bucket_originals: str | None = None
    """Bucket for uploaded originals (keys ``originals/…``); default ``{bucket}-originals``."""
    bucket_archive: str | None = None
    """Bucket for signed PDFs and manifests (keys ``archive/…``), versioned and object-locked;
    default ``{bucket}-archive``. Object lock can only be turned on when a bucket is created."""
    bucket_derived: str | None = None
    """Bucket for data derived from the archive (keys ``derived/…``); default ``{bucket}-derived``."""
    archive_lock: Literal["required", "warn", "off"] = "required"
    """Protection of the archive area. ``required``: the archive bucket is created with versioning
    and object lock, and an existing bucket without object lock is a configuration error;
    ``warn``: such a bucket is used with a logged warning; ``off``: no versioning, no retention."""
    retention_mode: Literal["GOVERNANCE", "COMPLIANCE"] = "GOVERNANCE"
    """Default retention of archived objects. GOVERNANCE: nobody deletes a version before its
    time unless granted the bypass right; COMPLIANCE: nobody at all, not even the root user."""
    retention_period: int = Field(default=10, ge=1, le=36500)
    """How long each archived object version is kept from its upload, in ``retention_unit``."""
    retention_unit: Literal["days", "years"] = "years"
    """Unit of ``retention_period``."""
    part_size_mb: int = Field(default=16, ge=5, le=5120)
    """Objects larger than this many MiB are uploaded in parts of this size (S3 multipart)."""
    access_key: SecretStr | None = None
    """S3 access key (or set ``access_key_file``)."""
    secret_key: SecretStr | None = None
    """S3 secret key (or set ``secret_key_file``)."""
    access_key_file: Path | None = None
    """File holding the access key (e.g. a Docker secret)."""
    secret_key_file: Path | None = None
    """File holding the secret key."""
    retries: int = Field(default=3, ge=0, le=10)
    """Times a failed store-and-catalog step is retried before the batch fails."""
    retry_delay_s: float = Field(default=2.0, ge=0)
    """First retry delay; each further retry waits four times longer (2 s, 8 s, 32 s)."""

    @model_validator(mode="after")
    def _valid_bucket_names(self) -> StoreSettings:
        for name in self.buckets.values():
            if not _BUCKET_NAME.fullmatch(name) or ".." in name:
                raise ValueError(f"invalid S3 bucket name {name!r} (3-63 of a-z 0-9 . -)")
        return self

    @property
    def buckets(self) -> dict[str, str]:
        """Bucket name of each key area (``originals``, ``archive``, ``derived``)."""
        return {
            "originals": self.bucket_originals or f"{self.bucket}-originals",
            "archive": self.bucket_archive or f"{self.bucket}-archive",
            "derived": self.bucket_derived or f"{self.bucket}-derived",
        }


class SigningSettings(_Frozen):
    """The certificate that signs every archival PDF."""

    pkcs12_path: Path | None = None
    """PKCS#12 (.p12/.pfx) file; ``None`` generates and uses the demo certificate."""
    allow_demo: bool = True
    """Sign with the generated demo certificate when no key is configured.

    ``True`` so that ``make demo`` and a first try work on one machine; a production
    set-up (``docker-compose.yml``) sets it to ``false``, so a key secret that was not
    mounted stops the batch with a clear message instead of archiving records under a
    certificate that is not legally valid.
    """
    pkcs12_password: SecretStr | None = None
    """Password of the PKCS#12 file (or set ``pkcs12_password_file``)."""
    pkcs12_password_file: Path | None = None
    """File holding the PKCS#12 password."""
    trust_roots: tuple[Path, ...] = ()
    """Extra CA certificates (PEM/DER) trusted when validating signatures."""
    reason: str = "Số hóa hồ sơ, kết quả giải quyết TTHC"
    """Reason written into the signature."""
    location: str = "Bộ phận Tiếp nhận và Trả kết quả"
    """Location written into the signature."""
    level: Literal["B-B", "B-T", "B-LT", "B-LTA"] | None = None
    """PAdES baseline level; ``None`` means B-T when ``tsa_url`` is set, else B-B.

    B-T adds an RFC 3161 time-stamp from ``tsa_url``; B-LT also embeds the certificates,
    OCSP responses and CRLs (fetched from the CA when signing) so the signature can be
    checked offline after the certificate expires; B-LTA then adds a document (archive)
    time-stamp over them, which the fixity run renews before the time-stamp authority's
    certificate expires (``renew_before_days``). B-T and above need ``tsa_url``.
    """
    renew_before_days: int = Field(default=365, ge=0)
    """Days before the newest time-stamp's authority certificate expires from which the
    record is due a new archive time-stamp (``sohoa verify`` shows the date; the fixity
    run renews due records when ``tsa_url`` is set)."""
    tsa_url: str | None = None
    """RFC 3161 time-stamp authority, e.g. ``http://tsa.example.vn/tsa`` (HTTP POST)."""
    tsa_username: str | None = None
    """User name for the TSA's HTTP basic authentication, if it needs one."""
    tsa_password: SecretStr | None = None
    """Password for the TSA (or set ``tsa_password_file``)."""
    tsa_password_file: Path | None = None
    """File holding the TSA password."""
    tsa_timeout_s: float = Field(default=10.0, gt=0)
    """Seconds to wait for the TSA's answer."""
    revocation_timeout_s: float = Field(default=10.0, gt=0)
    """Seconds to wait for each OCSP/CRL/certificate download when signing at B-LT."""
    pkcs11_module: Path | None = None
    """PKCS#11 library of a USB token or HSM (e.g. ``/usr/lib/softhsm/libsofthsm2.so``).

    When set, the key and certificate come from the token instead of ``pkcs12_path``.
    """
    token_label: str | None = None
    """Label of the token to use (needed when the module has several slots)."""
    key_label: str | None = None
    """Label of the private key on the token (defaults to ``cert_label``)."""
    cert_label: str | None = None
    """Label of the signing certificate on the token (defaults to ``key_label``)."""
    pin: SecretStr | None = None
    """User PIN of the token (or set ``pin_file``); never logged."""
    pin_file: Path | None = None
    """File holding the token's user PIN (e.g. a Docker secret)."""
    visible_stamp: bool = False
    """Draw the signature information on page 1 (digitiser top-left, agency top-right)."""
    digitiser_stamp_box: tuple[float, float, float, float] = (14.0, 10.0, 224.0, 46.0)
    """Where the digitiser's name and time go: ``(left, top, right, bottom)`` in points,
    measured from the top-left corner of page 1."""
    agency_stamp_box: tuple[float, float, float, float] = (-224.0, 10.0, -14.0, 46.0)
    """Where the agency signature's box goes; negative x values count from the right edge."""
    stamp_font: Path = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
    """TrueType/OpenType font embedded in the stamps (must have Vietnamese glyphs)."""


class PdfSettings(_Frozen):
    """How page images are stored in the archival PDF (PDF/A-2b, signed after building)."""

    image_mode: Literal["original", "mrc"] = "mrc"
    """``original``: each scan as it came (a JPEG byte for byte, 0.5-1 MB per A4 page).
    ``mrc``: mixed raster content: the ink at the scan's resolution as 1-bit masks painted
    in its colours (red seals stay red) over a low-resolution colour background; measured
    (bench/archive.py) median 68 KB vs 661 KB per page, OCR CER 0.12 % vs 0.11 %."""
    background_dpi: int = Field(default=100, ge=50, le=300)
    """MRC: resolution of the background (paper, shading); ink keeps the scan's resolution."""
    background_quality: int = Field(default=50, ge=10, le=95)
    """MRC: JPEG quality of the background."""
    ink_colour_dpi: int = Field(default=75, ge=25, le=300)
    """MRC: resolution of the colours of coloured ink (seals, pen), seen through its mask."""
    max_ink_share: float = Field(default=0.3, gt=0, le=1)
    """MRC: pages with more ink than this share of their area (photos, dark scans) keep
    their original image."""


class FieldSettings(_Frozen):
    """Key-field extraction, QR/barcode decoding and splitting of mixed batches."""

    enabled: bool = True
    """Extract key fields (mã hồ sơ, names, ID numbers, dates…) from every record."""
    decode_codes: bool = True
    """Decode QR codes and 1-D barcodes on every page (a receipt's code gives the mã hồ sơ)."""
    rules_path: Path | None = None
    """A TOML file of field rules replacing the built-in ``ocr/field_rules.toml``."""
    split: bool = True
    """Split a batch into one record per dossier at new receipts and separator sheets."""
    separator_codes: tuple[str, ...] = ("SOHOA-SEPARATOR",)
    """QR/barcode contents that mark a separator sheet (not archived)."""
    review_confidence: float = Field(default=0.6, ge=0, le=1)
    """A field read with a lower confidence (0–1) sends its record to review."""


class ReportSettings(_Frozen):
    """Scoring of the digitisation-rate report (Decision 766/QĐ-TTg, group "Số hóa hồ sơ").

    The group is worth 22 of 100 points; how they split between the indicators was not
    read in the Decision's own text (UNCONFIRMED), so the defaults below are a documented
    guess that sums to 22 and each is configurable (``SOHOA_REPORT__MAX_POINTS_RESULTS=…``).
    """

    max_points_components: Decimal = Field(default=Decimal(8), ge=0)
    """Points for tỷ lệ số hóa thành phần hồ sơ (UNCONFIRMED default)."""
    max_points_results: Decimal = Field(default=Decimal(8), ge=0)
    """Points for tỷ lệ số hóa kết quả giải quyết TTHC (UNCONFIRMED default)."""
    max_points_dossiers: Decimal = Field(default=Decimal(6), ge=0)
    """Points for tỷ lệ số hóa hồ sơ, indicator 4.2 (UNCONFIRMED default)."""
    pass_rate: Decimal = Field(default=Decimal(80), gt=0, le=100)
    """Rate in percent from which an indicator is "Đạt" and earns its full points; below it
    earns ``rate × max ÷ pass_rate`` and is "Không đạt" (domain.md)."""


class NightlySettings(_Frozen):
    """The nightly run (``flows/nightly.py``, ``sohoa nightly``): retries, fixity sample, reports."""

    max_attempts: int = Field(default=3, ge=1, le=100)
    """Nightly attempts per batch (a run killed mid-batch counts); then a failing batch is left
    in the inbox for a person: ``sohoa ingest`` of the same files, or deleting the batch's
    ``inbox/<batch>/nightly.json``, lets it be tried again."""
    fixity_sample: int | float = 200
    """Records read back each night, at random: a count (``200``), a fraction below 1
    (``0.05``), or ``0`` for none. The weekly ``fixity`` deployment reads the whole archive."""
    fixity_orphans: bool = False
    """Also list archive objects no catalog row points at (lists the whole archive bucket)."""
    timezone: str = "Asia/Ho_Chi_Minh"
    """The office's time zone: the reported day is "yesterday" there."""
    report_formats: tuple[Literal["xlsx", "json", "csv", "html"], ...] = ("xlsx", "json")
    """Files written for the day's and the month-to-date report under ``derived/reports/``."""
    report_lang: Literal["vi", "en"] = "vi"
    """Language of those files."""

    @field_validator("fixity_sample")
    @classmethod
    def _count_or_fraction(cls, value: float) -> float:
        """A count stays an int (pydantic keeps ``200`` an int): only floats are fractions."""
        if value < 0 or (isinstance(value, float) and value > 1):
            raise ValueError("fixity_sample is a record count (>= 0) or a fraction in (0, 1]")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (an IANA name)") from exc
        return value


WATCH_LAYOUT_PARTS = ("{unit}", "{kind}")
"""The folder levels a watched folder's ``layout`` may name."""


class WatchSettings(_Frozen):
    """The watched scan folder (``sohoa watch``, the ``watch`` deployment): scanners save
    into it (scan-to-folder over SMB), sohoa takes each finished scan through the one
    entrance and removes it once archived (``docs/usage.md``, "Watched folder")."""

    folder: Path | None = None
    """The watched folder; default ``data_dir/watch``. ``sohoa watch DIR`` names another."""
    poll: bool = False
    """Poll the folder (watchdog's ``PollingObserver``) instead of waiting for inotify events:
    for a network share (SMB, NFS) mounted here, whose server's writes raise no event."""
    poll_interval_s: float = Field(default=5.0, gt=0)
    """Seconds between two full scans of the folder, events or not (so a missed event never
    loses a file), and between the poller's snapshots."""
    settle_s: float = Field(default=2.0, ge=0)
    """A sub-folder's files are taken, together, once none of them has changed size or
    modification time for this long (a scanner still writing keeps changing them)."""
    empty_settle_s: float = Field(default=30.0, ge=0)
    """How long an empty (0-byte) file must stay empty before it is refused: scanners often
    create the file first and write it a moment later."""
    group: Literal["folder", "file"] = "folder"
    """``folder``: the files a sub-folder holds when it falls quiet are one batch, in name
    order (a 5-page scan saved as 5 JPEGs is one record); ``file``: every file is a batch."""
    layout: str = "{unit}/{kind}"
    """What the sub-folders mean: ``{unit}/{kind}`` reads ``DIR/H56.01/ket-qua/scan.pdf`` as unit
    H56.01, kind ket-qua; ``{kind}/{unit}``, ``{unit}``, ``{kind}`` or empty (files only at
    the top). A missing level takes ``default_unit`` or ``thanh-phan``."""
    done_markers: tuple[str, ...] = (".done", ".ready")
    """A scanner's "finished" marker: ``scan.pdf.done`` (or ``scan.done``) beside ``scan.pdf``
    makes it complete at once, without waiting ``settle_s``; removed with it."""
    refused_folder: str = "loi"
    """Sub-folder that refused files are moved to, each with a ``<name>.loi.txt`` reason."""
    retry_s: float = Field(default=60.0, gt=0)
    """Seconds before a batch is tried again after an outage (store, catalog, signing key) or
    while another run holds it; its files stay where they are meanwhile."""

    @field_validator("layout")
    @classmethod
    def _known_levels(cls, value: str) -> str:
        parts = [p for p in value.strip("/").split("/") if p]
        if any(p not in WATCH_LAYOUT_PARTS for p in parts) or len(set(parts)) != len(parts):
            raise ValueError(
                f"layout {value!r}: folder levels are {{unit}} and {{kind}}, once each"
            )
        return "/".join(parts)

    @field_validator("refused_folder")
    @classmethod
    def _plain_folder(cls, value: str) -> str:
        if Path(value).name != value or value in ("", ".", "..") or value.startswith("."):
            raise ValueError(f"refused_folder {value!r}: one plain folder name")
        return value


class Settings(BaseSettings):
    """All configuration for one sohoa process. Frozen: pass it down, never mutate it."""

    model_config = SettingsConfigDict(
        env_prefix="SOHOA_",
        env_nested_delimiter="__",
        frozen=True,
        extra="forbid",
        use_attribute_docstrings=True,
    )

    data_dir: Path = Field(default_factory=default_data_dir)
    """Root for embedded-mode state: inbox, quarantine, work, catalog, local objects, demo key."""
    catalog_url: str | None = None
    """URL of the catalog: ``sqlite:///path`` or ``postgresql://user@host:5432/db``; default
    SQLite at ``data_dir/catalog.sqlite``. Keep a password out of it (``catalog_password_file``)."""
    catalog_password_file: Path | None = None
    """File holding the PostgreSQL catalog's password (a Docker/Kubernetes secret); used when
    the URL has none. libpq's ``PGPASSWORD`` and ``~/.pgpass`` work as well."""
    default_unit: str = "DEMO"
    dask_address: str | None = None
    """A Dask scheduler (``tcp://host:8786``) to run one batch's pages on (prefect-dask),
    for a batch too big for one machine; ``None`` reads them on this machine's cores.

    The workers must see the batch's work folder (``data_dir/work``) at the same path (the
    same machine, or a shared volume): the pages and MRC layers are files there.
    """
    """Mã đơn vị used when ``--unit`` is not given."""
    ocr: OcrSettings = OcrSettings()
    limits: LimitSettings = LimitSettings()
    store: StoreSettings = StoreSettings()
    signing: SigningSettings = SigningSettings()
    fields: FieldSettings = FieldSettings()
    pdf: PdfSettings = PdfSettings()
    report: ReportSettings = ReportSettings()
    nightly: NightlySettings = NightlySettings()
    watch: WatchSettings = WatchSettings()
    web: WebSettings = Field(default_factory=lambda: WebSettings())

    @field_validator("data_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Priority: explicit arguments, environment, TOML file."""
        toml_path = os.environ.get("SOHOA_CONFIG") or "sohoa.toml"
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if Path(toml_path).is_file():
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_path))
        return tuple(sources)

    # Derived paths: one place decides the layout of data_dir.
    @property
    def inbox_dir(self) -> Path:
        """Originals waiting for (or in) processing, one folder per batch."""
        return self.data_dir / "inbox"

    @property
    def quarantine_dir(self) -> Path:
        """Rejected originals, each with a ``.reason.txt`` beside it."""
        return self.data_dir / "quarantine"

    @property
    def work_dir(self) -> Path:
        """Per-batch scratch space (page images, intermediate PDFs)."""
        return self.data_dir / "work"

    @property
    def watch_dir(self) -> Path:
        """The watched scan folder (``sohoa watch``)."""
        return self.watch.folder or (self.data_dir / "watch")

    @property
    def local_store_root(self) -> Path:
        """Root of the local object store."""
        return self.store.local_root or (self.data_dir / "objects")

    @property
    def demo_key_dir(self) -> Path:
        """Where the generated demo signing certificate is kept."""
        return self.data_dir / "demo-signer"

    @property
    def resolved_catalog_url(self) -> str:
        """The catalog URL to connect with, defaulting to SQLite inside ``data_dir``; with the
        password from ``catalog_password_file`` when the URL has none. Shown to people only
        through :func:`catalog.connection.location`, which never prints a password."""
        url = self.catalog_url or f"sqlite:///{self.data_dir / 'catalog.sqlite'}"
        if self.catalog_password_file is None:
            return url
        from sqlalchemy.engine import make_url  # not at the top: every command reads settings

        parsed = make_url(url)
        if parsed.password is not None or parsed.get_backend_name() == "sqlite":
            return url
        password = read_secret(None, self.catalog_password_file)
        return parsed.set(password=password).render_as_string(hide_password=False)


def read_secret(value: SecretStr | None, file: Path | None) -> str | None:
    """Return a secret from its value or its file, stripped of a trailing newline."""
    if value is not None:
        return value.get_secret_value()
    if file is not None:
        return file.read_text(encoding="utf-8").strip()
    return None


# --- web ---


class WebSettings(_Frozen):
    """The web app (``sohoa serve``): sessions, cookies, sign-in limits, uploads, proxies."""

    session_hours: float = Field(default=8.0, gt=0, le=24 * 30)
    """A session ends this long after sign-in, however active (a working day)."""
    idle_minutes: int = Field(default=60, ge=1, le=24 * 60)
    """A session also ends after this long without a request."""
    secure_cookies: Literal["auto", "always"] = "auto"
    """``auto``: cookies are ``Secure`` when the request came over HTTPS (directly or, from a
    trusted proxy, by ``X-Forwarded-Proto``); ``always``: every cookie is ``Secure`` (set it
    behind a TLS proxy that is not listed in ``trusted_proxies``)."""
    login_max_failures: int = Field(default=5, ge=1, le=1000)
    """Failed sign-ins allowed per account name *from one client address* within
    ``login_window_minutes``; then that name is refused (429) from that address until the
    oldest failure leaves the window. Other addresses (the owner at the office) go on."""
    login_max_failures_per_ip: int = Field(default=200, ge=1, le=100000)
    """Failed sign-ins allowed per client address within the window, whatever the names: high
    enough that an office behind one NAT address is not locked out by a few people mistyping
    (or by one stranger), low enough to stop one source spraying names."""
    login_window_minutes: int = Field(default=15, ge=1, le=24 * 60)
    """Length of the sliding window the two limits above count over."""
    login_account_failures: int = Field(default=10, ge=1, le=10000)
    """Failed sign-ins per account name from all addresses together (within a day) before each
    further one delays the next attempt, from anywhere: guesses spread over many addresses."""
    login_delay_seconds: int = Field(default=60, ge=1, le=3600)
    """The first such delay; it doubles with every further failure."""
    login_max_delay_minutes: int = Field(default=15, ge=1, le=24 * 60)
    """The longest such delay: what anyone can make an account's owner wait at most after
    their last guess."""
    min_password_length: int = Field(default=12, ge=8, le=128)
    """Shortest password accepted when an account is created or its password reset."""
    min_password_strength: int = Field(default=3, ge=0, le=4)
    """Lowest zxcvbn score (0-4) accepted for a new password: 3 keeps out ``aaaaaaaaaaaa``,
    ``password1234`` and the account name with digits, which pass on length alone; 0 turns
    the estimate off (length only). See ``catalog/passwords.py``."""
    token_days: int = Field(default=90, ge=1, le=3650)
    """An API token made without ``--days`` (or ``--no-expiry``) stops working this many
    days after it was made: a forgotten token in an old script or a leaked one dies alone."""
    max_upload_mb: float | None = Field(default=None, gt=0)
    """Largest request body in megabytes; ``None``: ``limits.max_file_mb``."""
    trusted_proxies: tuple[str, ...] = ()
    """Addresses or networks (``10.0.0.5``, ``10.0.0.0/24``) of reverse proxies whose
    ``X-Forwarded-For``/``X-Forwarded-Proto`` are believed; empty: none, the peer is the client."""
    job_workers: int = Field(default=1, ge=1, le=64)
    """Uploaded batches digitised at once by the in-process job runner (``web/jobs.py``).
    One is enough on most machines: each batch already OCRs its pages in parallel, one
    Tesseract per core (``ocr.workers``); more only helps when batches are small and the
    cores idle between them."""
    dispatch: Literal["here", "deployment"] = "here"
    """Where uploaded batches are digitised. ``here``: by this process's job runner (one
    machine, nothing else to run). ``deployment``: received into the store's intake and run
    as flow runs of ``web.deployment`` on the Prefect work pool (``PREFECT_API_URL`` names
    the server), so several web servers and workers share the work; progress is read from
    the Prefect server and the catalog."""
    deployment: str = "digitise_batch/digitise"
    """The deployment an upload is run as when ``dispatch`` is ``deployment``."""
    fixity_deployment: str = "fixity_check/fixity"
    """The deployment a fixity check started on ``/verify`` is run as when ``dispatch`` is
    ``deployment`` (its history row is written by the web server, finished by the worker)."""
    fixity_stale_seconds: float = Field(default=300.0, gt=0, le=24 * 3600)
    """A running fixity check writes a heartbeat into its history row about every fifth of
    this (and with its counts), however slow it is; ``/verify`` closes a ``running`` row
    whose heartbeat is older as ``abandoned`` (its worker or process died), so the page
    stops polling it and another check may start. The web servers and every process
    running checks should share it."""
    job_queue: int = Field(default=20, ge=1, le=10000)
    """Uploaded batches allowed to wait for a worker; beyond that an upload is refused (503,
    try later) before anything is stored, so a burst cannot fill the inbox faster than it
    is digitised."""


Settings.model_rebuild()
