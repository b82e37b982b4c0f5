"""The package's import graph: no cycles, and the layers of DESIGN.md point one way.

Every ``import`` counts, at the top of a module or inside a function (a lazy import is
still a dependency), except those under ``if TYPE_CHECKING``."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).parent.parent / "adaptive"

# (module prefix, prefixes it must never import): "Nothing lower imports anything higher."
LAYERS = [
    ("adaptive.serving", ("adaptive.",)),  # stdlib only: a serving process loads no torch
    ("adaptive.errors", ("adaptive.",)),
    ("adaptive.storage", ("adaptive.experiment", "adaptive.generation", "adaptive.modeling", "adaptive.cron",
                          "adaptive.cli", "adaptive.analysis", "adaptive.review")),
    ("adaptive.modeling", ("adaptive.generation", "adaptive.experiment", "adaptive.cron.rounds", "adaptive.cli",
                           "adaptive.analysis", "adaptive.review", "adaptive.storage")),
    # The fast paths sit beside the models they stand in for: fit.py and the acquisition ask their gate.
    ("adaptive._fastpaths", ("adaptive.generation", "adaptive.experiment", "adaptive.cron", "adaptive.cli",
                             "adaptive.analysis", "adaptive.review", "adaptive.storage", "adaptive.modeling.fit")),
    ("adaptive.generation", ("adaptive.experiment", "adaptive.cron.rounds", "adaptive.cli", "adaptive.review",
                             "adaptive.storage")),
    # The experiment API is below the cron operations: its stored spec lives in adaptive.spec.
    ("adaptive.spec", ("adaptive.experiment", "adaptive.cron", "adaptive.cli", "adaptive.storage", "adaptive.modeling")),
    ("adaptive.experiment", ("adaptive.cron", "adaptive.cli", "adaptive.review", "adaptive.sources")),
    ("adaptive.sources", ("adaptive.cron", "adaptive.cli", "adaptive.experiment")),
    # The cron operations: configs, rounds, fleets; nothing but the CLI and the demo is above them.
    ("adaptive.cron", ("adaptive.cli", "adaptive.service", "adaptive.demo")),
    # Example data sits above what it exercises: the pipeline never depends on its demo logs.
    ("adaptive.events", ("adaptive.demo", "adaptive.cli")),
    ("adaptive.cron.rounds", ("adaptive.cron.fleet",)),
    # The HTTP service reads exports through storage; it never loads the modelling stack.
    ("adaptive.service", ("adaptive.cli", "adaptive.experiment", "adaptive.generation", "adaptive.modeling",
                          "adaptive.analysis", "adaptive.cron.rounds", "adaptive.review")),
    ("adaptive.space", ("adaptive.experiment", "adaptive.generation", "adaptive.modeling", "adaptive.storage")),
    ("adaptive.objectives", ("adaptive.experiment", "adaptive.generation", "adaptive.modeling", "adaptive.storage")),
]


def modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def imports(name: str, path: Path, known: set[str]) -> set[str]:
    tree = ast.parse(path.read_text())
    skipped = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
               for n in ast.walk(node)}
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name in known}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            subs = {f"{base}.{a.name}" for a in node.names} & known
            # "from pkg import submodule" depends on the submodule; "from pkg import name" on pkg
            out |= subs if len(subs) == len(node.names) else ({base} & known) | subs
    out.discard(name)
    return out


def graph() -> dict[str, set[str]]:
    found = modules()
    return {name: imports(name, path, set(found)) for name, path in found.items()}


def cycles(g: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(g[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(g):
        if v not in index:
            visit(v)
    return out


def test_the_package_has_no_import_cycles():
    assert cycles(graph()) == []


def test_the_cycle_finder_finds_one():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_imports_point_down_the_layers():
    g = graph()
    wrong = sorted(
        (module, target) for module, targets in g.items() for layer, forbidden in LAYERS
        if module == layer or module.startswith(layer + ".")
        for target in targets if any(target == f or target.startswith(f) for f in forbidden)
        and not (layer in ("adaptive.serving", "adaptive.errors") and target in ("adaptive",))
    )
    assert wrong == []


def test_only_the_gate_decides_on_fast_paths():
    """Outside ``_fastpaths`` nothing calls a fast path's ``supports()`` or the version check:
    the modelling and acquisition code ask the gate, or use what it chose."""
    outside = []
    for name, path in modules().items():
        if name.startswith("adaptive._fastpaths"):
            continue
        text = path.read_text()
        if ".supports(" in text or "_fastpaths.verified" in text:
            outside.append(name)
    assert outside == []


def test_only_storage_touches_the_orm_rows():
    """Every read and write of the tables goes through ``storage/`` (repository, decisions, locks)."""
    g = graph()
    outside = sorted(m for m, targets in g.items() if "adaptive.storage.models" in targets and not m.startswith("adaptive.storage"))
    assert outside == []
