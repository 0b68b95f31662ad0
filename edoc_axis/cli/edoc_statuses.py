"""`edoc statuses`: the status feed (statuses, recalls, notices) from a saved cursor.

A pull agency learns here what recipients answered about what it sent, the
recall requests (13) addressed to it and the axis's delivery-failure notices.
The feed hands out a cursor on every page, the last one too; with
``--cursor-file`` it is kept after each page, so each run (or each poll of
``--follow``) shows only what is new.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from edoc_axis.cli.common import EXIT_OK, EXIT_USAGE, CliFailure, HelpFormatter, print_json
from edoc_axis.cli.edoc_pull import with_client
from edoc_axis.cli.edoc_remote import add_connection_flags, sweep_until_stopped
from edoc_axis.cli.receive_store import raise_refusal
from edoc_axis.client import AxisClient
from edoc_axis.edxml import StatusCode
from edoc_axis.files import write_atomically
from edoc_axis.terminal import local_time


def status_line(item: dict[str, Any]) -> str:
    """One status as a line: when, code and meaning, which document, between whom."""
    if item.get("kind") == "notice":
        what = "notice  delivery failed for good"
    else:
        code = str(item["status_code"])
        what = f"{code}      {StatusCode(code).info.meaning}"
        if item.get("recall_round"):
            what += f" (round {item['recall_round']})"
    return (
        f"{local_time(item['received_at'])}  {what}  {item['document_id']}  "
        f"from {item['from']}  [{item['id']}, {item['status_id']}]"
    )


class Feed:
    """Where the feed stands: the cursor, read from and saved to the cursor file."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.file = Path(args.cursor_file) if args.cursor_file else None
        self.cursor: str | None = args.since
        self.source = "--since"
        if self.cursor is None and self.file is not None and self.file.exists():
            self.cursor = self.file.read_text(encoding="utf-8").strip() or None
            self.source = str(self.file)
        if self.file is not None:
            self.file.parent.mkdir(parents=True, exist_ok=True)

    def advance(self, cursor: str | None) -> None:
        if cursor is None or cursor == self.cursor:
            return
        self.cursor = cursor
        if self.file is not None:
            write_atomically(self.file, (cursor + "\n").encode("ascii"))


async def sweep(
    client: AxisClient, feed: Feed, limit: int, report: Callable[[dict[str, Any]], None]
) -> int:
    """Every page from the feed's cursor to the end; the cursor is saved after each page."""
    shown = 0
    while True:
        response = await client.statuses(limit, feed.cursor)
        if not response.ok:
            if response.code == "request.invalid" and feed.cursor is not None:
                hint = f" (from {feed.source}; delete it or leave --since out to start over)"
                raise CliFailure(
                    f"the axis does not know the cursor {feed.cursor!r}{hint}",
                    code="request.invalid",
                )
            raise_refusal(response)
        page = response.json()
        for item in page["items"]:
            report(item)
            shown += 1
        # resume_cursor: where to continue later, on the last page too.
        feed.advance(page.get("resume_cursor") or page.get("next_cursor"))
        if not page.get("next_cursor"):
            return shown


async def _run(args: argparse.Namespace, client: AxisClient) -> int:
    feed, stop = Feed(args), asyncio.Event()
    collected: list[dict[str, Any]] = []
    if args.follow:
        for signum in (signal.SIGINT, signal.SIGTERM):
            asyncio.get_running_loop().add_signal_handler(signum, stop.set)
    started_at = feed.cursor
    shown = await _poll(args, client, feed, stop, _reporter(args, collected))
    _summarise(args, feed, collected, shown, started_at)
    return EXIT_OK


def _reporter(
    args: argparse.Namespace, collected: list[dict[str, Any]]
) -> Callable[[dict[str, Any]], None]:
    """How one status is shown: kept for one JSON document, or printed as it comes."""

    def report(item: dict[str, Any]) -> None:
        if args.json and not args.follow:
            collected.append(item)
        elif args.json:
            print(json.dumps(item, ensure_ascii=False), flush=True)
        else:
            print(status_line(item), flush=True)

    return report


async def _poll(
    args: argparse.Namespace,
    client: AxisClient,
    feed: Feed,
    stop: asyncio.Event,
    report: Callable[[dict[str, Any]], None],
) -> int:
    """Sweep the feed once, or with --follow until ``stop``; how many statuses were shown."""
    shown = 0

    async def once() -> None:
        nonlocal shown
        shown += await sweep(client, feed, args.limit, report)

    await sweep_until_stopped(once, stop, follow=args.follow, interval=args.interval)
    return shown


def _summarise(
    args: argparse.Namespace,
    feed: Feed,
    collected: list[dict[str, Any]],
    shown: int,
    started_at: str | None,
) -> None:
    if args.json and not args.follow:
        print_json({"items": collected, "cursor": feed.cursor})
    elif not args.json and not args.follow and shown == 0:
        print("no new statuses" if started_at else "no statuses")
    if feed.file is None and feed.cursor is not None:
        print(f"continue later with: --since {feed.cursor}", file=sys.stderr)


def cmd_statuses(args: argparse.Namespace) -> int:
    if args.since is not None and not args.since.strip():
        raise CliFailure("--since needs a cursor (from an earlier run)", EXIT_USAGE)
    if args.limit < 1 or args.limit > 500:
        raise CliFailure("--limit must be between 1 and 500", EXIT_USAGE)
    return with_client(args, lambda client: _run(args, client))


def add_commands(commands: Any) -> None:
    statuses = commands.add_parser(
        "statuses",
        help="the status feed: answers, recalls and notices addressed to you",
        description="List the status messages addressed to you, oldest first: the statuses "
        "recipients send about your documents (01-06, 15/16), recall requests (13) about "
        "documents you received, and the axis's notices of deliveries that failed for good. "
        "--cursor-file FILE keeps your place (read at start, saved after each page), so the "
        "next run shows only what is new; --since CURSOR starts from a cursor an earlier run "
        "printed. --follow keeps polling until SIGINT/SIGTERM (--json then prints one JSON "
        "line per status).",
        epilog="example:\n  edoc statuses --axis http://127.0.0.1:8080 --token $TOKEN "
        "--cursor-file state/statuses.cursor --follow",
        formatter_class=HelpFormatter,
    )
    add_connection_flags(statuses)
    statuses.add_argument("--json", action="store_true", help="machine output (the API's JSON)")
    statuses.add_argument("--since", metavar="CURSOR", help="start after this cursor")
    statuses.add_argument(
        "--cursor-file", metavar="FILE", help="read the cursor from FILE and save it there"
    )
    statuses.add_argument("--follow", action="store_true", help="keep polling")
    statuses.add_argument("--interval", type=float, default=5.0, help="seconds between polls (5)")
    statuses.add_argument("--limit", type=int, default=100, help="page size per request (100)")
    statuses.set_defaults(func=cmd_statuses)
