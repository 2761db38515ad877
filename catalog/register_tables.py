"""Tables of the one-stop-shop dossier register, in the catalog database.

They share :class:`catalog.tables.Base` so :class:`catalog.database.Catalog`
creates them with its own tables (and adds columns a newer sohoa defines). The
register is *imported*, not derived from the archive: unlike ``records`` it cannot
be rebuilt from manifests, only re-imported from the office's export files.

Only :mod:`catalog.register` uses these ORM classes; callers get the frozen
:class:`schemas.register.RegisterEntry` and :class:`schemas.register.Unit`.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from catalog.tables import Base, UtcDateTime

__all__ = ["ENTRY_COLUMNS", "UNIT_COLUMNS", "RegisterEntryTable", "RegisterUnitTable"]


class RegisterUnitTable(Base):
    """One unit that receives dossiers (sở, huyện, xã…), upserted by every import."""

    __tablename__ = "register_units"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    level: Mapped[str | None] = mapped_column(String(8))
    parent: Mapped[str | None] = mapped_column(String(64))
    """Parent unit's code; not a foreign key, since the parent (the province) may be absent."""
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class RegisterEntryTable(Base):
    """One dossier of the register, keyed by mã hồ sơ so a re-import updates it."""

    __tablename__ = "register_entries"

    dossier_code: Mapped[str] = mapped_column(String(255), primary_key=True)
    unit: Mapped[str] = mapped_column(ForeignKey("register_units.code"), index=True)
    procedure_code: Mapped[str | None] = mapped_column(String(128))
    procedure_name: Mapped[str | None] = mapped_column(Text)
    field_code: Mapped[str | None] = mapped_column(String(128))
    field_name: Mapped[str | None] = mapped_column(Text)
    received_on: Mapped[date | None] = mapped_column(Date, index=True)
    due_on: Mapped[date | None] = mapped_column(Date)
    finished_on: Mapped[date | None] = mapped_column(Date, index=True)
    status: Mapped[int]
    channel: Mapped[int | None]
    paper_result: Mapped[bool] = mapped_column(default=True)
    source: Mapped[str] = mapped_column(Text, default="")
    """Name of the file the row was last changed from (no path: paths can name people)."""
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    """When an import last inserted or changed the row (an unchanged row keeps its time)."""


ENTRY_COLUMNS: tuple[str, ...] = (
    "dossier_code",
    "unit",
    "procedure_code",
    "procedure_name",
    "field_code",
    "field_name",
    "received_on",
    "due_on",
    "finished_on",
    "status",
    "channel",
    "paper_result",
)
"""Columns that hold a :class:`schemas.register.RegisterEntry` field of the same name."""

UNIT_COLUMNS: tuple[str, ...] = ("code", "name", "level", "parent")
"""Columns that hold a :class:`schemas.register.Unit` field of the same name."""
