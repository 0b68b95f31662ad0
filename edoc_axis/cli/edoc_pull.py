"""`edoc` commands of a pull agency: inbox, receive, status, trace."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from edoc_axis.cli.common import (
    EXIT_OK,
    EXIT_USAGE,
    CliFailure,
    HelpFormatter,
    cert_files,
    key_file,
    print_json,
    print_table,
    setting,
)
from edoc_axis.cli.edoc_remote import (
    add_connection_flags,
    connection,
    sweep_until_stopped,
    unreachable,
)
from edoc_axis.cli.receive_store import (
    FETCH_BATCH,
    SAVED,
    Receiver,
    ReceiveStore,
    acknowledge_saved,
    checked,
    waiting,
)
from edoc_axis.client import ApiResponse, AxisClient, AxisUnreachable
from edoc_axis.clock import vietnam_now
from edoc_axis.core.compose import new_status
from edoc_axis.core.statuses import check_sender_role
from edoc_axis.edxml import (
    REAL_WORLD,
    DocumentPackage,
    StatusCode,
    XmlLimits,
    build_status,
)
from edoc_axis.edxml.aside import read_setting_aside
from edoc_axis.keyfiles import load_trust_store
from edoc_axis.signature import VerificationPolicy, sign_package
from edoc_axis.terminal import Progress, local_time, print_trace

T = TypeVar("T")
LINES = {
    "saved": "{id}: saved {path} ({count} attachments)",
    "already-saved": "{id}: already saved, acknowledged",
}
INBOX_KEYS = ("id", "sender", "document_id", "subject", "received_at", "state")


ACK_BATCH = 50
"""Saved documents acknowledged in one request by `edoc receive`."""


def with_client(args: argparse.Namespace, work: Callable[[AxisClient], Awaitable[T]]) -> T:
    """Run ``work`` with a client of the configured axis; unreachable is exit 3."""
    conn = connection(args)

    async def run() -> T:
        async with conn.client() as client:
            return await work(client)

    try:
        return asyncio.run(run())
    except AxisUnreachable as exc:
        raise unreachable(exc) from exc


def cmd_inbox(args: argparse.Namespace) -> int:
    items = with_client(args, lambda client: waiting(client, args.limit))
    rows = [[str(item[key])[:60] for key in INBOX_KEYS] for item in items]
    for row in rows:
        row[4] = local_time(row[4])
    headers = ["ID", "SENDER", "DOCUMENT ID", "SUBJECT", "RECEIVED", "STATE"]
    print_json(items) if args.json else print_table(headers, rows)
    return EXIT_OK


class Session:
    """One `edoc receive` run: sweeps of the inbox, a line per document."""

    def __init__(self, args: argparse.Namespace) -> None:
        trust = None
        if args.ca:
            trust = load_trust_store([Path(p) for p in args.ca], [Path(p) for p in args.crl])
        policy = VerificationPolicy(allow_legacy=args.legacy)
        self.receiver = Receiver(ReceiveStore(Path(args.out)), policy, trust)
        self.json, self.follow = args.json, args.follow
        self.given_up: set[str] = set()  # refused: not retried at every poll of --follow
        self.failed: set[str] = set()  # the axis failed us: retried at the next poll

    async def sweep(self, client: AxisClient, stop: asyncio.Event) -> list[dict[str, Any]]:
        """One pass over the inbox; stops between documents when asked to.

        Saved documents are acknowledged ACK_BATCH at a time in one request (and
        at the end of the pass, or when stopped), then reported.
        """
        items = [item for item in await waiting(client) if item["id"] not in self.given_up]
        ids = [item["id"] for item in items]
        sizes = {item["id"]: int(item.get("size") or 0) for item in items}
        progress = Progress(len(ids), "receiving")
        results: list[dict[str, Any]] = []
        saved: list[dict[str, Any]] = []
        try:
            async with contextlib.aclosing(
                self.receiver.receive_many(client, ids, sizes)
            ) as received:
                async for result in received:  # each one is saved (or refused) already
                    self.hold_or_report(result, saved, results)
                    if len(saved) >= ACK_BATCH:
                        results += map(self.report, await acknowledge_saved(client, saved))
                        saved = []
                    progress.advance()
                    if stop.is_set():
                        break
            results += map(self.report, await acknowledge_saved(client, saved))
        finally:
            progress.close()
        return results

    def hold_or_report(
        self, result: dict[str, Any], saved: list[dict[str, Any]], results: list[dict[str, Any]]
    ) -> None:
        """A saved document waits for its acknowledgement; any other outcome is reported now."""
        if result["outcome"] in SAVED:
            saved.append(result)
        else:
            results.append(self.report(result))

    def report(self, result: dict[str, Any]) -> dict[str, Any]:
        self.failed.discard(result["id"])
        if result["outcome"] == "refused":
            self.given_up.add(result["id"])
        elif result["outcome"] == "failed":
            self.failed.add(result["id"])
        if self.json and self.follow:  # JSON lines while following, else one array at the end
            print(json.dumps(result, ensure_ascii=False), flush=True)
        elif not self.json:
            line = LINES.get(result["outcome"], "{id}: refused {code}: {detail}")
            print(line.format(count=len(result.get("attachments", [])), **result), flush=True)
        return result


async def _receive(args: argparse.Namespace, client: AxisClient) -> int:
    session, stop = Session(args), asyncio.Event()
    session.receiver.store.prepare()
    if args.follow:
        for signum in (signal.SIGINT, signal.SIGTERM):
            asyncio.get_running_loop().add_signal_handler(signum, stop.set)
    results: list[dict[str, Any]] = []

    async def sweep() -> None:
        results.extend(await session.sweep(client, stop))

    await sweep_until_stopped(sweep, stop, follow=args.follow, interval=args.interval)
    if not args.follow and (args.json or not results):
        print_json(results) if args.json else print("no documents waiting")
    if session.given_up or session.failed:  # each document's reason is on its own line above
        unacked = f"{len(session.given_up | session.failed)} document(s) not acknowledged"
        raise CliFailure(unacked, code="receive.incomplete")
    return EXIT_OK


def cmd_receive(args: argparse.Namespace) -> int:
    return with_client(args, lambda client: _receive(args, client))


def compose_status(args: argparse.Namespace, me: dict[str, Any], raw_document: bytes) -> bytes:
    """The status package about the fetched document, signed when a key is given."""
    # Only its header is needed: a large attachment's text stays in the bytes (edxml.aside).
    limits = XmlLimits(max_bytes=max(len(raw_document), XmlLimits.max_bytes))
    _root, _aside, document = read_setting_aside(raw_document, limits, REAL_WORLD)
    if not isinstance(document, DocumentPackage):
        raise CliFailure(f"{args.document} is a status message, not a document")
    code = StatusCode(args.code)
    is_sender = document.sender.organ_id.upper() in {me["code"], *me.get("alias_codes", [])}
    check_sender_role(code, is_sender=is_sender, is_recipient=not is_sender)
    raw = build_status(
        new_status(
            sender=me["code"],
            sender_name=me.get("name"),
            about_document_id=document.document_id,
            counterparty=args.to if code == StatusCode.RECALL_REQUEST else document.sender.organ_id,
            code=code,
            at=vietnam_now(),
            document_code=f"{document.code.code_number}/{document.code.code_notation}",
            description=args.note,
            staff=args.staff,
            department=args.department,
        )
    )
    key, cert = _signing(args)
    if key and cert:
        return sign_package(raw, key_file(key), cert_files(cert)[0])
    return raw


def _signing(args: argparse.Namespace) -> list[str | None]:
    return [setting(args, n, f"EDOC_{n.upper()}", required=False) for n in ("key", "cert")]


def cmd_status(args: argparse.Namespace) -> int:
    if (args.code == StatusCode.RECALL_REQUEST) != bool(args.to):
        raise CliFailure("--to AGENCY is needed with --code 13 and only there", EXIT_USAGE)
    if len([v for v in _signing(args) if v]) == 1:
        raise CliFailure("--key and --cert go together", EXIT_USAGE)

    async def post(client: AxisClient) -> ApiResponse:
        me = checked(await client.me()).json()
        document = checked(await client.document(args.document))
        return checked(await client.post_status(compose_status(args, me, document.body)))

    response = with_client(args, post)
    result = {**response.json(), "new": response.status == 202}
    meaning = StatusCode(result["status_code"]).info.meaning
    verdict = "accepted" if result["new"] else "already recorded"
    line = f"status {result['status_id']}: {result['status_code']} ({meaning}) {verdict}"
    print_json(result) if args.json else print(line)
    return EXIT_OK


def cmd_trace(args: argparse.Namespace) -> int:
    data = checked(with_client(args, lambda client: client.trace(args.document))).json()
    print_json(data) if args.json else print_trace(data)
    return EXIT_OK


def _parser(commands: Any, name: str, summary: str, description: str, example: str) -> Any:
    parser = commands.add_parser(
        name,
        help=summary,
        description=description,
        epilog=f"example:\n  {example}",
        formatter_class=HelpFormatter,
    )
    add_connection_flags(parser)
    parser.add_argument("--json", action="store_true", help="machine output (the API's JSON)")
    return parser


def add_commands(commands: Any) -> None:
    url = "--axis http://127.0.0.1:8080 --token $TOKEN"
    inbox = _parser(commands, "inbox", "list the documents waiting for you",
        "List every document waiting in your inbox (all pages), oldest first.",
        f"edoc inbox {url}")  # fmt: skip
    inbox.add_argument("--limit", type=int, default=100, help="page size per request (100)")
    inbox.set_defaults(func=cmd_inbox)

    receive = _parser(commands, "receive", "download, verify, save and acknowledge",
        f"Download the waiting documents ({FETCH_BATCH} per request, a document of 1 MiB or "
        "more alone; one at a time from an axis without batch fetch), verify each one's "
        "signature (with --ca also the signer certificate), save it as DIR/<id>.edxml with "
        "its attachments under DIR/<id>/, record it in DIR/received.jsonl, then acknowledge "
        f"it (saved documents are acknowledged {ACK_BATCH} at a time in one request). A "
        "document that fails verification is kept in DIR/refused/ and not acknowledged; the "
        "exit code is then 1. --follow keeps polling until SIGINT/SIGTERM (--json then prints "
        "one JSON line per document).",
        f"edoc receive {url} --out inbox/ --ca ca.cert.pem --follow")  # fmt: skip
    receive.add_argument("--out", required=True, metavar="DIR", help="where to save")
    receive.add_argument("--follow", action="store_true", help="keep polling")
    receive.add_argument("--interval", type=float, default=5.0, help="seconds between polls (5)")
    receive.add_argument("--ca", action="append", help="trusted CA certificate PEM (repeat)")
    receive.add_argument("--crl", action="append", default=[], help="CRL file (repeat)")
    receive.add_argument("--legacy", action="store_true", help="accept the SDK's SHA-1 form")
    receive.set_defaults(func=cmd_receive)

    status = _parser(commands, "status", "answer a document with a status message",
        "Send a status about a document (by its axis id): 01-06 and 15/16 as a recipient, "
        "13 (ask to recall) as its sender, naming the recipient with --to. Signed with "
        "--key/--cert (EDOC_KEY/EDOC_CERT), unsigned otherwise.",
        f"edoc status 01JD... --code 03 --staff 'Lê Văn A' --key key.pem --cert cert.pem \\\n"
        f"    {url}")  # fmt: skip
    status.add_argument("document", metavar="DOCUMENT_ID", help="the document's axis id")
    status.add_argument("--code", required=True, choices=[c.value for c in StatusCode])
    status.add_argument("--note", help="Description")
    status.add_argument("--staff", help="StaffInfo/Staff")
    status.add_argument("--department", help="StaffInfo/Department")
    status.add_argument("--to", metavar="AGENCY", help="the recipient a recall (13) is for")
    status.add_argument("--key", help="PEM private key (EDOC_KEY)")
    status.add_argument("--cert", help="PEM certificate (EDOC_CERT)")
    status.set_defaults(func=cmd_status)

    trace = _parser(commands, "trace", "the delivery and status timeline of a document",
        "Per recipient: queued, delivered, acknowledged and every status in time order; "
        "then the revokes/updates/replacements that act on the document.",
        f"edoc trace 01JD... {url}")  # fmt: skip
    trace.add_argument("document", metavar="DOCUMENT_ID", help="the document's axis id")
    trace.set_defaults(func=cmd_trace)
