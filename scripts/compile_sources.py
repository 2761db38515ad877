"""Compile sohoa's own packages to bytecode (``__pycache__``), as a wheel install would.

Why: the checkout is installed editable, so nothing compiles its sources at install time;
where Python may not write bytecode while it runs (``PYTHONDONTWRITEBYTECODE=1``, a
read-only image), every command would compile them again. The package list is the
wheel's (``pyproject.toml``), so a new floor is compiled without editing this file.
Exits non-zero when a file does not compile.
"""

from __future__ import annotations

import compileall
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def packages() -> list[Path]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    names = project["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]
    return [ROOT / name for name in names]


def main() -> int:
    compiled = [compileall.compile_dir(p, quiet=1, workers=0) for p in packages()]
    return 0 if all(compiled) else 1


if __name__ == "__main__":
    sys.exit(main())
