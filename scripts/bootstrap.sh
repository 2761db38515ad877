#!/usr/bin/env bash
# Install everything sohoa needs on a fresh Debian/Ubuntu machine: system packages
# (Tesseract with Vietnamese data, poppler, qpdf, fonts) and the locked Python
# environment in .venv. Safe to run again: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

# unpaper and ghostscript serve OCRmyPDF, the alternative the OCR benchmark compares with;
# chromium is the browser the web tests drive (Playwright with executable_path).
# jbig2dec decodes the JBIG2 images black-and-white office scanners write: pikepdf starts
# it to take such a page's image out as it is (without it the page is rasterised instead).
# JPEG 2000 needs no package: Pillow's wheel bundles openjpeg, poppler depends on libopenjp2.
# fonts-liberation2 (Times-metric Liberation Serif, as Vietnamese offices print in Times New
# Roman) draws the real-world OCR corpus (bench/realworld_corpus.py) and its test.
# postgresql: the tests run the catalog on Debian's PostgreSQL server as well as on SQLite
# (tests/pgserver.py starts a private one per test session; the package's own cluster is
# not used).
APT_PACKAGES=(tesseract-ocr tesseract-ocr-vie tesseract-ocr-osd poppler-utils qpdf jbig2dec
              fonts-dejavu-core fonts-liberation2 unpaper ghostscript pngquant softhsm2 chromium
              postgresql)
# The benchmarks' page generator draws with Noto as well (SOHOA_BENCH=1, set by make bench).
if [ "${SOHOA_BENCH:-0}" = 1 ]; then APT_PACKAGES+=(fonts-noto-core); fi
# Node.js runs pdf.js for the tests (below); Debian's, where the machine has none of its own.
command -v npm >/dev/null || APT_PACKAGES+=(nodejs npm)
UV_VERSION=0.13.8

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "sohoa: installing system packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

UV=.tools/uv/bin/uv
if [ ! -x "$UV" ]; then
  echo "sohoa: installing uv $UV_VERSION into .tools/"
  python3 -m pip install -q --disable-pip-version-check --target .tools/uv "uv==$UV_VERSION"
fi
# The lock file pins every Python dependency; --frozen refuses to change it.
# --compile-bytecode, and compileall for sohoa's own packages: every command starts from
# compiled bytecode, as after a pip install. uv does not compile by default, and where Python
# may not write bytecode at run time (PYTHONDONTWRITEBYTECODE, a read-only image) each process
# compiled ~750 modules again: 1-2 s of every command and every worker's flow run
# (bench/README.md, "Start-up"). Files already compiled are skipped.
PYTHONPATH=.tools/uv "$UV" sync --frozen --quiet --compile-bytecode
.venv/bin/python scripts/compile_sources.py

# pdf.js (Mozilla's PDF reader, in Firefox) reads the archival PDF's text layer back in the
# tests and benchmarks, beside poppler, MuPDF, pypdf and pdfminer. Pinned by package-lock.json.
if [ ! -d bench/pdfjs/node_modules/pdfjs-dist ]; then
  echo "sohoa: installing pdf.js into bench/pdfjs/"
  npm ci --prefix bench/pdfjs --no-audit --no-fund --loglevel=error >/dev/null
fi
