"""`edoc-axis operator ...`: named operators, each with its own /admin token."""

from __future__ import annotations

import argparse
import getpass
from datetime import UTC, datetime
from typing import Any

from edoc_axis.cli.axis_registry import with_store
from edoc_axis.cli.axis_remote import quote, remote_of
from edoc_axis.cli.axis_server import config_from
from edoc_axis.cli.axis_server import operator_command as _sub
from edoc_axis.cli.common import EXIT_OK, HelpFormatter, print_json, print_table
from edoc_axis.service.operator import audit_action
from edoc_axis.service.operators import add_operator, operator_json
from edoc_axis.store import Store


def _actor() -> str:
    return f"cli:{getpass.getuser()}"


def cmd_operator_add(args: argparse.Namespace) -> int:
    remote = remote_of(args)
    if remote is not None:
        data = remote.call("POST", "/admin/v1/operators", {"name": args.name})
    else:

        async def add(store: Store) -> dict[str, Any]:
            now = datetime.now(UTC)
            operator, token = await add_operator(store, args.name, now)
            await audit_action(store, now, _actor(), "operator.add", detail={"name": args.name})
            return {**operator_json(operator), "token": token}

        data = with_store(config_from(args), add)
    if args.json:
        print_json(data)
    else:
        print(f"added operator {data['name']}")
        print(f"operator token (shown once): {data['token']}")
    return EXIT_OK


def cmd_operator_list(args: argparse.Namespace) -> int:
    remote = remote_of(args)
    if remote is not None:
        items: list[dict[str, Any]] = remote.call("GET", "/admin/v1/operators")["items"]
    else:
        found = with_store(config_from(args), lambda store: store.list_operators())
        items = [operator_json(o) for o in found]
    if args.json:
        print_json(items)
    elif not items:
        print("no named operators (only the token of operator_token_file)")
    else:
        print_table(["NAME", "ADDED"], ([o["name"], o["created_at"]] for o in items))
    return EXIT_OK


def cmd_operator_remove(args: argparse.Namespace) -> int:
    remote = remote_of(args)
    if remote is not None:
        remote.call("DELETE", f"/admin/v1/operators/{quote(args.name)}")
    else:

        async def remove(store: Store) -> None:
            now = datetime.now(UTC)
            await store.remove_operator(args.name, now)
            await audit_action(store, now, _actor(), "operator.remove", detail={"name": args.name})

        with_store(config_from(args), remove)
    print(f"removed operator {args.name}: its token no longer works")
    return EXIT_OK


def add_commands(commands: Any) -> None:
    operator = commands.add_parser(
        "operator",
        help="named operators, each with its own token for the operator API",
        formatter_class=HelpFormatter,
        description="Each named operator has its own bearer token for /admin (stored only "
        "as a hash, shown once) and is named as the actor of every operator.action it "
        "causes in the audit chain. The token of [security] operator_token_file keeps "
        "working as the unnamed operator 'operator'.",
        epilog="example:\n  edoc-axis operator add lan --config ./axis-home/axis.toml\n"
        "  edoc-axis operator list --axis https://axis:8443",
    )
    sub = operator.add_subparsers(dest="operator_command", metavar="ACTION", required=True)
    add = _sub(
        sub,
        "add",
        "register a named operator; prints its token once",
        "edoc-axis operator add lan --config ./axis-home/axis.toml",
        cmd_operator_add,
    )
    add.add_argument("name", help="1-64 letters, digits, '.', '_', '@' or '-'")
    add.add_argument("--json", action="store_true", help='print {"name", "created_at", "token"}')
    lst = _sub(
        sub,
        "list",
        "list named operators (never their tokens)",
        "edoc-axis operator list",
        cmd_operator_list,
    )
    lst.add_argument("--json", action="store_true", help="machine output")
    remove = _sub(
        sub,
        "remove",
        "remove a named operator: its token stops working at once",
        "edoc-axis operator remove lan",
        cmd_operator_remove,
    )
    remove.add_argument("name")
