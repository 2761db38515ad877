"""A real test PKI on loopback: certomancer's Animator serving a TSA, OCSP and CRLs.

Why: B-T and B-LT signatures need a time-stamp authority and revocation data that
pyHanko fetches over HTTP, exactly as it would from a Vietnamese CA in production.
The PKI is described in ``tests/pki/sohoa-test-pki.yml``; the private keys are
generated per session (never committed) and the Animator runs in a thread through
werkzeug's WSGI server. Nothing here is mocked.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from asn1crypto import x509 as asn1_x509
from certomancer.integrations.animator import Animator, AnimatorArchStore
from certomancer.registry import ArchLabel, CertLabel, CertomancerConfig, PKIArchitecture
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from pyhanko.keys import load_certs_from_pemder
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import async_validate_pdf_signature
from pyhanko_certvalidator import ValidationContext
from werkzeug.serving import make_server

PKI_YAML = Path(__file__).parent / "pki" / "sohoa-test-pki.yml"
ARCH = ArchLabel("sohoa-test")
RSA_KEYS = {"token-signer"}  # USB tokens of Vietnamese CAs hold RSA keys


@dataclass(frozen=True)
class LocalPki:
    """The running PKI: its architecture, base URL and files a test can point settings at."""

    arch: PKIArchitecture
    url: str
    """``http://127.0.0.1:PORT`` of the Animator."""
    folder: Path
    """Holds ``root.pem`` and ``<label>.p12`` files written by :meth:`pkcs12`."""
    key_dir: Path
    requests: list[tuple[str, str | None]]
    """``(path, Authorization header)`` of every request the server received."""

    @property
    def tsa_url(self) -> str:
        """The RFC 3161 endpoint of the test TSA."""
        return f"{self.url}/{ARCH}/tsa/tsa"

    @property
    def root_pem(self) -> Path:
        """The trust root of the test PKI, as a PEM file."""
        path = self.folder / "root.pem"
        if not path.exists():
            path.write_bytes(self.pem("root"))
        return path

    def cert(self, label: str) -> asn1_x509.Certificate:
        return self.arch.get_cert(CertLabel(label))

    def pem(self, label: str) -> bytes:
        der = self.cert(label).dump()
        return x509.load_der_x509_certificate(der).public_bytes(serialization.Encoding.PEM)

    def pkcs12(self, label: str, password: str) -> Path:
        """Package ``label``'s key, certificate and chain as a PKCS#12 (certomancer does it)."""
        path = self.folder / f"{label}.p12"
        data = self.arch.package_pkcs12(CertLabel(label), password=password.encode())
        path.write_bytes(data)
        return path

    def key_pem(self, label: str) -> Path:
        """The unencrypted PKCS#8 PEM of ``label``'s private key."""
        return self.key_dir / f"{label}.key.pem"


def _write_keys(key_dir: Path, labels: list[str]) -> None:
    for label in labels:
        if label in RSA_KEYS:
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        else:
            key = ec.generate_private_key(ec.SECP256R1())
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        (key_dir / f"{label}.key.pem").write_bytes(pem)


class _LateApp:
    """WSGI app whose target is set after the server knows its port (URLs need the port).

    It also records each request's path and ``Authorization`` header, so tests can see
    what a client really sent.
    """

    def __init__(self) -> None:
        self.target = None
        self.seen: list[tuple[str, str | None]] = []

    def __call__(self, environ, start_response):
        self.seen.append((environ.get("PATH_INFO", ""), environ.get("HTTP_AUTHORIZATION")))
        return self.target(environ, start_response)


@pytest.fixture(scope="session", name="pki")
def pki_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalPki]:
    """Start the test PKI's TSA, OCSP responder and CRL repository on a loopback port."""
    import yaml

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no access log per request
    folder = tmp_path_factory.mktemp("test-pki")
    key_dir = folder / "keys"
    key_dir.mkdir(mode=0o700)
    config = yaml.safe_load(PKI_YAML.read_text(encoding="utf-8"))
    _write_keys(key_dir, list(config["keysets"]["sohoa-test"]["keys"]))
    app = _LateApp()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    cfg = CertomancerConfig(config, key_search_dir=str(key_dir), external_url_prefix=url)
    arch = cfg.get_pki_arch(ARCH)
    app.target = Animator(AnimatorArchStore({ARCH: arch}), with_web_ui=False)
    thread = threading.Thread(target=server.serve_forever, name="test-pki", daemon=True)
    thread.start()
    try:
        yield LocalPki(arch=arch, url=url, folder=folder, key_dir=key_dir, requests=app.seen)
    finally:
        server.shutdown()
        thread.join(timeout=10)


def make_archival_pdf(folder: Path, pages: int = 2) -> Path:
    """A real archival PDF from the project's own builder: A4 colour JPEG scans at 200 dpi."""
    from pdf.assemble import build_archival_pdf
    from samples.synth import render_page
    from schemas.models import PageImage

    images = []
    for number in range(pages):
        path = folder / f"page-{number}.jpg"
        lines = ["CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", f"Trang {number + 1}: Giấy tiếp nhận hồ sơ"]
        picture = render_page(lines, dpi=200).convert("RGB")
        picture.save(path, "JPEG", quality=85, dpi=(200, 200))
        images.append(
            PageImage(
                index=number,
                path=str(path),
                source="scan.pdf",
                source_page=number,
                width=picture.width,
                height=picture.height,
                dpi=200,
                mode="RGB",
                encoding="jpeg",
            )
        )
    meta = {"dossierCode": "000.00.06.H56-231027-0361", "kind": "thanh-phan", "unit": "H56"}
    return build_archival_pdf(images, [None] * pages, folder / "archival.pdf", metadata=meta)


def pdfsig_report(path: Path) -> str:
    """poppler's pdfsig output for ``path`` (run through the project's program wrapper)."""
    from sohoa.programs.run import run_program

    return run_program(["pdfsig", path], timeout=60, check=False).stdout


def qpdf_check(path: Path) -> str:
    """``qpdf --check`` output; the program exits 0 only when it finds no errors."""
    from sohoa.programs.run import run_program

    return run_program(["qpdf", "--check", path], timeout=60).stdout


def hanko_status(path: Path, pki: LocalPki):
    """pyHanko's own verdict on the newest signature (independent of pdf.sign.signer)."""
    roots = list(load_certs_from_pemder([pki.root_pem]))

    async def check():
        with path.open("rb") as handle:
            sig = PdfFileReader(handle).embedded_signatures[-1]
            vc = ValidationContext(trust_roots=roots)
            try:
                return await async_validate_pdf_signature(sig, vc)
            finally:
                await vc.aclose()

    return asyncio.run(check())
