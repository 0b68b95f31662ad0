"""The SQLite readers (aiosqlite connections): read-only, shared in turn, closed cleanly."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

import pytest

from edoc_axis.errors import Unavailable
from edoc_axis.store import SqliteStore
from edoc_axis.store.sqlite_readers import ReaderPool, select_one
from tests.integration.store.conftest import SENDER, register
from tests.waiting import eventually


async def _pool(tmp_path: Path, size: int) -> ReaderPool:
    async with SqliteStore(tmp_path / "axis.sqlite") as store:  # creates the schema
        await register(store, SENDER)
    pool = ReaderPool(tmp_path / "axis.sqlite", busy_timeout_s=5.0, threads=size)
    await pool.start()
    return pool


def _write(conn: sqlite3.Connection) -> None:
    conn.execute("DELETE FROM agencies")


def _count_agencies(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT count(*) FROM agencies").fetchone()[0])


async def test_a_reader_refuses_to_write(tmp_path: Path) -> None:
    pool = await _pool(tmp_path, 1)
    try:
        with pytest.raises(Unavailable, match="could not read"):
            await pool.run(_write)
        assert await pool.run(_count_agencies) == 1
    finally:
        await pool.stop()


async def test_reads_beyond_the_readers_wait_their_turn(tmp_path: Path) -> None:
    pool = await _pool(tmp_path, 2)
    gate = threading.Event()
    running: list[str] = []

    def held(conn: sqlite3.Connection) -> str:
        running.append(threading.current_thread().name)
        gate.wait(5)
        return threading.current_thread().name

    try:
        tasks = [asyncio.create_task(pool.run(held)) for _ in range(3)]
        await eventually(lambda: len(running) == 2, what="both readers busy")  # the third queued
        await asyncio.sleep(0.05)
        assert len(running) == 2
        gate.set()
        threads = await asyncio.gather(*tasks)
        assert len(set(threads)) == 2  # two connections, each on its own thread
        assert threading.current_thread().name not in threads
    finally:
        gate.set()
        await pool.stop()


async def test_no_reads_before_start_or_after_stop(tmp_path: Path) -> None:
    pool = ReaderPool(tmp_path / "none.sqlite", busy_timeout_s=1.0)
    with pytest.raises(Unavailable, match="not open"):
        await pool.run(select_one)
    pool = await _pool(tmp_path, 1)
    assert await pool.run(select_one) == 1
    await pool.stop()
    with pytest.raises(Unavailable, match="not open"):
        await pool.run(select_one)
