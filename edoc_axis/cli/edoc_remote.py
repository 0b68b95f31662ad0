"""`edoc` commands that talk to an axis: send (inbox, receive, status, trace follow)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ssl
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edoc_axis.cli.common import (
    EXIT_OK,
    EXIT_UNREACHABLE,
    EXIT_USAGE,
    CliFailure,
    HelpFormatter,
    Unreachable,
    print_json,
    setting,
)
from edoc_axis.client import AxisClient, AxisUnreachable, AxisUntrusted
from edoc_axis.terminal import Progress
from edoc_axis.tls import TlsSettingsError, client_context

SEND_CONCURRENCY = 8


@dataclass(frozen=True)
class Connection:
    """Where the axis is and how to log in: a token, a TLS client certificate, or both."""

    axis: str
    token: str | None
    ssl_context: ssl.SSLContext | None = None

    def client(self) -> AxisClient:
        return AxisClient(self.axis, self.token, ssl_context=self.ssl_context)


def tls_settings(args: argparse.Namespace) -> ssl.SSLContext | None:
    """--cacert, --client-cert/--client-key (or EDOC_CACERT, EDOC_CLIENT_CERT, EDOC_CLIENT_KEY)."""
    cafile = setting(args, "cacert", "EDOC_CACERT", required=False)
    cert = setting(args, "client_cert", "EDOC_CLIENT_CERT", required=False)
    key = setting(args, "client_key", "EDOC_CLIENT_KEY", required=False)
    if not (cafile or cert or key):
        return None
    try:
        return client_context(
            Path(cafile) if cafile else None,
            Path(cert) if cert else None,
            Path(key) if key else None,
        )
    except TlsSettingsError as exc:
        raise CliFailure(str(exc), EXIT_USAGE) from exc


def connection(args: argparse.Namespace) -> Connection:
    axis = setting(args, "axis", "EDOC_AXIS_URL")
    tls = tls_settings(args)
    # A client certificate registered to the agency logs in without a token.
    has_client_cert = setting(args, "client_cert", "EDOC_CLIENT_CERT", required=False)
    token = setting(args, "token", "EDOC_TOKEN", required=not has_client_cert)
    assert axis is not None
    return Connection(axis, token, tls)


def unreachable(exc: AxisUnreachable) -> CliFailure:
    """Exit 3: the axis could not be reached, or its TLS certificate is not trusted."""
    if isinstance(exc, AxisUntrusted):
        return CliFailure(str(exc), EXIT_UNREACHABLE, "tls.untrusted")
    return Unreachable(str(exc))


async def _send_all(args: argparse.Namespace, conn: Connection) -> list[dict[str, Any]]:
    files = [Path(p) for p in args.files]
    missing = [str(p) for p in files if not p.is_file()]
    if missing:
        raise CliFailure(f"no such file: {', '.join(missing)}")
    progress = Progress(len(files), "sending")
    limit = asyncio.Semaphore(args.concurrency)
    results: list[dict[str, Any]] = []

    async def send_one(client: AxisClient, path: Path) -> None:
        async with limit:
            # Files are read (and receipts written) off the loop: a slow disk
            # must not stall the other sends in flight.
            response = await client.submit(await asyncio.to_thread(path.read_bytes))
        result: dict[str, Any] = {"file": str(path), "status": response.status}
        if response.ok:
            result["axis_id"] = response.headers.get("Edoc-Axis-Id")
            result["verdict"] = "accepted" if response.status == 202 else "already accepted"
            if args.save_receipt:
                target = Path(args.save_receipt) / f"{result['axis_id']}.receipt.xml"
                await asyncio.to_thread(target.write_bytes, response.body)
                result["receipt"] = str(target)
        else:
            result["verdict"] = "refused"
            result["code"] = response.code
            result["detail"] = response.problem.get("detail")
        results.append(result)
        progress.advance()

    try:
        async with conn.client() as client:
            await asyncio.gather(*(send_one(client, path) for path in files))
    finally:
        progress.close()
    order = {str(p): i for i, p in enumerate(files)}
    return sorted(results, key=lambda r: order[r["file"]])


def cmd_send(args: argparse.Namespace) -> int:
    conn = connection(args)
    if args.save_receipt:
        Path(args.save_receipt).mkdir(parents=True, exist_ok=True)
    try:
        results = asyncio.run(_send_all(args, conn))
    except AxisUnreachable as exc:
        raise unreachable(exc) from exc
    if args.json:
        print_json(results)
    else:
        for r in results:
            if r["verdict"] == "refused":
                print(f"{r['file']}: refused {r['code']}: {r['detail']}")
            else:
                print(f"{r['file']}: {r['verdict']} id={r['axis_id']}")
    refused = [r for r in results if r["verdict"] == "refused"]
    if len(results) == 1 and refused:
        raise CliFailure(str(refused[0]["detail"]), code=str(refused[0]["code"]))
    if refused:
        raise CliFailure(f"{len(refused)} of {len(results)} files refused", code="send.incomplete")
    return EXIT_OK


def add_connection_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--axis", help="axis base URL (EDOC_AXIS_URL)")
    parser.add_argument(
        "--token", help="agency API token (EDOC_TOKEN); optional with a registered --client-cert"
    )
    add_tls_flags(parser)


def add_tls_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--cacert",
        metavar="PEM",
        help="trust only this CA for the axis's https:// certificate (EDOC_CACERT; "
        "default: the system's CAs)",
    )
    parser.add_argument(
        "--client-cert",
        metavar="PEM",
        help="TLS client certificate registered to the agency: logs in without a token "
        "where the axis has mutual TLS (EDOC_CLIENT_CERT)",
    )
    parser.add_argument(
        "--client-key", metavar="PEM", help="the --client-cert's private key (EDOC_CLIENT_KEY)"
    )


def add_commands(commands: Any) -> None:
    send = commands.add_parser(
        "send",
        help="submit signed packages to the axis",
        formatter_class=HelpFormatter,
        description="Submit one or many signed packages (concurrently, with a progress bar on "
        "a terminal). Prints each file's axis id or refusal code. Exit 1 if any was refused.",
        epilog="example:\n  edoc send doc.signed.xml --axis http://127.0.0.1:8080 --token $TOKEN"
        " --save-receipt receipts/\n"
        "  edoc send doc.signed.xml --axis https://127.0.0.1:8443 --cacert ca.cert.pem"
        " --client-cert cert.pem --client-key key.pem   # mutual TLS, no token",
    )
    send.add_argument("files", nargs="+", metavar="FILE", help="signed packages")
    add_connection_flags(send)
    send.add_argument("--save-receipt", metavar="DIR", help="write each receipt to DIR")
    send.add_argument(
        "--concurrency", type=int, default=SEND_CONCURRENCY, help="parallel submissions (8)"
    )
    send.add_argument("--json", action="store_true", help="machine output")
    send.set_defaults(func=cmd_send)


async def sweep_until_stopped(
    sweep: Callable[[], Awaitable[None]], stop: asyncio.Event, *, follow: bool, interval: float
) -> None:
    """Run ``sweep`` once, or with ``follow`` every ``interval`` seconds until ``stop``.

    An unreachable axis fails the first sweep; later, while following, it is only
    reported and retried at the next interval.
    """
    first = True
    while not stop.is_set():
        try:
            await sweep()
        except AxisUnreachable as exc:
            if first or not follow:
                raise
            print(f"unreachable: {exc} (retrying)", file=sys.stderr, flush=True)
        first = False
        if not follow:
            break
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), max(interval, 0.05))
