"""The one-stop-shop dossier register: the denominators of the digitisation rates.

Offices report "dossiers digitised / dossiers received", and the register (an
export of the one-stop-shop system, see ``../shared/domain.md``) is the only
source of the dossiers that were never scanned. These frozen types are what
:mod:`catalog.register` stores and what :mod:`reports` computes from; no I/O.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

UnitLevel = Literal["tinh", "so", "huyen", "xa"]
"""Cấp đơn vị: tỉnh (province), sở (department), huyện (district), xã (commune)."""

RECEIVED_STATUSES = frozenset({2, 4, 5, 6, 7, 8, 9, 10})
"""Status codes of a dossier the office accepted (domain.md; UNCONFIRMED as national)."""

SOLVED_STATUSES = frozenset({7, 9, 10})
"""Status codes of a dossier whose handling ended (withdrawn, solved, result returned)."""

ONLINE_CHANNEL = 2
"""Kênh thực hiện 2 = trực tuyến (1 trực tiếp, 3 bưu chính)."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Unit(_Frozen):
    """One administrative unit that receives dossiers, with its place in the hierarchy."""

    code: str
    """The unit's code as the one-stop-shop system exports it (e.g. ``000.00.06.H56``)."""
    name: str
    """Tên đơn vị, with diacritics."""
    level: UnitLevel | None = None
    """Cấp; ``None`` when the export does not say."""
    parent: str | None = None
    """Code of the parent unit (province ⊃ department/district ⊃ commune); ``None`` at the top."""


class RegisterEntry(_Frozen):
    """One dossier (hồ sơ) as the one-stop-shop register lists it."""

    dossier_code: str
    """Mã hồ sơ; the key that ties the register to digitised records."""
    unit: str
    """Code of the unit that received the dossier (see :class:`Unit`)."""
    procedure_code: str | None = None
    """Mã TTHC, e.g. ``1.004616.000.00.00.H56``."""
    procedure_name: str | None = None
    """Tên thủ tục hành chính."""
    field_code: str | None = None
    """Mã lĩnh vực."""
    field_name: str | None = None
    """Tên lĩnh vực, e.g. ``Hộ tịch``."""
    received_on: date | None = None
    """Ngày tiếp nhận; the period filter of received dossiers uses it."""
    due_on: date | None = None
    """Ngày hẹn trả; a solved dossier is on time when it ended on or before this day."""
    finished_on: date | None = None
    """Ngày kết thúc xử lý; the period filter of solved dossiers uses it."""
    status: int = Field(ge=1, le=10)
    """Trạng thái 1–10 (see :data:`RECEIVED_STATUSES`, :data:`SOLVED_STATUSES`)."""
    channel: int | None = Field(default=None, ge=1, le=3)
    """Kênh: 1 trực tiếp, 2 trực tuyến, 3 bưu chính."""
    paper_result: bool = True
    """Whether the procedure's result is a paper document; if not, the result counts as digitised."""

    @property
    def received(self) -> bool:
        """Whether the dossier counts in the denominator of received dossiers."""
        return self.status in RECEIVED_STATUSES

    @property
    def solved(self) -> bool:
        """Whether the dossier counts in the denominator of solved dossiers."""
        return self.status in SOLVED_STATUSES
