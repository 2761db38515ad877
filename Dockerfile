# The sohoa pipeline image: Tesseract with Vietnamese data, poppler, qpdf, and the locked
# Python environment. Used by docker-compose.yml; the same scripts set up a bare machine.
FROM python:3.11-slim-bookworm

RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      tesseract-ocr tesseract-ocr-vie tesseract-ocr-osd poppler-utils qpdf fonts-dejavu-core make \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml uv.lock README.md ./
COPY scripts ./scripts
COPY sohoa ./sohoa
COPY flows ./flows
COPY ocr ./ocr
COPY storage ./storage
COPY schemas ./schemas
COPY reports ./reports
COPY web ./web
COPY prefect.yaml ./
RUN python -m pip install -q --target /opt/uv uv==0.13.8 \
 && PYTHONPATH=/opt/uv /opt/uv/bin/uv sync --frozen --no-dev \
 && useradd --create-home --uid 10001 sohoa && mkdir -p /data && chown sohoa /data
USER sohoa
ENV PATH="/app/.venv/bin:$PATH" SOHOA_DATA_DIR=/data PREFECT_SERVER_ANALYTICS_ENABLED=false
ENTRYPOINT ["sohoa"]
CMD ["--help"]
