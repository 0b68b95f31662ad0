"""`edoc-axis bench`: the load benchmark (see edoc_axis/bench and docs/performance.md)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from edoc_axis.cli.common import EXIT_OK, EXIT_USAGE, CliFailure, HelpFormatter


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"{value} is not a positive number")
    return number


def cmd_bench(args: argparse.Namespace) -> int:
    from edoc_axis.bench.phases import PhaseFailed
    from edoc_axis.bench.report import render, write_json
    from edoc_axis.bench.run import BenchOptions, run_bench

    if args.scale < 0 or args.large_mb < 0:
        raise CliFailure("--scale and --large-mb cannot be negative", EXIT_USAGE)
    if args.store == "postgresql":
        return _bench_nodes(args)
    if args.nodes is not None:
        raise CliFailure("--nodes needs --store postgresql (nodes share one database)", EXIT_USAGE)
    options = BenchOptions(
        docs=args.docs,
        concurrency=args.concurrency,
        size=args.size,
        key_type=args.key_type,
        scale=args.scale,
        large_mb=args.large_mb,
        processes=args.processes,
        folder=Path(args.dir) if args.dir else None,
        keep=bool(args.dir),
    )
    try:
        report = run_bench(options)
    except PhaseFailed as failed:
        raise CliFailure(str(failed)) from failed
    print(render(report))
    if args.json:
        write_json(report, Path(args.json))
    return EXIT_OK


def _node_counts(value: str) -> tuple[int, ...]:
    try:
        counts = tuple(int(part) for part in value.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a list like 1,2,3") from None
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError(f"{value!r}: node counts are positive")
    return counts


def _bench_nodes(args: argparse.Namespace) -> int:
    import os

    from edoc_axis.bench.nodes import NodesOptions, render_nodes, run_nodes_bench
    from edoc_axis.bench.report import write_json

    dsn = args.dsn or os.environ.get("EDOC_AXIS_DSN")
    if not dsn:
        raise CliFailure("--store postgresql needs --dsn (or EDOC_AXIS_DSN)", EXIT_USAGE)
    if args.scale or args.large_mb or args.processes != 1:
        raise CliFailure("--scale, --large-mb and --processes are for the SQLite bench", EXIT_USAGE)
    options = NodesOptions(
        dsn=dsn,
        nodes=args.nodes or (1,),
        docs=args.docs,
        concurrency=args.concurrency,
        size=args.size,
        key_type=args.key_type,
        folder=Path(args.dir) if args.dir else None,
        keep=bool(args.dir),
    )
    report = run_nodes_bench(options)
    print(render_nodes(report))
    if args.json:
        write_json(report, Path(args.json))
    return EXIT_OK


def add_commands(commands: Any) -> None:
    bench = commands.add_parser(
        "bench",
        help="the load benchmark: documents/s, latency, memory, ratio to the bare ceiling",
        formatter_class=HelpFormatter,
        description="Start an axis and the reference push endpoint on a fresh home in a "
        "temporary folder, register a sender, a pull and a push recipient, pre-sign the "
        "documents, then drive them with concurrent clients from this process: first "
        "against the bare ceiling (HTTP + parse + signature check only), then against the "
        "axis at full rate and at half that rate, while the pull recipient drains and acks "
        "and the endpoint takes pushes. Prints a table; --json writes every figure. "
        "The defaults take about a minute.",
        epilog="examples:\n  edoc-axis bench\n  edoc-axis bench --docs 20000 --json bench.json\n"
        "  edoc-axis bench --scale 100000\n  edoc-axis bench --large-mb 50 --docs 1000\n"
        "  edoc-axis bench --store postgresql --nodes 1,2,3 --dsn postgresql://postgres@db/postgres",
    )
    bench.add_argument("--docs", type=_positive, default=4000, help="documents per run (4000)")
    bench.add_argument("--concurrency", type=_positive, default=32, help="clients (32)")
    bench.add_argument("--size", type=_positive, default=10 * 1024, help="bytes per doc (10240)")
    bench.add_argument("--key-type", choices=("rsa", "ec"), default="rsa",
                       help="senders' keys: RSA-2048 (default) or ECDSA P-256")  # fmt: skip
    bench.add_argument("--scale", type=int, default=0, metavar="N",
                       help="also preload N documents; intake rate against empty")  # fmt: skip
    bench.add_argument("--large-mb", type=int, default=0, metavar="MB",
                       help="also send one document of MB MiB (and several at once)")  # fmt: skip
    bench.add_argument("--processes", type=_positive, default=1,
                       help="axis processes (serve --processes N; ceiling: one)")  # fmt: skip
    bench.add_argument("--store", choices=("sqlite", "postgresql"), default="sqlite",
                       help="sqlite (default) or postgresql: several nodes on one "
                       "database, a fresh database per node count (no ceiling phase)")  # fmt: skip
    bench.add_argument("--nodes", type=_node_counts, metavar="N,N,...",
                       help="with --store postgresql: node counts to measure (1)")  # fmt: skip
    bench.add_argument("--dsn", help="with --store postgresql: the server (a DSN of any "
                       "database; the user may CREATE DATABASE; env EDOC_AXIS_DSN)")  # fmt: skip
    bench.add_argument("--json", metavar="FILE", help="write the full report as JSON")
    bench.add_argument("--dir", help="keep the run's home and logs here (default: temporary)")
    bench.set_defaults(func=cmd_bench)
