"""The pure core must not import I/O adapters; server and delivery stay apart."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "edoc_axis"
PURE = ("edxml", "signature", "core")
IO_MODULES = (
    "aiohttp",
    "aiosqlite",
    "asyncpg",
    "asyncio",
    "socket",
    "sqlite3",
    "edoc_axis.store",
    "edoc_axis.server",
    "edoc_axis.delivery",
    "edoc_axis.cli",
    "edoc_axis.client",
)


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _files(folder: str) -> list[Path]:
    return sorted((PACKAGE / folder).rglob("*.py"))


@pytest.mark.parametrize("folder", PURE)
def test_pure_core_imports_no_io(folder: str) -> None:
    offenders = {
        f"{path.relative_to(PACKAGE)} imports {name}"
        for path in _files(folder)
        for name in imported_modules(path)
        if any(name == bad or name.startswith(bad + ".") for bad in IO_MODULES)
    }
    assert not offenders, sorted(offenders)


@pytest.mark.parametrize(("folder", "forbidden"), [("server", "delivery"), ("delivery", "server")])
def test_server_and_delivery_never_import_each_other(folder: str, forbidden: str) -> None:
    target = f"edoc_axis.{forbidden}"
    offenders = [
        str(path.relative_to(PACKAGE))
        for path in _files(folder)
        if any(name == target or name.startswith(target + ".") for name in imported_modules(path))
    ]
    assert not offenders


def test_the_boundary_check_sees_a_violation(tmp_path: Path) -> None:
    sample = tmp_path / "bad.py"
    sample.write_text("import aiohttp\nfrom edoc_axis.store import Store\n", encoding="utf-8")
    assert {"aiohttp", "edoc_axis.store"} <= imported_modules(sample)
