"""The floor plan holds: no import circle, each floor imports only the floors below it.

These tests read the product code's own imports (every ``import``, including the late ones
inside functions and under ``TYPE_CHECKING``), so a new circle or a call up the stairs fails
here before a reader trips over it. The README's architecture table describes the same plan.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

FLOORS: dict[str, int] = {
    "sohoa": 0,
    "schemas": 1,
    "ocr": 2,
    "samples": 2,
    "storage": 3,
    "reports": 3,
    "pdf": 4,
    "catalog": 4,
    "records": 5,
    "services": 6,
    "flows": 7,
    "web": 8,
    "cli": 9,
}
"""Each top-level package and its floor: a package imports only packages on lower floors.

The kernel (``sohoa``: errors, messages, dates, folding, masking, the program door) is the
ground floor and imports nothing of the project; the value types stand on it.
"""

SAMPLE_USERS = {"cli"}
"""Product packages allowed to import the sample generator (``sohoa demo``)."""

PROGRAM_LIBRARIES = {"subprocess", "pytesseract", "pdf2image"}
"""Ways of starting an external program; only the door (``sohoa/programs``) uses them."""

ERROR_MODULES = {"sohoa.errors", "web.errors"}
"""The two modules that may define exception classes."""


def _modules() -> dict[str, Path]:
    found = {}
    for package in FLOORS:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


MODULES = _modules()


def _imported_names(name: str, path: Path) -> set[str]:
    """Every dotted name ``path`` imports, relative imports resolved, late imports included."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


IMPORTS = {name: _imported_names(name, path) for name, path in MODULES.items()}
EDGES = {
    name: {other for other in names if other in MODULES and other != name}
    for name, names in IMPORTS.items()
}


def _circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_the_circle_finder_finds_a_circle():
    assert _circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _circles({"a": {"b"}, "b": set()}) == []


def test_no_import_circle_between_files():
    assert _circles(EDGES) == []


def test_every_top_level_package_has_a_floor():
    packages = {p.parent.name for p in ROOT.glob("*/__init__.py")} - {"tests", "bench"}
    assert packages <= set(FLOORS), packages - set(FLOORS)


def test_each_package_imports_only_lower_floors():
    upward = sorted(
        f"{name} -> {other}"
        for name, others in EDGES.items()
        for other in others
        if (top := other.split(".")[0]) != name.split(".")[0]
        and FLOORS[top] >= FLOORS[name.split(".")[0]]
    )
    assert upward == []


def test_only_the_cli_uses_the_sample_generator():
    users = sorted(
        name
        for name, others in EDGES.items()
        if name.split(".")[0] not in SAMPLE_USERS | {"samples"}
        and any(o.split(".")[0] == "samples" for o in others)
    )
    assert users == []


def test_prefect_is_imported_only_in_flows():
    users = sorted(
        name
        for name, names in IMPORTS.items()
        if not name.startswith("flows") and any(n.split(".")[0] == "prefect" for n in names)
    )
    assert users == []


def test_external_programs_start_only_through_the_door():
    users = sorted(
        f"{name} ({', '.join(sorted(hits))})"
        for name, names in IMPORTS.items()
        if not name.startswith("sohoa.programs")
        and (hits := {n.split(".")[0] for n in names} & PROGRAM_LIBRARIES)
    )
    assert users == []


def _defines_exception(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    classes = {node.name: node for node in ast.walk(tree) if isinstance(node, ast.ClassDef)}

    def is_error(node: ast.ClassDef) -> bool:
        for base in node.bases:
            label = ast.unparse(base).split(".")[-1]
            if label.endswith(("Error", "Exception")) or label in {"Exception", "WebError"}:
                return True
            if label in classes and is_error(classes[label]):
                return True
        return False

    return sorted(name for name, node in classes.items() if is_error(node))


def test_errors_are_defined_in_the_two_error_modules_only():
    strays = {
        name: found
        for name, path in MODULES.items()
        if name not in ERROR_MODULES and (found := _defines_exception(path))
    }
    assert strays == {}


@pytest.mark.parametrize("package", sorted(FLOORS))
def test_no_folder_holds_more_than_a_quarter_of_the_code(package):
    lines: dict[str, int] = defaultdict(int)
    for name, path in MODULES.items():
        lines[name.split(".")[0]] += len(path.read_text(encoding="utf-8").splitlines())
    share = lines[package] / sum(lines.values())
    assert share <= 0.25, f"{package}/ holds {share:.0%} of the product code"


def test_starting_a_flow_run_does_not_import_pyhanko_before_the_pages():
    """A worker's flow run imports ``flows.digitise`` cold each time (Prefect's process
    workers start a new interpreter per run); pyHanko (about 0.4 s) is needed only by the
    last step, which imports it while the pages are read (``flows.batch._sign``). The
    signing-key check at the flow's start must not pull it in."""
    import subprocess
    import sys

    probe = (
        "import sys, flows.digitise, pdf.keys.signing_key;"
        "print(sorted({m.split('.')[0] for m in sys.modules if m.startswith('pyhanko')}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]", done.stdout


def test_a_batch_reads_its_first_page_before_loading_signing_libraries():
    """Everything imported before the first page is read is serial start-up on the clerk's
    one core. The signing-key check at a batch's start reads only the settings
    (:mod:`pdf.keys.policy`); ``cryptography`` and pyHanko (~0.25 s) are loaded with the
    key while the pages are read."""
    import subprocess
    import sys

    probe = (
        "import sys, cli.app, flows.plain, flows.digitise, records.commit, ocr.pages;"
        "print(sorted({m.split('.')[0] for m in sys.modules"
        " if m.startswith(('pyhanko', 'cryptography'))}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]", done.stdout
