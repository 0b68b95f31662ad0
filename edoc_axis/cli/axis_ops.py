"""`edoc-axis audit verify`, `deadletter ...` and `stats`: operations on the store."""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime
from typing import Any

from edoc_axis.cli.axis_registry import with_store
from edoc_axis.cli.axis_server import config_from, operator_command
from edoc_axis.cli.common import (
    EXIT_OK,
    EXIT_REFUSED,
    HelpFormatter,
    print_json,
    print_table,
)
from edoc_axis.service.views import delivery_json
from edoc_axis.store import Delivery, Page, Store


def _now() -> datetime:
    return datetime.now(UTC)


def cmd_audit_verify(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    report = with_store(config_from(args), lambda store: store.verify_audit())
    seconds = time.perf_counter() - started
    data = {
        "ok": report.ok,
        "entries": report.entries,
        "first_broken_seq": report.first_broken_seq,
        "reason": report.reason,
        "seconds": round(seconds, 3),
    }
    if args.json:
        print_json(data)
    elif report.ok:
        print(f"audit chain intact: {report.entries} entries verified in {seconds:.2f} s")
    else:
        print(f"audit.broken: first broken entry seq={report.first_broken_seq}: {report.reason}")
    return EXIT_OK if report.ok else EXIT_REFUSED


def cmd_deadletter_list(args: argparse.Namespace) -> int:
    async def collect(store: Store) -> list[Delivery]:
        found: list[Delivery] = []
        cursor = None
        while True:
            page: Page[Delivery] = await store.dead_letters(500, cursor)
            found.extend(page.items)
            cursor = page.next_cursor
            if cursor is None:
                return found

    letters = with_store(config_from(args), collect)
    if args.json:
        print_json([delivery_json(d) for d in letters])
    elif not letters:
        print("no dead letters")
    else:
        print_table(
            ["ID", "DOCUMENT", "RECIPIENT", "ATTEMPTS", "LAST ERROR"],
            (
                [str(d.id), d.axis_id, d.recipient_code, str(d.attempts), d.last_error or "-"]
                for d in letters
            ),
        )
    return EXIT_OK


def cmd_deadletter_retry(args: argparse.Namespace) -> int:
    delivery = with_store(config_from(args), lambda store: store.retry_dead_letter(args.id, _now()))
    print(f"delivery {delivery.id} to {delivery.recipient_code}: queued again ({delivery.state})")
    return EXIT_OK


def cmd_deadletter_discard(args: argparse.Namespace) -> int:
    delivery = with_store(
        config_from(args), lambda store: store.discard_dead_letter(args.id, _now())
    )
    print(f"delivery {delivery.id} to {delivery.recipient_code}: {delivery.state}")
    return EXIT_OK


def cmd_stats(args: argparse.Namespace) -> int:
    stats = with_store(config_from(args), lambda store: store.stats(_now()))
    by_agency = sorted(stats.by_agency_state.items())
    data: dict[str, Any] = {
        "by_state": dict(stats.by_state),
        "by_agency": [
            {"agency": agency, "state": state, "count": count}
            for (agency, state), count in by_agency
        ],
        "oldest_pending_age_s": stats.oldest_pending_age_s,
    }
    if args.json:
        print_json(data)
        return EXIT_OK
    print_table(["STATE", "DELIVERIES"], ([s, str(n)] for s, n in sorted(stats.by_state.items())))
    print()
    print_table(
        ["AGENCY", "STATE", "DELIVERIES"],
        ([agency, state, str(count)] for (agency, state), count in by_agency),
    )
    age = stats.oldest_pending_age_s
    print(f"\noldest pending delivery: {'none' if age is None else f'{age:.0f} s'}")
    return EXIT_OK


def add_commands(commands: Any) -> None:
    audit = commands.add_parser(
        "audit",
        help="the tamper-evident audit log",
        formatter_class=HelpFormatter,
        description="Every state change is appended to a hash-chained log in the same "
        "transaction as the change.",
        epilog="example:\n  edoc-axis audit verify --config axis.toml",
    )
    audit_sub = audit.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    verify = operator_command(
        audit_sub,
        "verify",
        "walk the audit chain and report the first broken link (exit 1 if any)",
        "edoc-axis audit verify --config axis.toml",
        cmd_audit_verify,
    )
    verify.add_argument("--json", action="store_true", help="machine output")

    dead = commands.add_parser(
        "deadletter",
        help="deliveries the axis gave up on",
        formatter_class=HelpFormatter,
        description="Push deliveries that ran out of retries or were refused for good.",
        epilog="example:\n  edoc-axis deadletter list\n  edoc-axis deadletter retry 42",
    )
    dead_sub = dead.add_subparsers(dest="deadletter_command", metavar="ACTION", required=True)
    listing = operator_command(
        dead_sub,
        "list",
        "list dead letters",
        "edoc-axis deadletter list --json",
        cmd_deadletter_list,
    )
    listing.add_argument("--json", action="store_true", help="machine output")
    retry = operator_command(
        dead_sub,
        "retry",
        "queue a dead letter for delivery again",
        "edoc-axis deadletter retry 42",
        cmd_deadletter_retry,
    )
    retry.add_argument("id", type=int, help="delivery id from `deadletter list`")
    discard = operator_command(
        dead_sub,
        "discard",
        "give up on a dead letter for good",
        "edoc-axis deadletter discard 42",
        cmd_deadletter_discard,
    )
    discard.add_argument("id", type=int, help="delivery id from `deadletter list`")

    stats = operator_command(
        commands,
        "stats",
        "delivery counts per state and agency, oldest pending age",
        "edoc-axis stats --json",
        cmd_stats,
    )
    stats.add_argument("--json", action="store_true", help="machine output")
