"""Import a module of sohoa as it was at an earlier commit, for a same-run side-by-side.

Why: a speed change is measured against the code it replaced, on the same pages in the
same run; the old code is read from git (``git show REV:path``) instead of being kept
as a copy in the tree. Needs the repository's history (not a shallow clone).
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import tempfile
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]


def module_at(revision: str, path: str, name: str) -> ModuleType:
    """``path`` (e.g. ``pdf/mrc.py``) at ``revision``, imported as module ``name``."""
    source = subprocess.run(
        ["git", "-C", str(ROOT), "show", f"{revision}:{path}"],
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout
    folder = Path(tempfile.mkdtemp(prefix="sohoa-bench-old-"))
    file = folder / f"{name}.py"
    file.write_bytes(source)
    spec = importlib.util.spec_from_file_location(name, file)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module
