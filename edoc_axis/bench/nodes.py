"""`edoc-axis bench --store postgresql --nodes 1,2,3`: several nodes on one PostgreSQL.

For each node count: a fresh database on the server named by the DSN, that
many `serve` processes on it, the same signed documents driven at full rate
(clients spread over the nodes as a load balancer would) while the pull
recipient drains and the endpoint takes pushes. Measured per count: intake and
delivery rates, latency, axis CPU per document (so documents/s per node core),
and on the database side the CPU its sessions for this database used per
document (read from /proc, so only when the server runs on this machine; the
server's background writers are not counted) and the bytes its tables take
per document (indexes and TOAST included).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg

from edoc_axis.bench.phases import axis_phase, latency_ms
from edoc_axis.bench.processes import process_cpu_seconds
from edoc_axis.bench.rig import Rig, new_rig
from edoc_axis.bench.workload import signed_documents
from edoc_axis.pki.authority import KeyType
from edoc_axis.store.postgresql import PostgresStore, redact_dsn
from edoc_axis.terminal import Progress

_TABLE_BYTES = """
SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0) FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = current_schema() AND c.relkind = 'r'"""


@dataclass(frozen=True)
class NodesOptions:
    dsn: str  # any database on the server; each run makes and drops its own
    nodes: tuple[int, ...] = (1, 2, 3)
    docs: int = 4000
    concurrency: int = 32
    size: int = 10 * 1024
    key_type: KeyType = "rsa"
    folder: Path | None = None
    keep: bool = False


def _with_database(dsn: str, database: str) -> str:
    base, _, query = dsn.partition("?")
    root = base.rsplit("/", 1)[0] if base.count("/") > 2 else base
    return f"{root}/{database}" + (f"?{query}" if query else "")


class DatabaseCpu:
    """CPU of the server processes serving one database's sessions (local server only)."""

    def __init__(self, admin: asyncpg.Connection, database: str) -> None:
        self._admin, self._database = admin, database
        self._start: dict[int, float] = {}

    async def _pids(self) -> list[int]:
        rows = await self._admin.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = $1", self._database
        )
        return [int(row[0]) for row in rows]

    @staticmethod
    def local(pid: int) -> bool:
        return os.path.exists(f"/proc/{pid}/stat")

    async def start(self) -> None:
        self._start = {pid: process_cpu_seconds(pid) for pid in await self._pids()}

    async def seconds(self) -> float | None:
        pids = await self._pids()
        if not pids or not all(self.local(pid) for pid in pids):
            return None
        return sum(process_cpu_seconds(pid) - self._start.get(pid, 0.0) for pid in pids)


async def _one_count(
    rig: Rig, work: list[bytes], options: NodesOptions, count: int
) -> dict[str, Any]:
    name = f"edoc_bench_{secrets.token_hex(5)}"
    admin = await asyncpg.connect(options.dsn)
    await admin.execute(f'CREATE DATABASE "{name}"')
    dsn = _with_database(options.dsn, name)
    try:
        _point_config_at(rig.config, dsn, count)
        await PostgresStore(dsn, listen=False).migrate()
        rig.nodes = count
        rig.start_processes()
        await rig.register()
        cpu = DatabaseCpu(admin, name)
        await cpu.start()
        progress = Progress(len(work), f"{count} node(s)")
        phase = await axis_phase(rig, work, options.concurrency, on_done=progress.advance)
        progress.close()
        db_cpu_s = await cpu.seconds()
        assert rig.axis is not None
        peak_rss = rig.axis.peak_rss_bytes()
        rig.stop_axis()
        conn = await asyncpg.connect(dsn)
        try:
            table_bytes = int(await conn.fetchval(_TABLE_BYTES))
            audit_entries = int(await conn.fetchval("SELECT seq FROM audit_head"))
        finally:
            await conn.close()
    finally:
        rig.stop_axis()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
    summary = phase.summary()
    accepted = max(phase.intake.accepted, 1)
    axis_ms = summary["axis_cpu_ms_per_document"]
    return {
        "nodes": count,
        **summary,
        "latency_ms": latency_ms(phase.intake),
        "docs_per_s_per_node_core": round(1000 / axis_ms, 1) if axis_ms else None,
        "axis_peak_rss_bytes": peak_rss,
        "db_cpu_ms_per_document": None
        if db_cpu_s is None
        else round(1000 * db_cpu_s / accepted, 3),
        "db_bytes_per_document": round(table_bytes / accepted),
        "audit_entries_per_document": round(audit_entries / accepted, 2),
    }


async def audit_ceiling(admin_dsn: str, seconds: float = 3.0, pools: int = 3) -> float:
    """Audited write transactions per second the database takes from several nodes.

    Every write verb ends by taking the row lock on the audit chain's head and
    holds it through COMMIT, so these transactions are serialised: this rate
    (for the smallest one, a bare audit event) bounds every node's writes together.
    """
    name = f"edoc_bench_{secrets.token_hex(5)}"
    admin = await asyncpg.connect(admin_dsn)
    await admin.execute(f'CREATE DATABASE "{name}"')
    dsn = _with_database(admin_dsn, name)
    stores = [
        PostgresStore(dsn, migrate=i == 0, listen=False, min_size=8, max_size=8)
        for i in range(pools)
    ]
    try:
        for store in stores:
            await store.open()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        done = 0

        async def writer(store: PostgresStore) -> None:
            nonlocal done
            while loop.time() < deadline:
                await store.append_audit("bench.append", datetime.now(UTC))
                done += 1

        started = loop.time()
        await asyncio.gather(*(writer(store) for store in stores for _ in range(8)))
        rate = done / (loop.time() - started)
        if not (await stores[0].verify_audit()).ok:
            raise RuntimeError("the audit chain broke under concurrent writers")
        return rate
    finally:
        for store in stores:
            await store.close()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def _point_config_at(config: Path, dsn: str, count: int) -> None:
    """The run's axis.toml on PostgreSQL: backend, DSN, a pool that fits N nodes."""
    lines = [
        line
        for line in config.read_text(encoding="utf-8").splitlines()
        if not line.startswith(("backend = ", "dsn = ", "pool_min_size = ", "pool_max_size = "))
    ]
    at = lines.index("[store]") + 1
    lines[at:at] = [
        'backend = "postgresql"',
        f'dsn = "{dsn}"',
        "pool_min_size = 2",
        f"pool_max_size = {max(4, 24 // count)}",
    ]
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")


def run_nodes_bench(options: NodesOptions) -> dict[str, Any]:
    folder = options.folder or Path(tempfile.mkdtemp(prefix="edoc-axis-bench-nodes-"))
    folder.mkdir(parents=True, exist_ok=True)
    rig = new_rig(folder, options.key_type)
    try:
        progress = Progress(options.docs, "signing documents")
        work = signed_documents(
            rig.sender(), rig.recipients(), options.docs, options.size, tag="nodes",
            progress=progress.advance,
        )  # fmt: skip
        progress.close()
        runs = [asyncio.run(_one_count(rig, work, options, n)) for n in options.nodes]
    finally:
        rig.stop()
    ceiling = asyncio.run(audit_ceiling(options.dsn))
    report = {
        "store": "postgresql",
        "server": redact_dsn(options.dsn),
        "runs": runs,
        "audit_ceiling_per_s": round(ceiling, 1),
        "settings": {
            "documents": options.docs,
            "concurrency": options.concurrency,
            "size_bytes": len(work[0]) if work else options.size,
            "key_type": options.key_type,
            "cpus": os.cpu_count(),
            "folder": str(folder) if options.keep else None,
        },
    }
    if not options.keep and options.folder is None:
        shutil.rmtree(folder, ignore_errors=True)
    return report


def render_nodes(report: dict[str, Any]) -> str:
    s = report["settings"]
    head = (
        f"{s['documents']} docs of {s['size_bytes']} B, {s['key_type'].upper()}, "
        f"{s['concurrency']} clients, PostgreSQL at {report['server']}, {s['cpus']} CPUs"
    )
    columns: list[tuple[str, Callable[[dict[str, Any]], str]]] = [
        ("nodes", lambda r: str(r["nodes"])),
        ("intake/s", lambda r: f"{r['accepted_per_s']:.0f}"),
        ("delivered/s", lambda r: f"{r['delivered_per_s']:.0f}"),
        ("p50/p95/p99 ms", lambda r: "{p50:.0f}/{p95:.0f}/{p99:.0f}".format(**r["latency_ms"])),
        ("axis CPU ms/doc", lambda r: f"{r['axis_cpu_ms_per_document']:.2f}"),
        ("docs/s per node core", lambda r: str(r["docs_per_s_per_node_core"])),
        ("DB CPU ms/doc", lambda r: "n/a" if r["db_cpu_ms_per_document"] is None
         else f"{r['db_cpu_ms_per_document']:.2f}"),
        ("DB KiB/doc", lambda r: f"{r['db_bytes_per_document'] / 1024:.1f}"),
        ("drained", lambda r: "yes" if r["drained"] else "NO"),
        ("errors", lambda r: ", ".join(f"{k}: {v}" for k, v in r["errors"].items()) or "none"),
    ]  # fmt: skip
    table = [[name for name, _ in columns]]
    table += [[cell(run) for _, cell in columns] for run in report["runs"]]
    widths = [max(len(row[i]) for row in table) for i in range(len(columns))]
    lines = ["  ".join(v.rjust(w) for v, w in zip(row, widths, strict=True)) for row in table]
    per_doc = max(run["audit_entries_per_document"] for run in report["runs"])
    ceiling = report["audit_ceiling_per_s"]
    tail = (
        f"audit chain: {ceiling:.0f} audited writes/s from 3 nodes' pools at most "
        f"(serialised on its head); {per_doc:.1f} per document here, so the chain alone "
        f"stops the database at about {ceiling / max(per_doc, 1e-9):.0f} docs/s"
    )
    return "\n".join([head, *lines, tail])
