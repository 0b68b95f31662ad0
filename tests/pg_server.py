"""A PostgreSQL server for the tests, found or started once per test session.

In order: ``EDOC_TEST_POSTGRES_DSN`` (a server you run, any database the user
may CREATE DATABASE in); a server answering on 127.0.0.1:5432 as user postgres;
a throwaway server made with ``initdb``/``pg_ctl`` in a temporary folder (as the
``postgres`` user when the tests run as root, which PostgreSQL refuses to run as).
Each session works in a database of its own with a random name, dropped at the end.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from tests.ports import free_port

T = TypeVar("T")

DSN_ENV = "EDOC_TEST_POSTGRES_DSN"
LOCAL_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"


def with_database(dsn: str, database: str) -> str:
    """The same server and user, another database."""
    base, _, query = dsn.partition("?")
    root = base.rsplit("/", 1)[0] if base.count("/") > 2 else base
    return f"{root}/{database}" + (f"?{query}" if query else "")


async def _reachable(dsn: str) -> str | None:
    import asyncpg

    try:
        conn = await asyncpg.connect(dsn, timeout=3)
    except Exception as exc:  # any failure means: not this one
        return f"{type(exc).__name__}: {exc}"
    await conn.close()
    return None


def run_sync(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine to the end on a thread of its own (callers may be inside a loop)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(make())).result()


def _pg_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    for folder in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (folder / name).is_file():
            return str(folder / name)
    return None


@contextlib.contextmanager
def _throwaway_server() -> Iterator[str]:
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if initdb is None or pg_ctl is None:
        raise RuntimeError("initdb/pg_ctl not found (install postgresql)")
    folder = Path(tempfile.mkdtemp(prefix="edoc-pg-"))
    prefix: list[str] = []
    if os.geteuid() == 0:  # postgres will not run as root
        shutil.chown(folder, "postgres")
        prefix = ["runuser", "-u", "postgres", "--"]
    data, port = folder / "data", free_port()
    try:
        subprocess.run(
            [*prefix, initdb, "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8"],
            check=True,
            capture_output=True,
        )
        options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        subprocess.run(
            [
                *prefix,
                pg_ctl,
                "-D",
                str(data),
                "-o",
                options,
                "-w",
                "-l",
                str(folder / "log"),
                "start",
            ],
            check=True,
            capture_output=True,
        )
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            [*prefix, pg_ctl, "-D", str(data), "-m", "immediate", "stop"], capture_output=True
        )
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def postgres_server() -> Iterator[tuple[str | None, str]]:
    """(admin DSN or None, how it was found or why there is none)."""
    try:
        import asyncpg  # noqa: F401
    except ImportError:
        yield None, "asyncpg is not installed (pip install -e '.[postgres]')"
        return
    explicit = os.environ.get(DSN_ENV)
    if explicit:
        failure = run_sync(lambda: _reachable(explicit))
        yield (None, f"{DSN_ENV} is set but {failure}") if failure else (explicit, DSN_ENV)
        return
    if run_sync(lambda: _reachable(LOCAL_DSN)) is None:
        yield LOCAL_DSN, "the local server on 127.0.0.1:5432"
        return
    with contextlib.ExitStack() as stack:
        try:
            dsn = stack.enter_context(_throwaway_server())
        except (RuntimeError, OSError, subprocess.CalledProcessError) as exc:
            detail = getattr(exc, "stderr", b"") or b""
            yield (
                None,
                f"no PostgreSQL: {DSN_ENV} unset, none on 127.0.0.1:5432, and {exc} {detail!r}",
            )
            return
        yield dsn, "a throwaway server"


async def create_database(admin_dsn: str) -> str:
    """A new empty database with a random name; its DSN."""
    import asyncpg

    name = f"edoc_test_{secrets.token_hex(6)}"
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return with_database(admin_dsn, name)


async def drop_database(admin_dsn: str, dsn: str) -> None:
    import asyncpg

    name = dsn.partition("?")[0].rsplit("/", 1)[1]
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()
