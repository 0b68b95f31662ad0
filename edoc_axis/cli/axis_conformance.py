"""`edoc-axis conformance`: run the conformance suite against an axis or a push endpoint."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import ssl
import sys
from pathlib import Path
from typing import Any

from edoc_axis.cli.common import (
    EXIT_OK,
    EXIT_REFUSED,
    EXIT_UNREACHABLE,
    EXIT_USAGE,
    CliFailure,
    HelpFormatter,
    Unreachable,
)
from edoc_axis.client import AxisUntrusted
from edoc_axis.config import AxisConfig, find_config, load_config
from edoc_axis.conformance import (
    AgencyCreds,
    AxisTarget,
    EndpointContext,
    EndpointTarget,
    Outcome,
    Result,
    RunContext,
    axis_catalogue,
    endpoint_catalogue,
    run_cases,
    select,
    set_up,
)
from edoc_axis.conformance.context import DEFAULT_MAX_BODY_BYTES
from edoc_axis.conformance.report import result_line, summary, to_json, write_junit, write_table
from edoc_axis.conformance.runner import reachable, vdxp_catalogue
from edoc_axis.conformance.setup import SetupFailed, home_ca, remove_test_agencies
from edoc_axis.conformance.vdxp_context import (
    VdxpRunContext,
    VdxpSystemCreds,
    register_systems,
)
from edoc_axis.pki import Issued, issue_certificate, load_certs, load_key
from edoc_axis.tls import TlsSettingsError, client_context

EPILOG = """\
examples:
  # our own axis home: the suite registers its own agencies (operator token, dev CA)
  edoc-axis conformance --axis http://127.0.0.1:8080 --config home/axis.toml --setup \\
      --junit conformance.xml
  # any axis: agencies the operator registered for the run (CODE,TOKEN,KEY,CERT);
  # TOKEN may be env:NAME to read it from the environment
  edoc-axis conformance --axis https://axis.example.vn --agency-code G01.1 --token "$T" \\
      --agency-key g01/key.pem --agency-cert g01/cert.pem \\
      --peer H49.1,env:H49_TOKEN,h49/key.pem,h49/cert.pem \\
      --peer H41.1,env:H41_TOKEN,h41/key.pem,h41/cert.pem --axis-cert axis.cert.pem
  # the VDXP transport (the official client's protocol), on our own axis home
  edoc-axis conformance --vdxp --axis http://127.0.0.1:8080 --config home/axis.toml --setup
  # an agency's push endpoint, with the axis key and CA of an axis home
  # (the reference endpoint keeps these test deliveries under OUT/conformance/)
  edoc-axis conformance --endpoint http://127.0.0.1:8090/ --config home/axis.toml
  # remove the test agencies an interrupted --setup run left behind
  edoc-axis conformance --cleanup --axis http://127.0.0.1:8080 --config home/axis.toml

roles for --agency ROLE=CODE,TOKEN,KEY,CERT: sender, recipient, second, sender-ec
(an ECDSA cert of the sender), expired, future, untrusted, keyusage, revoked, throttled.
Exit codes: 0 every required case passed, 1 a required case failed or was skipped
(unless --allow-skipped), 2 usage error, 3 the axis or endpoint could not be reached.
"""


def _token(value: str) -> str:
    if value.startswith("env:"):
        token = os.environ.get(value[4:])
        if not token:
            raise CliFailure(f"environment variable {value[4:]} is not set", EXIT_USAGE)
        return token
    return value


def _creds(spec: str) -> AgencyCreds:
    parts = spec.split(",")
    if len(parts) != 4 or not all(parts):
        raise CliFailure(f"want CODE,TOKEN,KEY,CERT, got {spec!r}", EXIT_USAGE)
    code, token, key, cert = parts
    return AgencyCreds(code, _token(token), load_key(key), load_certs(cert)[0])


def _flag_agencies(args: argparse.Namespace) -> dict[str, AgencyCreds]:
    agencies: dict[str, AgencyCreds] = {}
    sender = [args.agency_code, args.token, args.agency_key, args.agency_cert]
    if any(sender):
        if not all(sender):
            raise CliFailure(
                "the sender needs --agency-code, --token, --agency-key and --agency-cert "
                "(env EDOC_TOKEN, EDOC_KEY, EDOC_CERT)",
                EXIT_USAGE,
            )
        agencies["sender"] = _creds(",".join(sender))
    for role, spec in zip(("recipient", "second"), args.peer or [], strict=False):
        agencies[role] = _creds(spec)
    for item in args.agency or []:
        role, sep, spec = item.partition("=")
        if not sep:
            raise CliFailure(f"--agency wants ROLE=CODE,TOKEN,KEY,CERT, got {item!r}", EXIT_USAGE)
        agencies[role] = _creds(spec)
    return agencies


def _tls(args: argparse.Namespace) -> ssl.SSLContext | None:
    """``--cacert``: verify an https:// target with this CA bundle only (else the system's)."""
    if not args.cacert:
        return None
    try:
        return client_context(Path(args.cacert))
    except TlsSettingsError as exc:
        raise CliFailure(str(exc), EXIT_USAGE) from exc


def _config(args: argparse.Namespace) -> AxisConfig | None:
    if not args.config:
        return None
    path = find_config(args.config)
    if not path.is_file():
        raise CliFailure(f"no axis configuration at {path}", EXIT_USAGE)
    return load_config(path)


def _given_target(args: argparse.Namespace, config: AxisConfig | None) -> AxisTarget:
    """The target from flags (no network): agencies the operator registered himself."""
    agencies = _flag_agencies(args)
    missing = [r for r in ("sender", "recipient", "second") if r not in agencies]
    if missing:
        raise CliFailure(
            f"missing agencies: {', '.join(missing)} (give the sender flags and two "
            "--peer, or --config F --setup)",
            EXIT_USAGE,
        )
    return AxisTarget(
        url=args.axis.rstrip("/"),
        agencies=agencies,
        axis_certs=tuple(load_certs(config.axis_cert)) if config else (),
        disabled_code=args.disabled_agency,
        max_body_bytes=config.limits.max_body_bytes if config else DEFAULT_MAX_BODY_BYTES,
        tls=_tls(args),
    )


async def _axis_target(args: argparse.Namespace, given: AxisTarget | None) -> AxisTarget:
    target = given
    if target is None:
        config = _config(args)
        if config is None:
            raise CliFailure("--setup needs --config (the axis home)", EXIT_USAGE)
        try:
            target = await set_up(args.axis, config, _tls(args))
        except SetupFailed as exc:
            raise CliFailure(str(exc), code="setup.failed") from exc
    changes: dict[str, Any] = {}
    if args.axis_cert:
        changes["axis_certs"] = tuple(load_certs(args.axis_cert))
    if args.max_body_bytes:
        changes["max_body_bytes"] = args.max_body_bytes
    return dataclasses.replace(target, **changes)


def _endpoint_target(args: argparse.Namespace) -> EndpointTarget:
    config = _config(args)
    if config is None:
        raise CliFailure("--endpoint needs --config (the axis key and CA to act with)", EXIT_USAGE)
    try:
        ca: Issued = home_ca(config)
    except SetupFailed as exc:
        raise CliFailure(str(exc), code="setup.failed") from exc
    code = args.sender_code
    signer = issue_certificate(ca, "Conformance signer", agency_code=code)
    return EndpointTarget(
        url=args.endpoint,
        axis_key=load_key(config.axis_key),
        axis_cert=load_certs(config.axis_cert)[0],
        signer=AgencyCreds(code, "", signer.key, signer.cert),
        recipient_code=args.endpoint_agency,
        read_timeout_s=config.retry.read_timeout_s,
        tls=_tls(args),
    )


async def _run(
    args: argparse.Namespace, given: AxisTarget | None, endpoint: EndpointTarget | None
) -> list[Result]:
    url = args.axis or args.endpoint
    if not await reachable(url, tls=_tls(args)):
        raise Unreachable(f"{url} does not answer")
    show = None if args.json else (lambda r: print(result_line(r), flush=True))
    if endpoint is not None:
        cases = select(endpoint_catalogue(), args.only or [])
        async with EndpointContext(endpoint, timeout_s=args.timeout) as ctx:
            return await run_cases(cases, ctx, timeout_s=args.timeout, on_result=show)
    if args.vdxp:
        return await _run_vdxp(args, given, show)
    cases = select(axis_catalogue(), args.only or [])
    target = await _axis_target(args, given)
    try:
        async with RunContext(target, timeout_s=args.timeout) as axis:
            return await run_cases(cases, axis, timeout_s=args.timeout, on_result=show)
    finally:
        if target.test_agencies and not args.keep_agencies:
            await _remove(args, target.test_agencies, target.test_peers)


async def _remove(
    args: argparse.Namespace, codes: tuple[str, ...] | None, peers: tuple[str, ...] = ()
) -> list[dict[str, Any]]:
    """Remove the suite's test agencies and disable its test peers (None: every one on the axis)."""
    config = _config(args)
    assert config is not None  # --setup and --cleanup need --config
    try:
        return await remove_test_agencies(
            args.axis, config.operator_token(), codes, _tls(args), peers
        )
    except SetupFailed as exc:
        raise CliFailure(str(exc), code="cleanup.failed") from exc


def cmd_cleanup(args: argparse.Namespace) -> int:
    """``--cleanup``: remove the test agencies an interrupted run left on the axis."""
    if not args.axis or not args.config:
        raise CliFailure("--cleanup needs --axis URL and --config (the axis home)", EXIT_USAGE)
    try:
        removed = asyncio.run(_remove(args, None))
    except AxisUntrusted as exc:
        raise CliFailure(str(exc), EXIT_UNREACHABLE, "tls.untrusted") from exc
    documents = sum(int(r["removed"]["documents"]) for r in removed)
    if args.json:
        print(json.dumps({"removed": removed}, ensure_ascii=False, indent=2))
    elif removed:
        codes = ", ".join(str(r["code"]) for r in removed)
        print(f"removed {len(removed)} test agencies ({codes}) and {documents} documents")
    else:
        print("no test agencies on this axis")
    return EXIT_OK


def _flag_systems(args: argparse.Namespace) -> dict[str, VdxpSystemCreds]:
    systems: dict[str, VdxpSystemCreds] = {}
    for role, spec in zip(("sender", "recipient"), args.vdxp_system or [], strict=False):
        system_id, sep, secret = spec.partition(",")
        if not sep or not system_id or not secret:
            raise CliFailure(f"--vdxp-system wants SYSTEM_ID,SECRET, got {spec!r}", EXIT_USAGE)
        systems[role] = VdxpSystemCreds(system_id, _token(secret))
    return systems


async def _run_vdxp(args: argparse.Namespace, given: AxisTarget | None, show: Any) -> list[Result]:
    cases = select(vdxp_catalogue(), args.only or [])
    target = await _axis_target(args, given)
    try:
        systems = _flag_systems(args)
        if args.setup and not systems:
            config = _config(args)
            assert config is not None  # --setup requires --config
            try:
                systems = await register_systems(args.axis, config.operator_token(), target)
            except SetupFailed as exc:
                raise CliFailure(str(exc), code="setup.failed") from exc
        async with VdxpRunContext(
            target, systems, prefix=args.vdxp_prefix, timeout_s=args.timeout
        ) as ctx:
            return await run_cases(cases, ctx, timeout_s=args.timeout, on_result=show)
    finally:
        # The test agencies go, and with them the systems bound only to them.
        if target.test_agencies and not args.keep_agencies:
            await _remove(args, target.test_agencies, target.test_peers)


def cmd_conformance(args: argparse.Namespace) -> int:
    if args.cleanup:
        return cmd_cleanup(args)
    if bool(args.axis) == bool(args.endpoint):
        raise CliFailure("give exactly one of --axis URL or --endpoint URL", EXIT_USAGE)
    if args.setup and not args.config:
        raise CliFailure("--setup needs --config (the axis home)", EXIT_USAGE)
    given = _given_target(args, _config(args)) if args.axis and not args.setup else None
    endpoint = _endpoint_target(args) if args.endpoint else None
    try:
        results = asyncio.run(_run(args, given, endpoint))
    except AxisUntrusted as exc:
        raise CliFailure(str(exc), EXIT_UNREACHABLE, "tls.untrusted") from exc
    if not results:
        raise CliFailure(f"no case matches {args.only}", EXIT_USAGE)
    if args.junit:
        write_junit(results, Path(args.junit))
    if args.json:
        print(to_json(results, args.axis or args.endpoint))
    else:
        tail = [r for r in results if r.case.required and r.outcome is not Outcome.PASS]
        if tail:
            print()
            write_table(tail, sys.stdout)
        else:
            print("\n" + summary(results))
    failed = any(r.case.required and r.outcome is Outcome.FAIL for r in results)
    skipped = any(r.case.required and r.outcome is Outcome.SKIP for r in results)
    return EXIT_REFUSED if failed or (skipped and not args.allow_skipped) else EXIT_OK


def add_commands(commands: Any) -> None:
    """Register ``edoc-axis conformance``."""
    parser = commands.add_parser(
        "conformance",
        help="run the conformance suite against an axis or an agency's push endpoint",
        formatter_class=HelpFormatter,
        description="Run the conformance catalogue (docs/conformance.md) over HTTP: one line "
        "per case with its verdict, expected and observed status and code, then a summary.",
        epilog=EPILOG,
    )
    target = parser.add_mutually_exclusive_group()
    target.add_argument("--axis", metavar="URL", help="base URL of the axis under test")
    target.add_argument("--endpoint", metavar="URL", help="an agency's push endpoint URL")
    parser.add_argument("--config", help="an axis home's axis.toml (operator token, dev CA, keys)")
    parser.add_argument("--cacert", default=os.environ.get("EDOC_CACERT"), metavar="PEM",
                        help="verify an https:// target with this CA bundle only, instead of "
                        "the system's (env EDOC_CACERT)")  # fmt: skip
    parser.add_argument("--setup", action="store_true", help="register the suite's own agencies "
                        "(test agencies, removed when the run ends)")  # fmt: skip
    parser.add_argument("--keep-agencies", action="store_true",
                        help="with --setup: leave the test agencies on the axis")  # fmt: skip
    parser.add_argument("--cleanup", action="store_true", help="remove every test agency (and "
                        "its documents) an interrupted --setup run left; runs no case")  # fmt: skip
    parser.add_argument("--agency-code", help="the sender agency's code")
    parser.add_argument("--token", default=os.environ.get("EDOC_TOKEN"), help="the sender's "
                        "token (env EDOC_TOKEN)")  # fmt: skip
    parser.add_argument("--agency-key", default=os.environ.get("EDOC_KEY"), metavar="PEM",
                        help="the sender's signing key (env EDOC_KEY)")  # fmt: skip
    parser.add_argument("--agency-cert", default=os.environ.get("EDOC_CERT"), metavar="PEM",
                        help="the sender's certificate (env EDOC_CERT)")  # fmt: skip
    parser.add_argument("--peer", action="append", metavar="CODE,TOKEN,KEY,CERT",
                        help="a recipient agency; give two")  # fmt: skip
    parser.add_argument("--agency", action="append", metavar="ROLE=CODE,TOKEN,KEY,CERT",
                        help="an agency for a role (see below); repeatable")  # fmt: skip
    parser.add_argument("--axis-cert", metavar="PEM", help="the axis certificate (receipts)")
    parser.add_argument("--disabled-agency", metavar="CODE", help="a registered, disabled agency")
    parser.add_argument("--max-body-bytes", type=int, help="the axis's body limit (64 MiB)")
    parser.add_argument("--endpoint-agency", default="000.00.00.G01", metavar="CODE",
                        help="endpoint mode: the endpoint's agency code")  # fmt: skip
    parser.add_argument("--sender-code", default="000.00.00.G99", metavar="CODE",
                        help="endpoint mode: the documents' sender code")  # fmt: skip
    parser.add_argument("--vdxp", action="store_true",
                        help="run the VDXP transport cases (VDXP-*) instead")  # fmt: skip
    parser.add_argument("--vdxp-prefix", default="/vdxp", metavar="PATH",
                        help="the axis's [vdxp] path_prefix (/vdxp)")  # fmt: skip
    parser.add_argument("--vdxp-system", action="append", metavar="SYSTEM_ID,SECRET",
                        help="--vdxp without --setup: the sender's system, then the "
                        "recipient's (SECRET may be env:NAME)")  # fmt: skip
    parser.add_argument("--only", action="append", metavar="PATTERN",
                        help="only ids matching (SIG-*, AUTH-004); repeatable")  # fmt: skip
    parser.add_argument("--timeout", type=float, default=30.0, help="per-case timeout, s (30)")
    parser.add_argument("--junit", metavar="FILE", help="also write JUnit XML to FILE")
    parser.add_argument("--json", action="store_true", help="machine output on stdout")
    parser.add_argument("--allow-skipped", action="store_true",
                        help="exit 0 when required cases were only skipped")  # fmt: skip
    parser.set_defaults(func=cmd_conformance)
