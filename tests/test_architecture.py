"""The house rules of DESIGN.md that no linter knows, checked on the source: one commit point,
no import circles between modules, ``network`` importing no feature at module level, and the
dependency direction between the features, and modules short enough to read in one sitting."""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("network", "consent", "referrals", "socialmap")
#: DESIGN.md: referrals -> consent -> network, referrals -> socialmap -> network
MAY_IMPORT = {
    "network": {"network"},
    "consent": {"consent", "network"},
    "socialmap": {"socialmap", "network"},
    "referrals": {"referrals", "consent", "socialmap", "network"},
}


def _sources() -> dict[str, Path]:
    modules = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            modules[name.removesuffix(".__init__")] = path
    return modules


MODULES = _sources()


def _project_module(name: str) -> str | None:
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        if ".".join(parts[:end]) in MODULES:
            return ".".join(parts[:end])
    return None


def _module_level_imports(path: Path) -> set[str]:
    """The project modules a module imports when it is imported (its top-level statements,
    including those under a top-level ``if``/``try``), with the packages they sit in."""
    found: set[str] = set()
    tree = ast.parse(path.read_text())
    statements = []
    for node in tree.body:
        statements += list(ast.walk(node)) if isinstance(node, (ast.If, ast.Try)) else [node]
    for node in statements:
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        for name in names:
            module = _project_module(name)
            if module is None:
                continue
            parts = module.split(".")
            found |= {".".join(parts[:end]) for end in range(1, len(parts) + 1)} & MODULES.keys()
    return found


def _graph() -> dict[str, set[str]]:
    graph = defaultdict(set)
    for name, path in MODULES.items():
        graph[name] = _module_level_imports(path) - {name}
    return graph


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
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

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_module_level_import_circles():
    graph = _graph()
    # a package's __init__ importing its own submodules is how packages register themselves
    for name in graph:
        graph[name] = {target for target in graph[name] if not name.startswith(target + ".")}
    assert _circles(graph) == []


def test_features_depend_one_way():
    wrong = sorted((name, target) for name, targets in _graph().items() for target in targets
                   if target.split(".")[0] not in MAY_IMPORT[name.split(".")[0]])
    assert wrong == []


def test_only_the_unit_of_work_commits():
    """Views, services, jobs and commands never commit (DESIGN.md): network.transaction does."""
    commits = re.compile(r"\.commit\(\)")
    sites = [f"{path.relative_to(ROOT)}:{number}" for path in MODULES.values()
             for number, line in enumerate(path.read_text().splitlines(), 1)
             if commits.search(line) and path.name != "transaction.py"]
    assert sites == []


#: a module a newcomer reads in one sitting (issue 17: "keep modules under about 400 lines");
#: the complexity of functions is ruff's C901 in the lint gate
MAX_MODULE_LINES = 400


def test_modules_stay_readable_in_one_sitting():
    long = sorted(f"{path.relative_to(ROOT)}: {lines} lines" for path in MODULES.values()
                  if (lines := len(path.read_text().splitlines())) > MAX_MODULE_LINES)
    assert long == [], "split these along a line of meaning (see the README's Code layout)"
