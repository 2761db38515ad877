"""Make sure a module's tables exist in a catalog before its functions touch them.

Every table is now defined in :mod:`catalog.tables`, so :class:`catalog.database.Catalog`
creates them all when it opens; this stays as a cheap guard (once per catalog and process)
and as the place that turns a module's database failures into ``StorageError``, until
schema migrations replace table creation at open. Each user keeps one :class:`ModuleTables`
and decorates its catalog functions with :meth:`ModuleTables.on_catalog`.
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Callable, Sequence
from typing import Concatenate, ParamSpec, TypeVar

from sqlalchemy import Table

from catalog.database import Catalog, _storage_errors
from catalog.tables import Base

__all__ = ["ModuleTables"]

_P = ParamSpec("_P")
_R = TypeVar("_R")


class ModuleTables:
    """Some tables of ``Base``, made to exist in each catalog they are used on."""

    def __init__(self, tables: Sequence[Table]) -> None:
        self.tables = list(tables)
        self._ready: weakref.WeakSet[Catalog] = weakref.WeakSet()

    def ensure(self, catalog: Catalog) -> None:
        """Create the tables in ``catalog`` unless this process already did."""
        if catalog in self._ready:
            return
        Base.metadata.create_all(catalog._engine, tables=self.tables)
        self._ready.add(catalog)

    def on_catalog(
        self, function: Callable[Concatenate[Catalog, _P], _R]
    ) -> Callable[Concatenate[Catalog, _P], _R]:
        """Make sure the tables exist, and turn database failures into ``StorageError``."""

        @functools.wraps(function)
        def wrapper(catalog: Catalog, *args: _P.args, **kwargs: _P.kwargs) -> _R:
            self.ensure(catalog)
            return function(catalog, *args, **kwargs)

        return _storage_errors(wrapper)
