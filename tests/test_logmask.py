"""Personal data never reaches the logs in clear."""

from __future__ import annotations

import logging

import pytest

from sohoa.logmask import install, mask_personal_data


@pytest.mark.parametrize(
    ("text", "hidden", "kept"),
    [
        ("CCCD 045187002319 của người nộp", "045187002319", "*********319"),
        ("CMND: 191234567", "191234567", "*********567"),
        ("file cccd_045187002319.pdf failed", "045187002319", "*********319"),
        ("gọi 0912 345 678 hoặc 0912.345.678", "345 678", "*******678"),
        ("email hongdao.nguyen@gmail.com", "hongdao.nguyen", "h***@gmail.com"),
    ],
)
def test_mask(text, hidden, kept):
    masked = mask_personal_data(text)
    assert hidden not in masked and kept in masked


def test_codes_that_are_not_personal_stay_readable():
    text = "record 2878d7cecd3934f1 mã hồ sơ 000.00.06.H56-231027-0361 page 3 of 120"
    assert mask_personal_data(text) == text


def test_sohoa_ids_stay_whole_even_with_a_run_of_nine_digits():
    """About one id in ten holds 9 or 12 digits in a row; masked, it could not be looked up."""
    batch, record = "b03b00bf123456789e3a", "3fa045187002319b"  # 20 and 16 hex characters
    text = f"batch {batch} archived as 1 record(s): {record} (3 pages)"
    assert mask_personal_data(text) == text


def test_a_name_then_an_id_number_is_still_masked():
    """Letters only before the digits is a file named after its owner, not a sohoa id."""
    masked = mask_personal_data("file cccd045187002319.pdf failed")
    assert "045187002319" not in masked and "*********319" in masked


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


def test_installed_factory_masks_every_logger():
    install()
    install()  # idempotent
    collect = _Collect()
    loggers = [logging.getLogger("prefect.flow_runs"), logging.getLogger("sohoa.anything")]
    levels = [logger.level for logger in loggers]  # restored: other tests log through them
    for logger in loggers:  # Prefect's loggers do not propagate to the root once configured
        logger.addHandler(collect)
        logger.setLevel(logging.INFO)
    try:
        loggers[0].info("uploaded by %s", "045187002319")
        loggers[1].warning("phone %s", "0912345678")
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.removeHandler(collect)
            logger.setLevel(level)
    text = "\n".join(collect.lines)
    assert "045187002319" not in text and "*********319" in text
    assert "0912345678" not in text and "*******678" in text
