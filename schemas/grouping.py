"""How a digitisation-rate report may group its rows: the ``--by`` values.

Why a module of its own: the CLI lists these in ``sohoa report --help``, and every sohoa
command builds that help when it starts; :mod:`schemas.report`'s models cost a search or
an ingest ~50 ms to build, for a tuple of five words.
"""

from __future__ import annotations

from typing import Literal

GroupBy = Literal["unit", "linh-vuc", "tthc", "day", "month"]
"""How rows are grouped: per unit (tree with roll-ups), lĩnh vực, procedure, day or month."""

GROUP_BY: tuple[GroupBy, ...] = ("unit", "linh-vuc", "tthc", "day", "month")
"""Every accepted ``--by`` value, in the order the CLI lists them."""
