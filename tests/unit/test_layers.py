"""The layers import downwards only: `shared` (the kernel) imports no service, gateway or
operator code; a service imports the kernel and itself, no other service and no gateway; the
gateway imports the kernel, no service. `ops` (the operator command) sits above them all.
Every import is read from the source (ast), those inside functions and under TYPE_CHECKING too."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TOP = ("shared", "services", "gateway", "ops")


def imports(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in one file; relative ones resolved."""
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    if path.name != "__init__.py":
        package = package.rpartition(".")[0]
    out: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parent = ".".join(parts[:len(parts) - node.level + 1])
                base = f"{parent}.{base}" if base else parent
            names = [f"{base}.{a.name}" for a in node.names] if not node.module else [base]
            out += [(node.lineno, n) for n in names]
    return out


def layer_of(module: str) -> tuple[str, str | None] | None:
    """('services', 'cases') for services.cases…, ('shared', None) for shared…; None outside."""
    parts = module.split(".")
    if parts[0] not in TOP:
        return None
    return parts[0], (parts[1] if parts[0] == "services" and len(parts) > 1 else None)


def forbidden(importer: tuple[str, str | None], imported: tuple[str, str | None]) -> bool:
    top, service = importer
    to_top, to_service = imported
    if top == "shared":
        return to_top != "shared"
    if top == "services":
        return to_top in ("gateway", "ops") or (to_top == "services" and to_service not in (service, None))
    if top == "gateway":
        return to_top in ("services", "ops")
    return False  # ops: the top layer


# Imports across the layers allowed for now, each to go; none are left (the territory's `Level` and
# the figures' definitions live in shared/vocabulary). A new one fails the test, and so does a
# listed one once it is gone (so that this list only shrinks).
KNOWN: set[tuple[str, str]] = set()


def violations(top: str) -> list[tuple[str, str]]:
    found = []
    for path in sorted((ROOT / top).rglob("*.py")):
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        importer = layer_of(module)
        assert importer is not None
        for line, name in imports(path):
            imported = layer_of(name)
            if imported is not None and forbidden(importer, imported):
                found.append((f"{path.relative_to(ROOT)}:{line}", name))
    return found


@pytest.mark.parametrize("top", ["shared", "services", "gateway"])
def test_imports_go_down_the_layers(top):
    found = violations(top)
    new = [f"{where} imports {name}" for where, name in found if (where.split(":")[0], name) not in KNOWN]
    assert new == [], "imports up the layers (or across services)"
    known_here = {k for k in KNOWN if k[0].startswith(f"{top}/")}
    gone = known_here - {(where.split(":")[0], name) for where, name in found}
    assert not gone, f"no longer imported; take them out of KNOWN: {sorted(gone)}"


def test_the_walk_sees_what_it_must_refuse(tmp_path):
    """The rule and the walk refuse what they must (so the test above can fail)."""
    assert forbidden(("shared", None), ("services", "cases"))
    assert forbidden(("services", "cases"), ("services", "volunteers"))
    assert forbidden(("services", "cases"), ("gateway", None))
    assert forbidden(("gateway", None), ("services", "grids"))
    assert not forbidden(("services", "cases"), ("services", "cases"))
    assert not forbidden(("services", "cases"), ("shared", None))
    assert not forbidden(("ops", None), ("services", "cases"))
    names = [n for _, n in imports(ROOT / "ops" / "cli" / "seed.py")]
    assert any(n.startswith("services.cases") for n in names)  # inside a function too
    relative = [n for _, n in imports(ROOT / "services" / "cases" / "domain" / "rollups.py")]
    assert "services.cases.domain.enums" in relative
