"""`edoc-axis audit ...`, `deadletter ...` and `stats`: on the local store (``--config``)
or, with ``--axis URL``, through the operator API (cli/axis_remote.py)."""

from __future__ import annotations

import argparse
import getpass
import json
import time
from datetime import UTC, datetime
from typing import Any

from edoc_axis.cli.axis_registry import with_store
from edoc_axis.cli.axis_remote import query, remote_of
from edoc_axis.cli.axis_server import config_from, operator_command
from edoc_axis.cli.common import (
    EXIT_OK,
    EXIT_REFUSED,
    HelpFormatter,
    print_json,
    print_table,
)
from edoc_axis.service.operator import (
    DeadLetterFilter,
    act_on_dead_letter,
    act_on_dead_letters,
    audit_entries,
    audit_line,
    dead_letter,
    report_json,
    verify_lines,
    verify_range,
)
from edoc_axis.service.views import delivery_json
from edoc_axis.store import Delivery, Page, Store


def _now() -> datetime:
    return datetime.now(UTC)


def cmd_audit_verify(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    remote = None if args.file else remote_of(args)
    if args.file:
        with open(args.file, encoding="utf-8") as handle:
            data = report_json(verify_lines(handle), scope="file")
    elif remote is not None:
        data = remote.call(
            "GET", "/admin/v1/audit/verify" + query(**{"from": args.from_seq, "to": args.to_seq})
        )
    elif args.from_seq or args.to_seq:
        first, last = args.from_seq or 1, args.to_seq
        report = with_store(config_from(args), lambda store: verify_range(store, first, last))
        data = report_json(report, scope="range")
    else:
        report = with_store(config_from(args), lambda store: store.verify_audit())
        data = report_json(report, scope="chain")
    seconds = time.perf_counter() - started
    data["seconds"] = round(seconds, 3)
    if args.json:
        print_json(data)
    elif data["ok"]:
        print(f"audit chain intact: {data['entries']} entries verified in {seconds:.2f} s")
    else:
        print(f"audit.broken: first broken entry seq={data['first_broken_seq']}: {data['reason']}")
    return EXIT_OK if data["ok"] else EXIT_REFUSED


def cmd_audit_head(args: argparse.Namespace) -> int:
    remote = remote_of(args)
    if remote is not None:
        head = remote.call("GET", "/admin/v1/audit/head")
    else:
        found = with_store(config_from(args), lambda store: store.audit_head())
        head = {"seq": found.seq, "hash": found.hash}
    if args.json:
        print_json(head)
    else:
        print(f"seq {head['seq']} hash {head['hash']}")
    return EXIT_OK


def cmd_audit_export(args: argparse.Namespace) -> int:
    """JSON lines on stdout, for `audit verify --file` anywhere."""
    remote = remote_of(args)
    if remote is not None:
        for line in remote.lines(
            "/admin/v1/audit/export" + query(**{"from": args.from_seq, "to": args.to_seq})
        ):
            print(line)
        return EXIT_OK

    async def export(store: Store) -> None:
        async for entry in audit_entries(store, args.from_seq or 1, args.to_seq):
            print(json.dumps(audit_line(entry), ensure_ascii=False))

    with_store(config_from(args), export)
    return EXIT_OK


def _remote_letters(args: argparse.Namespace) -> list[dict[str, Any]] | None:
    remote = remote_of(args)
    if remote is None:
        return None
    found: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = remote.call(
            "GET",
            "/admin/v1/dead-letters"
            + query(agency=args.agency, since=args.since, limit=500, cursor=cursor),
        )
        found.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return found


def cmd_deadletter_list(args: argparse.Namespace) -> int:
    remote_letters = _remote_letters(args)
    if remote_letters is not None:
        if args.json:
            print_json(remote_letters)
        elif not remote_letters:
            print("no dead letters")
        else:
            print_table(
                ["ID", "DOCUMENT", "RECIPIENT", "ATTEMPTS", "LAST ERROR"],
                (
                    [
                        str(d["id"]),
                        d["document"],
                        d["agency"],
                        str(d["attempts"]),
                        d["last_error"] or "-",
                    ]
                    for d in remote_letters
                ),
            )
        return EXIT_OK
    where = DeadLetterFilter(
        args.agency, datetime.fromisoformat(args.since) if args.since else None
    )

    async def collect(store: Store) -> list[Delivery]:
        found: list[Delivery] = []
        cursor = None
        while True:
            page: Page[Delivery] = await store.dead_letters(500, cursor)
            found.extend(d for d in page.items if where.matches(d))
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


def _act(args: argparse.Namespace, action: str) -> int:
    """Retry or discard each id; every one is audited with the operator's name."""
    remote = remote_of(args)
    if remote is not None:
        if len(args.id) == 1:
            results = [
                {
                    "id": args.id[0],
                    "ok": True,
                    "delivery": remote.call(
                        "POST", f"/admin/v1/dead-letters/{args.id[0]}/{action}"
                    ),
                }
            ]
        else:
            results = remote.call("POST", f"/admin/v1/dead-letters/{action}", {"ids": args.id})[
                "results"
            ]
    elif len(args.id) == 1:  # one id: its failure is the command's (exit code, problem code)
        actor = f"cli:{getpass.getuser()}"
        one = with_store(
            config_from(args),
            lambda store: act_on_dead_letter(store, action, args.id[0], _now(), actor),
        )
        results = [{"id": one.id, "ok": True, "delivery": delivery_json(one)}]
    else:
        actor = f"cli:{getpass.getuser()}"
        results = with_store(
            config_from(args),
            lambda store: act_on_dead_letters(store, action, args.id, _now(), actor),
        )
    failed = 0
    for result in results:
        if result["ok"]:
            d = result["delivery"]
            what = f"queued again ({d['state']})" if action == "retry" else d["state"]
            print(f"delivery {d['id']} to {d['agency']}: {what}")
        else:
            failed += 1
            print(f"{result['error']['code']}: {result['error']['detail']}")
    return EXIT_OK if not failed else EXIT_REFUSED


def cmd_deadletter_retry(args: argparse.Namespace) -> int:
    return _act(args, "retry")


def cmd_deadletter_discard(args: argparse.Namespace) -> int:
    return _act(args, "discard")


def cmd_deadletter_show(args: argparse.Namespace) -> int:
    remote = remote_of(args)
    if remote is not None:
        data = remote.call("GET", f"/admin/v1/dead-letters/{args.id}")
    else:
        data = delivery_json(
            with_store(config_from(args), lambda store: dead_letter(store, args.id))
        )
    print_json(data)
    return EXIT_OK


def cmd_stats(args: argparse.Namespace) -> int:
    remote = remote_of(args)
    if remote is not None:
        remote_data = remote.call(
            "GET", "/admin/v1/stats" + query(since=args.since, until=args.until, agency=args.agency)
        )
        if args.json:
            print_json(remote_data)
            return EXIT_OK
        print_table(
            ["STATE", "DELIVERIES"],
            ([s, str(n)] for s, n in sorted(remote_data["by_state"].items())),
        )
        print()
        print_table(
            ["AGENCY", "ACCEPTED", "REFUSED", "DELIVERED", "RETRIES", "PENDING", "OLDEST PENDING"],
            (
                [
                    a["agency"],
                    str(a["window"]["accepted"]),
                    str(sum(a["window"]["refused"].values())),
                    str(a["window"]["delivered"]),
                    str(a["window"]["retries"]),
                    str(a["deliveries"].get("pending", 0)),
                    "-"
                    if a["oldest_pending_age_s"] is None
                    else f"{a['oldest_pending_age_s']:.0f} s",
                ]
                for a in remote_data["agencies"]
            ),
        )
        return EXIT_OK
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
    verify.add_argument("--file", help="verify an export (audit export) instead, offline")
    head = operator_command(
        audit_sub,
        "head",
        "the chain's last seq and hash",
        "edoc-axis audit head --axis URL",
        cmd_audit_head,
    )
    head.add_argument("--json", action="store_true", help="machine output")
    export = operator_command(
        audit_sub,
        "export",
        "entries as JSON lines on stdout (check with audit verify --file)",
        "edoc-axis audit export --axis URL --from 1 > audit.jsonl",
        cmd_audit_export,
    )
    for parser in (verify, export):
        parser.add_argument("--from", dest="from_seq", type=int, help="first seq (default 1)")
        parser.add_argument("--to", dest="to_seq", type=int, help="last seq (default: the end)")

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
    listing.add_argument("--agency", help="only dead letters to this agency")
    listing.add_argument("--since", help="only those queued at or after this ISO time")
    show = operator_command(
        dead_sub,
        "show",
        "one delivery in full",
        "edoc-axis deadletter show 42",
        cmd_deadletter_show,
    )
    show.add_argument("id", type=int, help="delivery id from `deadletter list`")
    retry = operator_command(
        dead_sub,
        "retry",
        "queue a dead letter for delivery again",
        "edoc-axis deadletter retry 42",
        cmd_deadletter_retry,
    )
    retry.add_argument("id", type=int, nargs="+", help="delivery ids from `deadletter list`")
    discard = operator_command(
        dead_sub,
        "discard",
        "give up on a dead letter for good",
        "edoc-axis deadletter discard 42",
        cmd_deadletter_discard,
    )
    discard.add_argument("id", type=int, nargs="+", help="delivery ids from `deadletter list`")

    stats = operator_command(
        commands,
        "stats",
        "delivery counts per state and agency, oldest pending age",
        "edoc-axis stats --json",
        cmd_stats,
    )
    stats.add_argument("--json", action="store_true", help="machine output")
    stats.add_argument("--since", help="window start, ISO time (--axis; default 24 h ago)")
    stats.add_argument("--until", help="window end, ISO time (--axis)")
    stats.add_argument("--agency", help="one agency only (--axis)")
