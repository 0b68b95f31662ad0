"""`edoc endpoint`: run the reference push endpoint of a small agency."""

from __future__ import annotations

import argparse
import asyncio
import signal
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web
from cryptography import x509

from edoc_axis.cli.common import (
    EXIT_OK,
    EXIT_USAGE,
    CliFailure,
    HelpFormatter,
    cannot_listen,
    cert_files,
    key_file,
    setting,
)
from edoc_axis.cli.edoc_remote import add_tls_flags, connection
from edoc_axis.endpoint import make_endpoint_app
from edoc_axis.endpoint.app import OnStored
from edoc_axis.endpoint.arrival import arrival_notifier
from edoc_axis.keyfiles import load_certs, load_trust_store
from edoc_axis.signature import TrustStore, VerificationPolicy
from edoc_axis.tls import TlsSettingsError, server_context

DEFAULT_LISTEN = "127.0.0.1:8090"


@dataclass(frozen=True)
class EndpointOptions:
    host: str
    port: int
    out_dir: Path
    axis_certs: tuple[x509.Certificate, ...]
    trust: TrustStore | None
    policy: VerificationPolicy
    on_stored: OnStored | None = None
    tls: ssl.SSLContext | None = None  # serve HTTPS


def parse_listen(value: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:PORT`` for IPv6); port 0 picks a free one."""
    host, sep, port = value.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise CliFailure(f"--listen wants HOST:PORT, got {value!r}", EXIT_USAGE)
    return host, int(port)


def options_from(args: argparse.Namespace) -> EndpointOptions:
    """Check the flags and load the certificates before anything listens."""
    host, port = parse_listen(args.listen)
    if args.crl and not args.ca:
        raise CliFailure("--crl needs --ca (the CA that signed the CRL)", EXIT_USAGE)
    try:
        axis_certs = tuple(cert for path in args.axis_cert for cert in load_certs(path))
        cas, crls = [Path(p) for p in args.ca], [Path(p) for p in args.crl]
        trust = load_trust_store(cas, crls) if cas else None
    except ValueError as exc:  # no PEM certificate, or a CRL no given CA signed
        raise CliFailure(str(exc), EXIT_USAGE) from exc
    return EndpointOptions(
        on_stored=_arrival_hook(args),
        tls=_server_tls(args),
        host=host,
        port=port,
        out_dir=Path(args.out),
        axis_certs=axis_certs,
        trust=trust,
        policy=VerificationPolicy(allow_legacy=args.legacy),
    )


def _server_tls(args: argparse.Namespace) -> ssl.SSLContext | None:
    cert, key = getattr(args, "tls_cert", None), getattr(args, "tls_key", None)
    if cert is None and key is None:
        return None
    if cert is None or key is None:
        raise CliFailure("--tls-cert and --tls-key go together", EXIT_USAGE)
    try:
        return server_context(Path(cert), Path(key))
    except TlsSettingsError as exc:
        raise CliFailure(str(exc), EXIT_USAGE) from exc


def _arrival_hook(args: argparse.Namespace) -> OnStored | None:
    """With --answer-arrival, post status 01 to the axis for each new document."""
    if not getattr(args, "answer_arrival", False):
        return None
    conn = connection(args)
    if not args.code:
        raise CliFailure("--answer-arrival needs --code (this agency's code)", EXIT_USAGE)
    key_path = setting(args, "key", "EDOC_KEY", required=False)
    cert_path = setting(args, "cert", "EDOC_CERT", required=False)
    if bool(key_path) != bool(cert_path):
        raise CliFailure("--key and --cert go together", EXIT_USAGE)
    key = key_file(key_path) if key_path else None
    cert = cert_files(cert_path)[0] if cert_path else None
    return arrival_notifier(
        conn.axis, conn.token, args.code, key=key, cert=cert, ssl_context=conn.ssl_context
    )


async def serve(options: EndpointOptions, stop: asyncio.Event | None = None) -> int:
    """Listen until ``stop`` is set (by default: until SIGINT or SIGTERM)."""
    app = make_endpoint_app(
        options.out_dir,
        options.axis_certs,
        options.trust,
        options.policy,
        on_stored=options.on_stored,
    )
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    loop = asyncio.get_running_loop()
    signals: list[signal.Signals] = []
    if stop is None:
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
            signals.append(sig)
    try:
        site = web.TCPSite(runner, options.host, options.port, ssl_context=options.tls)
        try:
            await site.start()
        except OSError as exc:  # the address is taken or not ours
            raise cannot_listen(
                options.host, options.port, exc, port_flag="--listen", host_flag="--listen"
            ) from exc
        port = runner.addresses[0][1]  # the real one when --listen asked for port 0
        host = f"[{options.host}]" if ":" in options.host else options.host
        scheme = "http" if options.tls is None else "https"
        print(f"edoc endpoint listening on {scheme}://{host}:{port}", flush=True)
        await stop.wait()
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)
        await runner.cleanup()
    print("edoc endpoint stopped", flush=True)
    return EXIT_OK


def cmd_endpoint(args: argparse.Namespace) -> int:
    return asyncio.run(serve(options_from(args)))


def add_commands(commands: Any) -> None:
    """Register ``edoc endpoint`` on the ``edoc`` subcommand parser."""
    parser = commands.add_parser(
        "endpoint",
        help="run the reference push endpoint (receive documents from the axis)",
        formatter_class=HelpFormatter,
        description="Accept push deliveries by POST /: check the axis's delivery signature "
        "(401 for anyone else), the document's XML signature and, with --ca, its certificate "
        "chain (422), then store each document once as DIR/documents/<axis id>.xml and journal "
        "it in DIR/received.jsonl. Answers 201 when new, 200 for a re-delivery. GET /healthz "
        "answers when it is up. Stops cleanly on Ctrl-C or SIGTERM.",
        epilog="example:\n  edoc endpoint --listen 127.0.0.1:8090 --out inbox/ "
        "--axis-cert axis.cert.pem --ca ca.cert.pem --crl ca.crl.pem",
    )
    parser.add_argument(
        "--listen", default=DEFAULT_LISTEN, metavar="HOST:PORT",
        help=f"address to listen on; port 0 picks a free one (default {DEFAULT_LISTEN})",
    )  # fmt: skip
    parser.add_argument("--out", required=True, metavar="DIR", help="where documents are stored")
    parser.add_argument(
        "--axis-cert", required=True, action="append", metavar="PEM",
        help="the axis's certificate(s); repeat during an axis key rotation",
    )  # fmt: skip
    parser.add_argument(
        "--ca", action="append", default=[], metavar="PEM",
        help="trust anchor(s) for the senders' certificates; without it the chain is not checked",
    )  # fmt: skip
    parser.add_argument(
        "--crl", action="append", default=[], metavar="FILE", help="CRL(s) of the --ca"
    )
    parser.add_argument(
        "--legacy", action="store_true",
        help="also accept the reference SDK's SHA-1 / edXML-namespace signatures",
    )  # fmt: skip
    parser.add_argument(
        "--tls-cert", metavar="PEM",
        help="serve HTTPS with this certificate (the axis verifies it: register an https:// URL)",
    )  # fmt: skip
    parser.add_argument("--tls-key", metavar="PEM", help="the --tls-cert's private key")
    arrival = parser.add_argument_group(
        "answering status 01",
        "with --answer-arrival, each newly stored document is answered "
        "with status 01 (arrived) to the axis, signed when --key/--cert are given",
    )
    arrival.add_argument("--answer-arrival", action="store_true", help="post status 01")
    arrival.add_argument("--code", help="this agency's code (the status's From)")
    arrival.add_argument("--axis", help="axis base URL (EDOC_AXIS_URL)")
    arrival.add_argument("--token", help="this agency's API token (EDOC_TOKEN)")
    add_tls_flags(arrival)
    arrival.add_argument("--key", help="signing key PEM (EDOC_KEY)")
    arrival.add_argument("--cert", help="signing certificate PEM (EDOC_CERT)")
    parser.set_defaults(func=cmd_endpoint)
