"""No import points upward (issue 15, item 4), read from the source, not by importing it.

Layers, from the bottom: the pure rules, the crypto wrappers, the audit log
format and offline verifier, the Python kiosk client; then the server's core
(services, models, database, settings …); the transport shell (Socket.IO
handlers and the Flask extensions they share); the HTTP views; the entry points
(app factory, command line). A module may import its own layer and those below,
never one above — lazy imports inside functions and ``TYPE_CHECKING`` imports
included: they couple the code all the same.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("rules", "crypto", "audit", "kiosk_client", "voting_server")

# (layer name, module name prefixes), bottom first; the first matching prefix wins,
# so the server's shell and views are listed before the core that catches the rest.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("rules", ("rules",)),
    ("crypto", ("crypto",)),
    ("audit", ("audit",)),
    ("kiosk_client", ("kiosk_client",)),
    (
        "entry points",
        ("voting_server.app", "voting_server.wsgi", "voting_server.cli", "voting_server.audit_cli"),
    ),
    ("views", ("voting_server.views",)),
    (
        "sockets",
        ("voting_server.sockets", "voting_server.extensions", "voting_server.staff_cookie"),
    ),
    ("services", ("voting_server",)),
]
ORDER = ["rules", "crypto", "audit", "kiosk_client", "services", "sockets", "views", "entry points"]

# Known exceptions, each to be removed by the change named beside it (none left).
ALLOWED: dict[tuple[str, str], str] = {}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            found[module_name(path)] = path
    return found


MODULES = modules()


def imports(name: str, path: Path) -> Iterator[tuple[int, str]]:
    """(line, imported module) for every import of our packages in the module's source."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            for alias in node.names:
                # ``from voting_server import i18n`` imports the module voting_server.i18n
                submodule = f"{source}.{alias.name}"
                yield node.lineno, submodule if submodule in MODULES else source


def layer_of(name: str) -> str | None:
    for layer, prefixes in LAYERS:
        if any(name == p or name.startswith(p + ".") for p in prefixes):
            return layer
    return None


def internal_imports() -> Iterator[tuple[str, int, str]]:
    for name, path in MODULES.items():
        for line, target in imports(name, path):
            if target.split(".")[0] in PACKAGES:
                yield name, line, target


def test_every_module_is_in_a_layer() -> None:
    assert [name for name in MODULES if layer_of(name) is None] == []
    assert len(MODULES) > 100  # the walk found the code, not an empty tree


def test_no_import_points_upward() -> None:
    upward = []
    for name, line, target in internal_imports():
        lower, higher = layer_of(name), layer_of(target)
        assert lower is not None and higher is not None
        if ORDER.index(higher) > ORDER.index(lower) and (name, target) not in ALLOWED:
            upward.append(
                f"{MODULES[name].relative_to(ROOT)}:{line} ({lower}) imports {target} ({higher})"
            )
    assert sorted(set(upward)) == []


def test_allowed_exceptions_are_still_needed() -> None:
    """An exception whose import is gone must leave the list (it would hide a new one)."""
    seen = {(name, target) for name, _, target in internal_imports()}
    assert [pair for pair in ALLOWED if pair not in seen] == []


def test_services_import_no_web_framework() -> None:
    """No service knows the transport or the reader's language: refusals and form faults
    carry codes and msgids, and the shell (sockets, views) translates them."""
    services = [name for name in MODULES if name.startswith("voting_server.services.")]
    assert (
        "voting_server.services.refusals" in services
        and "voting_server.services.agenda" in services
    )
    for name in services:
        framework = [
            target
            for _, target in imports(name, MODULES[name])
            if target.split(".")[0] in {"flask", "flask_babel", "flask_socketio", "socketio"}
        ]
        assert framework == [], name


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` (node → the nodes it imports), as a path, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)) is not None:
                return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)) is not None:
            return found
    return None


def test_find_cycle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"b"}}) == ["b", "c", "b"]


def test_no_import_cycle_among_audit_modules() -> None:
    """audit/verify.py and audit/parallel.py imported each other; both now take the
    per-line checks from audit/lines.py."""
    graph: dict[str, set[str]] = {name: set() for name in MODULES if name.startswith("audit.")}
    for name, _, target in internal_imports():
        if name in graph and target in graph and target != name:
            graph[name].add(target)
    assert find_cycle(graph) is None
