"""The shape of the code: which package may import which, no import cycle, no long file.

Layers, top to bottom: ``styleenv_cli`` (the command-line application) -> ``agents`` (the
RLMiniStyler agent, baselines, SB3 glue) -> ``styleenv`` (the environment and what it needs).
An arrow may only point down. Imports are read with :mod:`ast` (nothing is imported), at any
depth of a module: an import inside a function counts as much as one at the top.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("styleenv", "agents", "styleenv_cli")

# ``python -m styleenv`` runs the application, which lives above the package: this entry shim is
# the one module of ``styleenv/`` allowed to import it (Python runs it; the package never imports it).
ENTRY_SHIM = "styleenv.__main__"


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    """Every module of the project's packages, by dotted name."""
    return {_module_name(p): p for package in PACKAGES for p in sorted((ROOT / package).rglob("*.py"))}


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """What a module imports, as dotted names: ``import x.y`` gives ``x.y``; ``from x import y``
    gives ``x.y`` where that is a module of the project, else ``x``."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against the module's own package
                package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
                base = ".".join(package[: len(package) - node.level + 1] + ([base] if base else []))
            for alias in node.names:
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base)
    return found


def _graph() -> dict[str, set[str]]:
    """Module -> the project modules it imports, without the edges from a package's ``__init__``
    to its own submodules (re-exports)."""
    modules = _modules()
    graph = {}
    for name, path in modules.items():
        own = name + "." if path.name == "__init__.py" else None
        graph[name] = {
            target for target in _imports(name, path, modules)
            if target in modules and target != name and not (own and target.startswith(own))
        }  # fmt: skip
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str]:
    """One cycle of ``graph`` (first module repeated at the end), or ``[]``."""
    done: set[str] = set()
    path: list[str] = []

    def visit(node: str) -> list[str]:
        path.append(node)
        for nxt in sorted(graph[node]):
            if nxt in path:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in done:
                found = visit(nxt)
                if found:
                    return found
        path.pop()
        done.add(node)
        return []

    for start in sorted(graph):
        if start not in done:
            found = visit(start)
            if found:
                return found
    return []


def _offenders(package: str, forbidden: tuple[str, ...], exempt: tuple[str, ...] = ()) -> list[str]:
    """``"file imports name"`` for every import of ``forbidden`` packages in ``package``."""
    modules = _modules()
    bad = []
    for name, path in modules.items():
        if name.split(".")[0] == package and name not in exempt:
            bad += [f"{path.relative_to(ROOT)} imports {target}" for target in sorted(_imports(name, path, modules))
                    if target.split(".")[0] in forbidden]  # fmt: skip
    return bad


def test_every_package_is_read():
    assert {name.split(".")[0] for name in _modules()} == set(PACKAGES)
    assert ENTRY_SHIM in _modules()


def test_the_environment_imports_neither_the_agents_nor_the_application():
    assert _offenders("styleenv", ("agents", "styleenv_cli"), exempt=(ENTRY_SHIM,)) == []


def test_the_agents_do_not_import_the_application():
    assert _offenders("agents", ("styleenv_cli",)) == []


def test_the_entry_shim_is_imported_by_no_module():
    modules = _modules()
    assert [name for name, path in modules.items() if ENTRY_SHIM in _imports(name, path, modules)] == []


def test_no_import_cycle():
    assert _cycle(_graph()) == []


def test_the_cycle_finder_finds_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycle(graph) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) == []


#: Folders of the checkout that hold no source of the project.
NOT_SOURCE = {"build", "dist", "runs", "outputs", "styleenv-output", "__pycache__"}


def test_no_python_file_is_over_400_lines():
    files = [p for p in ROOT.rglob("*.py")
             if not any(part.startswith(".") or part in NOT_SOURCE or part.endswith(".egg-info")
                        for part in p.relative_to(ROOT).parts)]  # fmt: skip
    assert len(files) > 50
    lines = {str(p.relative_to(ROOT)): len(p.read_text().splitlines()) for p in files}
    assert {name: n for name, n in lines.items() if n > 400} == {}
