"""TIFF, JPEG and PNG input, several files as one batch, and the S3 store end to end."""

from __future__ import annotations

import subprocess

import pikepdf

from samples.synth import degrade, render_page, write_jpeg, write_png, write_tiff


def _text(path) -> str:
    return subprocess.run(
        ["pdftotext", "-raw", str(path), "-"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout


def test_tiff_jpeg_png_form_one_batch_in_order(cli, tmp_path):
    tiff = tmp_path / "a.tiff"
    write_tiff(
        tiff,
        [
            render_page(["Trang một: Giấy khai sinh"], font_size_pt=16).convert("L"),
            render_page(["Trang hai: Sổ hộ khẩu"], font_size_pt=16),
        ],
        dpi=300,
    )
    jpeg = tmp_path / "b.jpg"
    write_jpeg(
        jpeg,
        degrade(
            render_page(["Trang ba: Chứng minh nhân dân"], dpi=200, font_size_pt=16), skew_deg=2
        ),
        dpi=200,
    )
    png = tmp_path / "c.png"
    write_png(png, render_page(["Trang bốn: Đơn đề nghị"], font_size_pt=16), dpi=300)
    records = cli.json(
        "ingest",
        str(tiff),
        str(jpeg),
        str(png),
        "--dossier",
        "H21.65-220914-0011",
        "--kind",
        "ket-qua",
    )
    assert len(records) == 1 and records[0]["pages"] == 4
    assert records[0]["dossier_code"] == "H21.65-220914-0011" and records[0]["kind"] == "ket-qua"
    pdf_path = cli.data_dir / "objects" / records[0]["pdf"]
    with pikepdf.open(pdf_path) as pdf:
        widths = [round(float(p.mediabox[2])) for p in pdf.pages]
    assert widths == [595, 595, 595, 595]  # A4 at each page's own dpi (300, 300, 200, 300)
    text = _text(pdf_path)
    order = [text.find(w) for w in ("Trang một", "Trang hai", "Trang ba", "Trang bốn")]
    assert -1 not in order and order == sorted(order), text
    originals = list((cli.data_dir / "objects" / "originals").rglob("*"))
    assert sorted(p.name for p in originals if p.is_file()) == [
        "000-a.tiff",
        "001-b.jpg",
        "002-c.png",
    ]


def test_s3_store_end_to_end(cli, s3_server, scan_pdf):
    env = {
        "SOHOA_STORE__BACKEND": "s3",
        "SOHOA_STORE__ENDPOINT": s3_server.endpoint,
        "SOHOA_STORE__ACCESS_KEY": s3_server.access_key,
        "SOHOA_STORE__SECRET_KEY": s3_server.secret_key,
        "SOHOA_STORE__BUCKET": "sohoa-e2e",
    }
    done = cli("ingest", str(scan_pdf), "--json", extra_env=env)
    assert done.returncode == 0, done.stderr
    assert s3_server.secret_key not in done.stdout + done.stderr
    assert not (cli.data_dir / "objects").exists()  # nothing went to the local store
    verify = cli("verify", "--all", extra_env=env)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    out = cli.data_dir / "from-s3.pdf"
    assert (
        cli(
            "export", done.stdout.split('"id": "')[1][:16], "-o", str(out), extra_env=env
        ).returncode
        == 0
    )
    assert "Nguyễn Thị Hồng Đào" in _text(out)


def test_unreachable_store_keeps_the_original_and_a_later_run_completes(cli, s3_server, scan_pdf):
    import socket

    with socket.socket() as sock:  # a loopback port nobody listens on
        sock.bind(("127.0.0.1", 0))
        dead = f"127.0.0.1:{sock.getsockname()[1]}"
    env = {
        "SOHOA_STORE__BACKEND": "s3",
        "SOHOA_STORE__ACCESS_KEY": s3_server.access_key,
        "SOHOA_STORE__SECRET_KEY": s3_server.secret_key,
        "SOHOA_STORE__BUCKET": "sohoa-retry",
        "SOHOA_STORE__RETRIES": "1",
        "SOHOA_STORE__RETRY_DELAY_S": "0.1",
    }
    failed = cli("ingest", str(scan_pdf), extra_env={**env, "SOHOA_STORE__ENDPOINT": dead})
    assert failed.returncode == 8, failed.stderr  # ExitCode.STORAGE_FAILED
    assert "Storage error" in failed.stderr and s3_server.secret_key not in failed.stderr
    waiting = [p for p in (cli.data_dir / "inbox").rglob("*.pdf")]
    assert len(waiting) == 1 and waiting[0].read_bytes() == scan_pdf.read_bytes()
    assert cli.record_count() == 0
    assert not (cli.data_dir / "quarantine").exists()  # good input is not quarantined
    done = cli(
        "ingest",
        str(scan_pdf),
        "--json",
        extra_env={**env, "SOHOA_STORE__ENDPOINT": s3_server.endpoint},
    )
    assert done.returncode == 0, done.stderr
    assert cli.record_count() == 1
    assert not list((cli.data_dir / "inbox").rglob("*.pdf"))  # released after the commit
