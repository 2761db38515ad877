"""The unit hierarchy (province ⊃ department/district ⊃ commune) built from ``Unit.parent``.

Reports roll figures up it, and a user limited to a unit sees that unit and every
unit under it (:mod:`catalog.units`), so both read the same tree, including its
tolerance of what exports get wrong.

A value type: it raises no domain error. A caller asking about a unit that may not
exist checks ``unit in tree`` first and raises :class:`sohoa.errors.UnknownUnitError`
itself, in the floor that knows what the unit was for.
"""

from __future__ import annotations

from collections.abc import Iterable

from schemas.register import Unit

__all__ = ["UnitTree"]


class UnitTree:
    """The unit hierarchy from ``Unit.parent``, robust to what exports get wrong.

    A unit whose parent is itself is a root; a unit caught in a parent cycle becomes a
    root where the cycle is first met; a unit code that only appears in the register,
    or only as another unit's parent, gets a unit named by its code. Why the parents:
    an export whose district rows name their province only as the parent unit gave a
    report with no province row, the roll-up stopping at the districts, and the row a
    province auditor reads is the province's.
    """

    def __init__(self, units: Iterable[Unit], extra_codes: Iterable[str] = ()) -> None:
        self.units: dict[str, Unit] = {u.code: u for u in units}
        for code in extra_codes:
            self.units.setdefault(code, Unit(code=code, name=code))
        for unit in list(self.units.values()):
            if unit.parent and unit.parent != unit.code:
                self.units.setdefault(unit.parent, Unit(code=unit.parent, name=unit.parent))
        self.children: dict[str, list[str]] = {code: [] for code in self.units}
        roots = []
        for code in sorted(self.units):
            parent = self.units[code].parent
            if parent is None or parent == code or parent not in self.units:
                roots.append(code)
            else:
                self.children[parent].append(code)
        self.order: list[tuple[str, int]] = []
        self.placed_parent: dict[str, str | None] = {}
        """Parent of each unit as placed in the tree (``None`` for roots, cycles broken)."""
        for code in roots + sorted(self.units):  # the second pass picks up cycles
            if code not in self.placed_parent:
                self._walk(code, self.order, record=True)
        self.children = {  # keep only the links the walk used: a broken cycle stays broken
            code: [c for c in kids if self.placed_parent[c] == code]
            for code, kids in self.children.items()
        }

    def _walk(self, root: str, out: list[tuple[str, int]], *, record: bool = False) -> None:
        """Depth-first from ``root``, children in code order, each unit once."""
        seen: set[str] = set()
        stack: list[tuple[str, int, str | None]] = [(root, 0, None)]
        while stack:
            code, depth, parent = stack.pop()
            if code in seen or (record and code in self.placed_parent):
                continue
            seen.add(code)
            if record:
                self.placed_parent[code] = parent
            out.append((code, depth))
            stack.extend((child, depth + 1, code) for child in reversed(self.children[code]))

    def __contains__(self, code: object) -> bool:
        """Whether ``code`` is a unit of the tree (listed, or only named by the register)."""
        return code in self.units

    def subtree(self, root: str | None) -> list[tuple[str, int]]:
        """``(code, depth)`` in display order (parents first); the whole forest for ``None``.

        Raises:
            KeyError: ``root`` is not a known unit (check ``root in tree`` first).
        """
        if root is None:
            return list(self.order)
        if root not in self.units:
            raise KeyError(root)
        out: list[tuple[str, int]] = []
        self._walk(root, out)
        return out
