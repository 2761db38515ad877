# The sohoa pipeline image: Tesseract with Vietnamese data, poppler, qpdf, jbig2dec (JBIG2
# scanner images, started by pikepdf), and the locked Python environment. Used by
# docker-compose.yml; the same scripts set up a bare machine. Everything is compiled to
# bytecode at build time: the sohoa user cannot write /app, so each start would compile again.
FROM python:3.11-slim-bookworm

RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      tesseract-ocr tesseract-ocr-vie tesseract-ocr-osd poppler-utils qpdf jbig2dec \
      fonts-dejavu-core make \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml uv.lock README.md ./
COPY scripts ./scripts
COPY schemas ./schemas
COPY sohoa ./sohoa
COPY ocr ./ocr
COPY samples ./samples
COPY storage ./storage
COPY reports ./reports
COPY pdf ./pdf
COPY catalog ./catalog
COPY records ./records
COPY services ./services
COPY flows ./flows
COPY web ./web
COPY cli ./cli
COPY prefect.yaml ./
RUN python -m pip install -q --target /opt/uv uv==0.13.8 \
 && PYTHONPATH=/opt/uv /opt/uv/bin/uv sync --frozen --no-dev --compile-bytecode \
 && /app/.venv/bin/python scripts/compile_sources.py \
 && useradd --create-home --uid 10001 sohoa && mkdir -p /data && chown sohoa /data
USER sohoa
ENV PATH="/app/.venv/bin:$PATH" SOHOA_DATA_DIR=/data PREFECT_SERVER_ANALYTICS_ENABLED=false
ENTRYPOINT ["sohoa"]
CMD ["--help"]
