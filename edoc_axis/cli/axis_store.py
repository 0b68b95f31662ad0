"""`edoc-axis migrate` and `edoc-axis store copy`: the store's schema and moving it."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from edoc_axis.cli.axis_server import config_from, operator_command
from edoc_axis.cli.common import EXIT_OK, EXIT_REFUSED, CliFailure, HelpFormatter, print_json
from edoc_axis.store.factory import make_store
from edoc_axis.store.migrate import bundled_migrations


def cmd_migrate(args: argparse.Namespace) -> int:
    config = config_from(args)
    store = make_store(config, migrate=True)
    applied = asyncio.run(store.migrate())
    dialect = "postgresql" if config.store_backend == "postgresql" else "sqlite"
    names = {m.version: f"{m.version:04d}_{m.name}" for m in bundled_migrations(dialect)}
    latest = max(names) if names else 0
    if args.json:
        print_json(
            {"store": store.where, "applied": [names[v] for v in applied], "version": latest}
        )
    elif applied:
        for version in applied:
            print(f"applied {names[version]}")
        print(f"store at {store.where} is now at schema version {latest}")
    else:
        print(f"store at {store.where} is up to date (schema version {latest}); nothing applied")
    return EXIT_OK


def cmd_store_copy(args: argparse.Namespace) -> int:
    from edoc_axis.store.copy import copy_sqlite_to_postgres
    from edoc_axis.store.postgresql import PostgresStore

    config = config_from(args)
    if config.store_backend != "sqlite":
        raise CliFailure("store copy reads a SQLite store: the config's backend is not sqlite", 2)
    target = PostgresStore(args.to, migrate=False, listen=False, min_size=1, max_size=2)

    def progress(table: str, rows: int) -> None:
        if not args.json:
            print(f"  {table:14} {rows:>10} rows", file=sys.stderr)

    if not args.json:
        print(f"copying {config.store_path} to {target.where}", file=sys.stderr)
    report = asyncio.run(copy_sqlite_to_postgres(config.store_path, target, progress=progress))
    audit = report.audit
    ok = audit is not None and audit.ok
    data: dict[str, Any] = {
        "source": str(config.store_path),
        "target": target.where,
        "rows": report.rows,
        "audit_ok": ok,
        "audit_entries": None if audit is None else audit.entries,
        "audit_first_broken_seq": None if audit is None else audit.first_broken_seq,
    }
    if args.json:
        print_json(data)
    elif ok:
        entries = audit.entries if audit is not None else 0
        print(f"copied; audit chain intact on the target: {entries} entries")
        print('next: set [store] backend = "postgresql" and dsn, then start the nodes')
    else:
        print(f"audit.broken on the target: {audit}")
    return EXIT_OK if ok else EXIT_REFUSED


def add_commands(commands: Any) -> None:
    migrate = operator_command(
        commands,
        "migrate",
        "apply the store's pending schema migrations (SQLite or PostgreSQL) and say which",
        "edoc-axis migrate --config axis.toml",
        cmd_migrate,
        local="migrations run against the store itself (the axis's axis.toml, on its host)",
    )
    migrate.description = (
        "Apply the numbered schema migrations this version of edoc-axis ships and the "
        "store lacks, each in its own transaction, and print what was applied. `serve` "
        "refuses to start on a store whose schema is behind. With several nodes: stop "
        "them (or drain them one by one if the release notes say the migration is "
        "compatible), back the database up, run this once, start the new version."
    )
    migrate.add_argument("--json", action="store_true", help="machine output")

    store = commands.add_parser(
        "store",
        help="move the store between backends",
        formatter_class=HelpFormatter,
        description="Operations on the store as a whole.",
        epilog="example:\n  edoc-axis store copy --config axis.toml "
        "--to postgresql://edoc@db.example/edoc_axis",
    )
    store_sub = store.add_subparsers(dest="store_command", metavar="ACTION", required=True)
    copy = operator_command(
        store_sub,
        "copy",
        "copy a stopped axis's SQLite store into an empty PostgreSQL store, then verify it",
        "edoc-axis store copy --config axis.toml --to postgresql://edoc@db.example/edoc_axis",
        cmd_store_copy,
        local="store copy reads the stopped axis's SQLite file (on its host)",
    )
    copy.description = (
        "Copy documents, receipts, deliveries, statuses, the registry and the audit chain "
        "of the SQLite store named by --config into the PostgreSQL database --to "
        "(migrated here; it must hold no axis data), keeping every id and the exact "
        "bytes, in one transaction. Then walk the audit chain on the target: exit 1 if "
        "it does not verify. Stop the axis first: writes made during the copy are not "
        "copied."
    )
    copy.add_argument("--to", required=True, metavar="DSN", help="the PostgreSQL store's DSN")
    copy.add_argument("--json", action="store_true", help="machine output")
