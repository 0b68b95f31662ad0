"""`edoc-axis init` and `edoc-axis serve`."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import signal
import socket
import sqlite3
from pathlib import Path
from typing import Any

import structlog

from edoc_axis.cli.axis_remote import add_remote_flags, local_only
from edoc_axis.cli.axis_workers import Supervisor, report_ready, stop_with_supervisor
from edoc_axis.cli.common import (
    EXIT_OK,
    EXIT_USAGE,
    CliFailure,
    HelpFormatter,
    cannot_listen,
    describe_os_error,
    print_json,
)
from edoc_axis.config import AxisConfig, find_config, load_config
from edoc_axis.core.federation import check_axis_name
from edoc_axis.errors import EdocError
from edoc_axis.files import open_to_others
from edoc_axis.home import HomeExists, init_home
from edoc_axis.logs import configure_logging
from edoc_axis.runtime import AxisRuntime
from edoc_axis.store.factory import open_store
from edoc_axis.terminal import run_event_loop
from edoc_axis.tls import TlsSettingsError, server_context

log = structlog.get_logger("edoc_axis.serve")


def add_config_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", help="axis.toml (env EDOC_AXIS_CONFIG, default ./axis.toml)")


def operator_command(
    parent: Any, name: str, helptext: str, example: str, func: Any, *, local: str | None = None
) -> argparse.ArgumentParser:
    """An operator subcommand: help with an example, --config, --axis and its function.

    Every operator command takes ``--axis URL`` (the operator API of a remote
    axis) as well as ``--config``; one that can only work on the axis host
    says why in ``local`` and refuses ``--axis`` with "needs --config: <why>".
    """
    parser: argparse.ArgumentParser = parent.add_parser(
        name,
        help=helptext,
        description=helptext,
        formatter_class=HelpFormatter,
        epilog=f"example:\n  {example}",
    )
    add_config_flag(parser)
    add_remote_flags(parser, local=local is not None)
    parser.set_defaults(
        func=func if local is None else local_only(func, local), local_only=local is not None
    )
    return parser


def config_from(args: argparse.Namespace) -> AxisConfig:
    path = find_config(getattr(args, "config", None))
    if not path.is_file():
        raise CliFailure(f"no axis configuration at {path} (run `edoc-axis init DIR` first)")
    return load_config(path)


def cmd_init(args: argparse.Namespace) -> int:
    root = Path(args.dir)
    names: dict[str, str] = {}
    if args.name is not None:  # a peer axis knows this one by it (`edoc-axis peer add NAME`)
        try:
            names["axis_name"] = check_axis_name(args.name)
        except ValueError as exc:
            raise CliFailure(f"--name: {exc}", exit_code=EXIT_USAGE) from None
    try:
        home = init_home(root, port=args.port, tls=args.tls, **names)
    except HomeExists as exc:
        raise CliFailure(str(exc), code="home.exists") from exc
    config = load_config(home.config)

    async def create_store() -> None:
        store = await open_store(config)
        await store.close()

    asyncio.run(create_store())
    summary = {
        "home": str(root),
        "config": str(home.config),
        "store": str(config.store_path),
        "ca_certificate": str(root / "pki" / "ca.cert.pem"),
        "axis_certificate": str(config.axis_cert),
        "operator_token_file": str(config.operator_token_file),
    }
    if config.tls_cert is not None:
        summary["tls_certificate"] = str(config.tls_cert)
    if args.json:
        print_json({**summary, "operator_token": home.operator_token})
    else:
        print(f"created axis home {root}")
        for name, value in summary.items():
            print(f"  {name.replace('_', ' '):20} {value}")
        print(f"next: edoc-axis serve --config {home.config}")
    return EXIT_OK


def private_files(config: AxisConfig) -> list[Path]:
    """The files only the axis's own user should read: store, keys and token.

    A PostgreSQL store has no files here (the database guards its own); the
    TLS server key is private like the axis key.
    """
    files: list[Path] = []
    if config.store_backend == "sqlite":
        store = config.store_path
        files += [store, store.with_name(store.name + "-wal"), store.with_name(store.name + "-shm")]
    files += [config.axis_key, config.operator_token_file]
    files += [key for key in (config.ca_key, config.tls_key) if key is not None]
    return files


def warn_about_open_files(config: AxisConfig) -> list[Path]:
    """Log a warning for each private file that group or others may read; returns them."""
    exposed = []
    for path in private_files(config):
        mode = open_to_others(path)
        if mode is not None:
            exposed.append(path)
            log.warning(
                "security.file_exposed",
                path=str(path),
                mode=f"{mode:04o}",
                hint=f"chmod 600 {path} (and 700 on its folder)",
            )
    return exposed


async def serve(
    config: AxisConfig,
    host: str,
    port: int,
    *,
    sock: socket.socket | None = None,
    lifeline_fd: int | None = None,
    ready_fd: int | None = None,
) -> None:
    """Run the axis until SIGINT/SIGTERM, then stop cleanly.

    As one of several workers (``sock`` inherited from the supervisor), it
    also stops when the supervisor is gone, announces nothing itself, and
    reports on ``ready_fd`` once it serves.
    """
    warn_about_open_files(config)
    try:
        store = await open_store(config)
    except EdocError:
        raise  # already one line with its own code (config.invalid, store.schema-behind, ...)
    except (ValueError, OSError, sqlite3.Error) as exc:
        why = describe_os_error(exc) if isinstance(exc, OSError) else str(exc)
        raise CliFailure(
            f"cannot open the store: {why}; check [store] in the configuration",
            code="store.unavailable",
        ) from exc
    runtime: AxisRuntime | None = None
    try:
        runtime = AxisRuntime(config, store)
        try:
            url = await runtime.start(host, port, sock=sock)
        except OSError as exc:
            raise cannot_listen(host, port, exc) from exc
        if sock is None:
            print(f"edoc-axis listening on {url}", flush=True)
        report_ready(ready_fd)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        if lifeline_fd is not None:
            unwatch = stop_with_supervisor(lifeline_fd, stop)
        await stop.wait()
        if lifeline_fd is not None:
            unwatch()
        log.info("server.stopping")
    finally:
        if runtime is not None:
            await runtime.stop()
        await store.close()


def _share_of_limits(config: AxisConfig, processes: int) -> AxisConfig:
    """Each of N processes enforces 1/N of the in-flight byte budgets.

    The sums are the configured budgets. The per-agency rate is not divided: the
    processes share its buckets (server/shared_rates.py). Nor are connection
    counts: they guard each process's own descriptors and memory, and the kernel
    does not spread connections evenly between processes sharing a socket (an
    idle process takes whatever arrives). Divided, a client well under its
    limit was refused by the process that happened to hold most of its
    connections (bench --processes 2: 64 clients of one address, 50 allowed per
    process), and an agency with one connection had 1/N of its rate.
    """
    limits = config.limits
    return dataclasses.replace(
        config,
        limits=dataclasses.replace(
            limits,
            max_inflight_bytes=limits.max_inflight_bytes // processes,
            max_inflight_bytes_per_agency=limits.max_inflight_bytes_per_agency // processes,
        ),
    )


def cmd_serve(args: argparse.Namespace) -> int:
    config = config_from(args)
    check_tls(config)
    processes = args.processes if args.processes is not None else config.processes
    if processes < 1:
        raise CliFailure("--processes must be at least 1", exit_code=2)
    host = args.host or config.host
    port = config.port if args.port is None else args.port
    if args.inherit_fd is not None:
        configure_logging(config.log_format, with_pid=True)
        sock = socket.socket(fileno=args.inherit_fd)
        shared = _share_of_limits(config, processes)
        worker = serve(shared, host, port, sock=sock, lifeline_fd=args.lifeline_fd,
                       ready_fd=args.ready_fd)  # fmt: skip
        run_event_loop(worker)
        return EXIT_OK
    if processes > 1:
        configure_logging(config.log_format, with_pid=True)
        supervisor = Supervisor(
            find_config(args.config), host, port, processes, scheme=config.scheme
        )
        return supervisor.run()
    configure_logging(config.log_format)
    run_event_loop(serve(config, host, port))
    return EXIT_OK


def check_tls(config: AxisConfig) -> None:
    """Load the TLS files once up front so a bad one is one clear line, not a traceback."""
    if config.tls_cert is not None and config.tls_key is not None:
        try:
            server_context(config.tls_cert, config.tls_key, config.tls_client_ca)
        except TlsSettingsError as exc:
            raise CliFailure(str(exc), code="config.tls") from exc


def cmd_demo(args: argparse.Namespace) -> int:
    import tempfile

    from edoc_axis.demo import run_demo
    from edoc_axis.demo_federation import run_federation_demo

    configure_logging("console", level=logging.WARNING)
    prefix = "edoc-axis-federation-" if args.federation else "edoc-axis-demo-"
    root = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix=prefix))
    if root.exists() and any(root.iterdir()):
        raise CliFailure(f"{root} is not empty; the demo needs a fresh folder")
    asyncio.run(run_federation_demo(root) if args.federation else run_demo(root))
    print(f"\ndemo finished; everything it made is in {root}")
    return EXIT_OK


def add_commands(commands: Any) -> None:
    init = commands.add_parser(
        "init",
        help="create a working axis home",
        formatter_class=HelpFormatter,
        description="Create DIR with axis.toml, a development CA (pki/ca.*), the axis signing "
        "key and certificate (pki/axis.*), an operator token and the SQLite store. "
        "Refuses to overwrite.",
        epilog="example:\n  edoc-axis init ./axis-home\n"
        "  edoc-axis serve --config ./axis-home/axis.toml\n"
        "  edoc-axis init --tls ./axis-home   # HTTPS with a development certificate\n"
        "  edoc-axis init ./lgsp-h26 --name LGSP-H26   # an axis that peers with others",
    )
    init.add_argument("dir", help="the new home folder (must not exist or be empty)")
    init.add_argument("--port", type=int, default=8080, help="listen port in the config (8080)")
    init.add_argument(
        "--name",
        help="the axis's name ([axis] name): it signs receipts with it, and peer axes know it "
        "by it (1-64 ASCII letters, digits, spaces, '.', '_', '-', '(' or ')'; e.g. "
        "LGSP-H26); default 'edoc-axis (development)'",
    )
    init.add_argument(
        "--tls",
        action="store_true",
        help="also make a development TLS server certificate (127.0.0.1, localhost) from the "
        "home's CA and serve HTTPS; clients pass --cacert DIR/pki/ca.cert.pem",
    )
    init.add_argument("--json", action="store_true", help="machine output incl. operator token")
    init.set_defaults(func=cmd_init)

    serve_cmd = commands.add_parser(
        "serve",
        help="run the axis until SIGINT/SIGTERM",
        formatter_class=HelpFormatter,
        description="Run the HTTP API (and the delivery workers). Logs the URL it listens on; "
        "--port 0 picks a free port.",
        epilog="example:\n  edoc-axis serve --config ./axis-home/axis.toml --port 0\n"
        "  edoc-axis serve --config ./axis-home/axis.toml --processes 2",
    )
    add_config_flag(serve_cmd)
    serve_cmd.add_argument("--host", help="listen address (config [server] host)")
    serve_cmd.add_argument("--port", type=int, help="listen port, 0 for any free one")
    serve_cmd.add_argument(
        "--processes", type=int, help="axis processes sharing the port ([server] processes, 1)"
    )
    serve_cmd.add_argument("--inherit-fd", type=int, help=argparse.SUPPRESS)
    serve_cmd.add_argument("--lifeline-fd", type=int, help=argparse.SUPPRESS)
    serve_cmd.add_argument("--ready-fd", type=int, help=argparse.SUPPRESS)
    serve_cmd.set_defaults(func=cmd_serve)

    demo = commands.add_parser(
        "demo",
        help="the whole life cycle on a temporary axis (embedded SQLite)",
        formatter_class=HelpFormatter,
        description="Start an axis on SQLite, a push agency behind the reference endpoint and "
        "two pull agencies; send signed documents with attachments, deliver, acknowledge, "
        "answer with statuses, recall one; print the traces and where the files are. "
        "Leaves nothing running. With --federation: three axes instead (two province "
        "axes and the national one) relaying a document between provinces.",
        epilog="example:\n  edoc-axis demo\n  edoc-axis demo --dir ./demo-run\n"
        "  edoc-axis demo --federation   # LGSP-H26 → NGSP → LGSP-H27 and 01/03 back",
    )
    demo.add_argument("--dir", help="folder for the demo's files (default: a new temp folder)")
    demo.add_argument(
        "--federation",
        action="store_true",
        help="run three linked axes (LGSP-H26, NGSP, LGSP-H27) on their own ports: a signed "
        "document from an agency of one province to an agency of the other, pulled and "
        "verified, answered 01 and 03; prints the sender's trace across the three hops",
    )
    demo.set_defaults(func=cmd_demo)
