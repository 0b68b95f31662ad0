"""`edoc-axis peer ...`: the peer axes this axis relays to and from (federation).

Local (``--config``) commands work on the store through ``service.peers``; remote
ones (``--axis URL``) call /admin/v1/peers. ``peer sync`` fetches the peer's
directory itself when local (``client.AxisClient``) and applies it with
``service.relay.apply_directory``, as the axis does every ``sync_interval_s``.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives import serialization

from edoc_axis.cli.axis_registry import with_store
from edoc_axis.cli.axis_remote import quote, remote_of
from edoc_axis.cli.axis_server import config_from
from edoc_axis.cli.axis_server import operator_command as _sub
from edoc_axis.cli.common import (
    EXIT_OK,
    EXIT_USAGE,
    CliFailure,
    HelpFormatter,
    Unreachable,
    cert_files,
    print_json,
    print_table,
)
from edoc_axis.client import AxisClient, AxisUnreachable
from edoc_axis.config import AxisConfig
from edoc_axis.service import peers
from edoc_axis.service.operator import audit_action
from edoc_axis.service.relay import SyncReport, apply_directory
from edoc_axis.store import Peer, PeerState, Store
from edoc_axis.tls import client_context

DESCRIPTION = """\
A peer is another edoc-axis (a province's or ministry's platform, or the
national one) that this axis relays documents to and accepts relays from.
Documents to an agency that is not registered here go to the peer whose
--serves patterns match its code; the document travels as the sender's exact
bytes, so the sender's signature verifies at every hop.

Patterns (--serves, repeat for several):
  000.00.00.G22   exactly that agency code
  *.H26           a glob: every code ending in .H26 (province H26's QCVN 102 codes;
                  its QĐ 20 codes start with it: H26*)
  *               every agency that is not local here (a province axis's uplink)
The most specific pattern wins: an exact code, then the glob with the most
literal characters, then '*'. A peer may relay to this axis only for the
agencies its patterns cover.

The token exchange between the two operators (A and B):
  1. A runs `peer add B ...`; it prints the token B must present to A (once).
  2. A gives B's operator: A's axis name ([axis] name), A's URL, A's axis
     certificate ([security] axis_cert) and that token.
  3. B runs `peer add A ... --token TOKEN_FROM_A`; it prints the token A must
     present to B, which B's operator gives back to A.
  4. A runs `peer update B --token TOKEN_FROM_B`.
NAME must be the peer's own axis name ([axis] name in its axis.toml, set by
`edoc-axis init DIR --name NAME`): relay paths and receipts carry it.
`peer list` never shows a token; `peer token` issues a new one for the peer
(the old one stops working at once).
`peer sync` fetches the agencies the peer reaches (its directory) now, as the
axis does every [federation] sync_interval_s; they become remote agencies
(`agency list` shows the peer in its PEER column).
"""

EXAMPLES = """\
examples:
  # on the province axis LGSP-H26: everything not local goes up to the national axis
  edoc-axis peer add NGSP --url https://ngsp.example.gov.vn:8443 \\
      --axis-cert ngsp-axis.cert.pem --serves '*'
  # on the national axis NGSP: province H26's agencies, with the token LGSP-H26 gave
  edoc-axis peer add LGSP-H26 --url https://lgsp.h26.example.gov.vn:8443 \\
      --axis-cert h26-axis.cert.pem --serves '*.H26' --token edoc_...
  # back on LGSP-H26: the token NGSP gave, then the directory
  edoc-axis peer update NGSP --token edoc_...
  edoc-axis peer sync NGSP
  edoc-axis peer list --axis https://lgsp.h26.example.gov.vn:8443
"""


def _actor() -> str:
    return f"cli:{getpass.getuser()}"


def _now() -> datetime:
    return datetime.now(UTC)


def _path(name: str, action: str = "") -> str:
    return f"/admin/v1/peers/{quote(name)}" + (f"/{action}" if action else "")


def _read_cert(path: str) -> str:
    """The certificates of --axis-cert as plain PEM (whatever text is around them),
    refused here (not by the axis) when the file holds none."""
    certs = cert_files(path, "--axis-cert")
    return "".join(c.public_bytes(serialization.Encoding.PEM).decode("ascii") for c in certs)


def _local(
    args: argparse.Namespace, action: str, work: Any, detail: dict[str, Any] | None = None
) -> Any:
    """Run ``work(store, config)`` on the local store and record who did it."""
    config = config_from(args)

    async def run(store: Store) -> Any:
        result = await work(store, config)
        await audit_action(
            store, _now(), _actor(), f"peer.{action}", detail={"peer": args.name, **(detail or {})}
        )
        return result

    return with_store(config, run)


def _describe(peer: dict[str, Any]) -> str:
    return (
        f"peer axis {peer['name']} ({peer['url']}) serving {', '.join(peer['serves'])}, "
        f"{peer['state']}"
    )


# -- add ------------------------------------------------------------------------------


STDIN = "-"  # --token-file - : read the token from standard input


def _token_given(args: argparse.Namespace) -> str | None:
    """--token, or --token-file's first line (so the token stays out of shell history)."""
    if args.token_file is None:
        given: str | None = args.token
        return given
    try:
        if args.token_file == STDIN:
            text = sys.stdin.readline()
        else:
            with open(args.token_file, encoding="utf-8") as handle:
                text = handle.readline()
    except OSError as exc:
        raise CliFailure(f"--token-file: {exc}", exit_code=EXIT_USAGE) from None
    token = text.strip()
    if not token:
        raise CliFailure(
            f"--token-file {args.token_file}: no token on its first line", exit_code=EXIT_USAGE
        )
    return token


def cmd_peer_add(args: argparse.Namespace) -> int:
    args.token = _token_given(args)
    pem = _read_cert(args.axis_cert)
    remote = remote_of(args)
    here: dict[str, str] = {}  # this axis's name and certificate, known locally only
    if remote is not None:
        body: dict[str, Any] = {
            "name": args.name,
            "url": args.url,
            "axis_cert_pem": pem,
            "serves": args.serves,
        }
        if args.token is not None:
            body["token"] = args.token
        data = remote.call("POST", "/admin/v1/peers", body)
    else:

        async def add(store: Store, config: AxisConfig) -> dict[str, Any]:
            peer, token = await peers.add_peer(
                store,
                config,
                name=args.name,
                url=args.url,
                axis_cert_pem=pem.encode("ascii"),
                serves=tuple(args.serves),
                token=args.token,
                at=_now(),
            )
            here["name"] = config.axis_name
            here["axis_cert"] = str(config.axis_cert)
            return {**peers.peer_json(peer), "token": token}

        data = _local(args, "add", add, {"serves": args.serves})
    if args.json:
        print_json(data)
        return EXIT_OK
    name, token = data["name"], data["token"]
    print(f"peer {name} registered ({data['url']}, serving {', '.join(data['serves'])})")
    print(f"the token it presents here (shown once): {token}")
    own_name = here.get("name", "this axis's [axis] name")
    own_cert = here.get("axis_cert", "this axis's [security] axis_cert")
    print(f"give the operator of {name}, for their `edoc-axis peer add`:")
    print(f"  name:       {own_name}")
    print("  --url       this axis's base URL as " + name + " reaches it")
    print(f"  --axis-cert {own_cert}")
    print(f"  --token     {token}")
    if not data.get("token_to_peer_set"):
        print(f"then set the token {name} gives back: edoc-axis peer update {name} --token TOKEN")
    return EXIT_OK


# -- update ---------------------------------------------------------------------------


def cmd_peer_update(args: argparse.Namespace) -> int:
    args.token = _token_given(args)
    if args.url is None and args.axis_cert is None and not args.serves and args.token is None:
        raise CliFailure(
            "say what to change: --url, --axis-cert, --serves or --token", exit_code=EXIT_USAGE
        )
    pem = None if args.axis_cert is None else _read_cert(args.axis_cert)
    remote = remote_of(args)
    if remote is not None:
        body: dict[str, Any] = {}
        for key, value in (
            ("url", args.url),
            ("axis_cert_pem", pem),
            ("serves", args.serves),
            ("token", args.token),
        ):
            if value is not None:
                body[key] = value
        data = remote.call("POST", _path(args.name), body)
    else:

        async def update(store: Store, config: AxisConfig) -> dict[str, Any]:
            peer = await peers.update_peer(
                store,
                config,
                args.name,
                url=args.url,
                axis_cert_pem=None if pem is None else pem.encode("ascii"),
                serves=tuple(args.serves) if args.serves else None,
                token=args.token,
                at=_now(),
            )
            return peers.peer_json(peer)

        changed = [
            flag
            for flag, value in (
                ("url", args.url),
                ("axis_cert", args.axis_cert),
                ("serves", args.serves),
                ("token", args.token),
            )
            if value is not None
        ]
        data = _local(args, "update", update, {"changed": changed})
    if args.json:
        print_json(data)
    else:
        print(f"updated {_describe(data)}")
        print(f"token to present to {data['name']}: {_yes(data['token_to_peer_set'])}")
    return EXIT_OK


def _yes(flag: Any) -> str:
    return "set" if flag else "not set"


# -- list -----------------------------------------------------------------------------


def cmd_peer_list(args: argparse.Namespace) -> int:
    remote = remote_of(args)
    if remote is not None:
        items: list[dict[str, Any]] = remote.call("GET", "/admin/v1/peers")["items"]
    else:
        found = with_store(config_from(args), lambda store: store.list_peers())
        items = [peers.peer_json(p) for p in found]
    if args.json:
        print_json(items)
    elif not items:
        print("no peer axes (add one with `edoc-axis peer add`)")
    else:
        print_table(
            ["NAME", "STATE", "URL", "SERVES", "TOKEN SET", "DIRECTORY VERSION"],
            (
                [
                    p["name"],
                    p["state"],
                    p["url"],
                    ",".join(p["serves"]),
                    "yes" if p["token_to_peer_set"] else "no",
                    "-" if p["directory_version"] is None else str(p["directory_version"]),
                ]
                for p in items
            ),
        )
    return EXIT_OK


# -- token, disable, enable ------------------------------------------------------------


def cmd_peer_token(args: argparse.Namespace) -> int:
    remote = remote_of(args)
    here = "THIS-AXIS"  # this axis's [axis] name, known locally only
    if remote is not None:
        data = remote.call("POST", _path(args.name, "token"))
    else:

        async def rotate(store: Store, config: AxisConfig) -> dict[str, Any]:
            nonlocal here
            token = await peers.rotate_peer_token(store, args.name, _now())
            here = config.axis_name
            return {"name": args.name, "token": token}

        data = _local(args, "token", rotate)
    if args.json:
        print_json(data)
    else:
        print(
            f"new token {data['name']} presents here (shown once; the old one no longer works): "
            f"{data['token']}"
        )
        print(
            f"give it to the operator of {data['name']}: "
            f"edoc-axis peer update {here} --token {data['token']}"
        )
    return EXIT_OK


def _set_state(args: argparse.Namespace, state: PeerState) -> int:
    verb = "disable" if state == "disabled" else "enable"
    remote = remote_of(args)
    if remote is not None:
        data = remote.call("POST", _path(args.name, verb))
    else:

        async def change(store: Store, config: AxisConfig) -> dict[str, Any]:
            return peers.peer_json(await store.set_peer_state(args.name, state, _now()))

        data = _local(args, verb, change)
    if args.json:
        print_json(data)
    elif state == "disabled":
        print(
            f"peer axis {data['name']} is disabled: its relays are refused, nothing is routed "
            "to it and its remote agencies are disabled"
        )
    else:
        print(f"peer axis {data['name']} is active")
    return EXIT_OK


def cmd_peer_disable(args: argparse.Namespace) -> int:
    return _set_state(args, "disabled")


def cmd_peer_enable(args: argparse.Namespace) -> int:
    return _set_state(args, "active")


# -- sync -----------------------------------------------------------------------------


async def _fetch_and_apply(store: Store, config: AxisConfig, name: str) -> SyncReport:
    peer: Peer = await peers.require_peer(store, name)
    _check_active(peer.name, peer.state)
    client = AxisClient(
        peer.url,
        peers.peer_token(config, peer),
        timeout_s=config.federation.trace_timeout_s,
        ssl_context=client_context(config.push_ca_file),
    )
    try:
        async with client:
            answer = await client.peer_directory(peer.directory_version)
    except AxisUnreachable as exc:
        raise Unreachable(f"cannot fetch the directory of peer axis {name}: {exc}") from None
    if answer.status != 200:
        problem = answer.problem
        hint = (
            f" (set the token {name} gave for this axis: edoc-axis peer update {name} --token T)"
            if answer.status == 401
            else ""
        )
        raise CliFailure(
            f"peer axis {name} refused its directory: HTTP {answer.status} "
            f"{problem.get('code', '')}: {problem.get('detail', '')}{hint}",
            code="unavailable",
        )
    try:
        listing = answer.json()
        if listing.get("unchanged"):
            return SyncReport(int(listing["version"]), (), (), (), (), unchanged=True)
        return await apply_directory(store, peer, listing, _now())
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise CliFailure(
            f"peer axis {name} answered a directory this axis cannot read: {exc!r}",
            code="unavailable",
        ) from None


def _check_active(name: str, state: str) -> None:
    """Refuse to sync a disabled peer: applying its directory would re-activate its
    remote agencies while nothing may be routed to it."""
    if state != "active":
        raise CliFailure(
            f"peer axis {name} is disabled; enable it first (edoc-axis peer enable {name}), "
            "then sync",
            code="peer.disabled",
        )


def cmd_peer_sync(args: argparse.Namespace) -> int:
    remote = remote_of(args)
    if remote is not None:
        listed = remote.call("GET", "/admin/v1/peers")["items"]
        known = next((p for p in listed if p["name"] == args.name), None)
        if known is not None:  # an unknown one: the axis says not-found
            _check_active(args.name, known["state"])
        data = remote.call("POST", _path(args.name, "sync"))
    else:

        async def sync(store: Store, config: AxisConfig) -> dict[str, Any]:
            report = await _fetch_and_apply(store, config, args.name)
            return {"name": args.name, **report.as_json()}

        data = _local(args, "sync", sync)
    if args.json:
        print_json(data)
    elif data["unchanged"]:
        print(f"peer axis {data['name']}: directory unchanged (version {data['version']})")
    else:
        counts = ", ".join(
            f"{len(data[key])} {key}" for key in ("added", "updated", "disabled", "skipped")
        )
        print(f"peer axis {data['name']}: directory version {data['version']}: {counts}")
        for key in ("added", "updated", "disabled", "skipped"):
            if data[key]:
                print(f"  {key}: {', '.join(data[key])}")
    return EXIT_OK


# -- the parser -----------------------------------------------------------------------


def add_commands(commands: Any) -> None:
    peer = commands.add_parser(
        "peer",
        help="peer axes (federation): relay to and from other axes",
        formatter_class=HelpFormatter,
        description=DESCRIPTION,
        epilog=EXAMPLES,
    )
    sub = peer.add_subparsers(dest="peer_command", metavar="ACTION", required=True)
    add = _sub(
        sub,
        "add",
        "register a peer axis; prints the token it must present here (once) and what to "
        "give its operator",
        "edoc-axis peer add NGSP --url https://ngsp.example.gov.vn:8443 "
        "--axis-cert ngsp-axis.cert.pem --serves '*'\n"
        "  edoc-axis peer add LGSP-H26 --url https://lgsp.h26.example.gov.vn:8443 "
        "--axis-cert h26-axis.cert.pem --serves '*.H26' --token edoc_...",
        cmd_peer_add,
    )
    add.add_argument("name", help="the peer's own axis name ([axis] name in its axis.toml)")
    add.add_argument("--url", required=True, help="the peer's base URL (http or https)")
    update = _sub(
        sub,
        "update",
        "change a peer's URL, axis certificate, patterns or the token presented to it",
        "edoc-axis peer update NGSP --token edoc_...\n"
        "  edoc-axis peer update LGSP-H26 --serves '*.H26' --serves 000.00.00.G26",
        cmd_peer_update,
    )
    update.add_argument("name", help="the peer's axis name")
    update.add_argument("--url", help="the peer's new base URL")
    for parser, required in ((add, True), (update, False)):
        parser.add_argument(
            "--axis-cert",
            required=required,
            help="the peer's axis certificate PEM (its [security] axis_cert): it checks the "
            "peer's relay signatures and receipts",
        )
        parser.add_argument(
            "--serves",
            action="append",
            required=required,
            metavar="PATTERN",
            help="agencies the peer serves: a code, a glob like '*.H26', or '*' (everything "
            "not local); repeat for several" + ("" if required else "; replaces the whole list"),
        )
        given = parser.add_mutually_exclusive_group()
        given.add_argument(
            "--token",
            help="the token the peer's operator gave for this axis to present to the peer "
            "(it stays in the shell's history: --token-file does not)",
        )
        given.add_argument(
            "--token-file",
            metavar="FILE",
            help="read that token from FILE's first line ('-': standard input)",
        )
        parser.add_argument("--json", action="store_true", help="machine output")
    lst = _sub(
        sub,
        "list",
        "list peer axes with their patterns and directory version (never a token)",
        "edoc-axis peer list --axis https://lgsp.h26.example.gov.vn:8443",
        cmd_peer_list,
    )
    lst.add_argument("--json", action="store_true", help="machine output")
    token = _sub(
        sub,
        "token",
        "issue a new token for the peer to present here (printed once; the old one stops "
        "working at once)",
        "edoc-axis peer token LGSP-H26",
        cmd_peer_token,
    )
    token.add_argument("name", help="the peer's axis name")
    token.add_argument("--json", action="store_true", help="machine output, with the token")
    for name, func, text, example in (
        (
            "disable",
            cmd_peer_disable,
            "refuse the peer's relays, route nothing to it, disable its remote agencies",
            "edoc-axis peer disable LGSP-H26",
        ),
        (
            "enable",
            cmd_peer_enable,
            "re-activate a disabled peer and its remote agencies",
            "edoc-axis peer enable LGSP-H26",
        ),
        (
            "sync",
            cmd_peer_sync,
            "fetch the peer's directory now and apply it: its agencies become remote agencies "
            "here (added, updated, disabled, skipped)",
            "edoc-axis peer sync NGSP",
        ),
    ):
        parser = _sub(sub, name, text, example, func)
        parser.add_argument("name", help="the peer's axis name")
        parser.add_argument("--json", action="store_true", help="machine output")
