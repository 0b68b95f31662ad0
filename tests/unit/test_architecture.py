"""The layers of docs/DESIGN.md, enforced: which part of the package may import which.

Every module or subpackage directly under ``edoc_axis/`` is a *unit*; ``ALLOWED`` names
the units each may import. A new unit, or a new import between units, fails here until
it is placed in the design on purpose. The planted-violation tests show the checker
sees each sideways import the layering exists to prevent.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "edoc_axis"

# The pure core: the edXML model, the signature, the rules. No I/O, no files.
PURE = frozenset({"edxml", "signature", "core"})
# Leaf helpers every layer may use; they import only the pure core and each other.
SUPPORT = frozenset(
    {"errors", "clock", "config", "files", "logs", "tls", "system_secrets", "outgoing", "processes"}
)
BASE = PURE | SUPPORT

ALLOWED: Mapping[str, frozenset[str]] = {
    "errors": frozenset(),
    "edxml": frozenset({"errors"}),
    "signature": frozenset({"errors"}),
    "core": frozenset({"edxml", "signature", "errors"}),
    **{name: frozenset() for name in SUPPORT - {"errors"}},
    # Reading keys, certificates and CRLs from files: outside the core, beside it.
    "keyfiles": frozenset({"signature"}),
    "trust_files": frozenset({"keyfiles", "signature"}),
    # problem+json, shared by the axis's server and an agency's endpoint.
    "problems": frozenset({"errors"}),
    # Terminal output shared by cli, bench and demo.
    "terminal": frozenset({"clock", "edxml"}),
    # HTTP clients of the two dialects (agency side; an axis also uses the native
    # one to call its peer axes).
    "client": frozenset({"outgoing"}),
    "vdxp_client": frozenset({"outgoing"}),
    "store": BASE,
    "service": BASE | {"store"},
    # Adapters: they call the service layer and never each other.
    "server": BASE | {"store", "service", "problems", "keyfiles", "trust_files", "client"},
    "delivery": BASE | {"store"},
    "endpoint": BASE | {"client", "problems"},
    # Composition: the one wiring point of the axis, and the process around it.
    "app": BASE | {"store", "service", "server", "delivery"},
    "runtime": BASE | {"store", "app", "server"},
    # The development CA and the development home; never on the production path.
    "pki": frozenset({"files", "keyfiles"}),
    "home": BASE | {"pki"},
    # Programs.
    "conformance": BASE | {"store", "client", "vdxp_client", "pki"},
    "bench": BASE | {"store", "home", "pki", "terminal", "client"},
    "demo": BASE | {"store", "client", "endpoint", "home", "pki", "runtime", "terminal"},
    "demo_federation": BASE | {"store", "client", "home", "pki", "runtime", "terminal", "demo"},
    "cli": BASE
    | {"store", "service", "client", "endpoint", "keyfiles", "pki", "home", "terminal"}
    | {"runtime", "conformance", "bench", "demo", "demo_federation"},
    "__init__": frozenset(),
}

# Nothing in the pure core may do I/O: these modules are refused there.
IO_MODULES = (
    "aiohttp",
    "aiosqlite",
    "asyncpg",
    "asyncio",
    "socket",
    "sqlite3",
    "os",
    "pathlib",
    "shutil",
    "tempfile",
    "glob",
)


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            if node.module == "edoc_axis":  # from edoc_axis import service
                names.update(
                    f"edoc_axis.{alias.name}"
                    for alias in node.names
                    if not alias.name.startswith("__")  # __version__
                )
    return names


def calls_open(path: Path) -> bool:
    """Whether the module calls the builtin ``open`` (reading or writing a file)."""
    return any(
        isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "open"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
    )


def unit_of(package: Path, path: Path) -> str:
    return path.relative_to(package).parts[0].removesuffix(".py")


def _modules(package: Path) -> Iterator[tuple[str, Path]]:
    for path in sorted(package.rglob("*.py")):
        yield unit_of(package, path), path


def layer_violations(package: Path, allowed: Mapping[str, frozenset[str]]) -> list[str]:
    """Each import of one unit by another that ``allowed`` does not permit."""
    found = []
    for unit, path in _modules(package):
        if unit not in allowed:
            found.append(f"{unit}: a unit the design does not place (add it to ALLOWED)")
            continue
        for name in sorted(imported_modules(path)):
            parts = name.split(".")
            if parts[0] != package.name or len(parts) < 2 or parts[1] == "__init__":
                continue
            target = parts[1]
            if target != unit and target not in allowed[unit]:
                found.append(f"{path.relative_to(package)} imports {name}")
    return sorted(set(found))


def core_io(package: Path) -> list[str]:
    """Pure-core modules that import an I/O module or open a file."""
    found = []
    for unit, path in _modules(package):
        if unit not in PURE:
            continue
        where = path.relative_to(package)
        found += [
            f"{where} imports {name}"
            for name in sorted(imported_modules(path))
            if any(name == bad or name.startswith(bad + ".") for bad in IO_MODULES)
        ]
        if calls_open(path):
            found.append(f"{where} opens a file")
    return found


def test_the_package_keeps_its_layers() -> None:
    assert layer_violations(PACKAGE, ALLOWED) == []


def test_the_pure_core_does_no_io_and_reads_no_files() -> None:
    assert core_io(PACKAGE) == []


def test_every_unit_in_the_design_exists() -> None:
    """A unit removed from the package leaves the design too (no stale rules)."""
    present = {unit for unit, _ in _modules(PACKAGE)}
    assert set(ALLOWED) - present == set()


# Planted violations: the sideways imports this layering was drawn to end (issue #14).
SIDEWAYS = {
    "bench/run.py": "from edoc_axis.cli.common import Progress\n",
    "demo.py": "from edoc_axis.cli.edoc_pull import print_trace\n",
    "cli/axis_registry.py": "from edoc_axis.server.admin import agency_json\n",
    "server/context.py": "from edoc_axis.pki import load_certs\n",
    "signature/certificates.py": "from edoc_axis.pki import load_certs\n",
    "service/intake.py": "from edoc_axis.server.context import SERVICES\n",
    "store/sqlite.py": "from edoc_axis.service import intake\n",
    "delivery/push.py": "import edoc_axis.server.inbox\n",
    "endpoint/app.py": "from edoc_axis.store import Store\n",
    "core/routing.py": "from edoc_axis.keyfiles import load_certs\n",
}


def _plant(tmp_path: Path, files: Mapping[str, str]) -> Path:
    package = tmp_path / "edoc_axis"
    for relative, text in files.items():
        path = package / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return package


@pytest.mark.parametrize(("where", "source"), SIDEWAYS.items(), ids=list(SIDEWAYS))
def test_the_layer_check_refuses_a_planted_sideways_import(
    tmp_path: Path, where: str, source: str
) -> None:
    package = _plant(tmp_path, {where: source})
    imported = source.split()[1]
    assert layer_violations(package, ALLOWED) == [f"{where} imports {imported}"]


def test_the_layer_check_refuses_an_unplaced_unit(tmp_path: Path) -> None:
    package = _plant(tmp_path, {"gateway.py": "import json\n"})
    assert layer_violations(package, ALLOWED) == [
        "gateway: a unit the design does not place (add it to ALLOWED)"
    ]


def test_the_layer_check_allows_what_the_design_allows(tmp_path: Path) -> None:
    package = _plant(
        tmp_path,
        {
            "server/intake.py": "from edoc_axis.service.intake import accept_document\n",
            "cli/axis.py": "from edoc_axis.runtime import AxisRuntime\n",
            "bench/run.py": "from edoc_axis.terminal import Progress\n",
        },
    )
    assert layer_violations(package, ALLOWED) == []


@pytest.mark.parametrize(
    "source",
    [
        "import os\n",
        "from pathlib import Path\n",
        "import asyncio\n",
        "def read(name):\n    with open(name, 'rb') as f:\n        return f.read()\n",
    ],
)
def test_the_core_io_check_refuses_file_and_io_access(tmp_path: Path, source: str) -> None:
    package = _plant(tmp_path, {"signature/certificates.py": source})
    assert len(core_io(package)) == 1


def test_the_core_io_check_allows_reading_bytes_in_memory(tmp_path: Path) -> None:
    source = "import io, zipfile\nzipfile.ZipFile(io.BytesIO(b'')).open('x')\n"
    package = _plant(tmp_path, {"edxml/attachments.py": source})
    assert core_io(package) == []
