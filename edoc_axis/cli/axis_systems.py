"""`edoc-axis system ...`: the document systems that connect over VDXP."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any

from edoc_axis.cli.axis_registry import with_store
from edoc_axis.cli.axis_remote import quote, remote_of
from edoc_axis.cli.axis_server import config_from
from edoc_axis.cli.axis_server import operator_command as _sub
from edoc_axis.cli.common import EXIT_OK, CliFailure, HelpFormatter, print_json, print_table
from edoc_axis.service.systems import (
    check_system_id,
    register_system,
    rotate_system_secret,
    system_json,
)
from edoc_axis.store import Store, SystemState, VdxpSystem


def _print_secret(args: argparse.Namespace, system: dict[str, Any], secret: str, verb: str) -> None:
    if args.json:
        print_json({**system, "secret": secret})
        return
    print(f"{verb} VDXP system {system['system_id']} for {', '.join(system['agencies'])}")
    print(f"secret (shown once): {secret}")


def _path(args: argparse.Namespace, action: str = "") -> str:
    return f"/admin/v1/systems/{quote(args.system_id)}" + (f"/{action}" if action else "")


def cmd_system_add(args: argparse.Namespace) -> int:
    try:
        check_system_id(args.system_id)
    except ValueError as exc:
        raise CliFailure(str(exc), exit_code=2) from exc
    remote = remote_of(args)
    if remote is not None:
        data = remote.call(
            "POST", "/admin/v1/systems", {"system_id": args.system_id, "agencies": args.agency}
        )
        secret = str(data.pop("secret"))
        _print_secret(args, data, secret, "registered")
        return EXIT_OK
    config = config_from(args)

    async def add(store: Store) -> tuple[VdxpSystem, str]:
        return await register_system(
            store, config.vdxp_key_file(), args.system_id, args.agency, datetime.now(UTC)
        )

    system, secret = with_store(config, add)
    _print_secret(args, system_json(system), secret, "registered")
    return EXIT_OK


def cmd_system_rotate(args: argparse.Namespace) -> int:
    remote = remote_of(args)
    if remote is not None:
        data = remote.call("POST", _path(args, "rotate"))
        secret = str(data.pop("secret"))
        _print_secret(args, data, secret, "new secret for")
        return EXIT_OK
    config = config_from(args)

    async def rotate(store: Store) -> tuple[VdxpSystem, str]:
        return await rotate_system_secret(
            store, config.vdxp_key_file(), args.system_id, datetime.now(UTC)
        )

    system, secret = with_store(config, rotate)
    _print_secret(args, system_json(system), secret, "new secret for")
    return EXIT_OK


def cmd_system_list(args: argparse.Namespace) -> int:
    remote = remote_of(args)
    if remote is not None:
        items: list[dict[str, Any]] = remote.call("GET", "/admin/v1/systems")["items"]
    else:
        systems = with_store(config_from(args), lambda store: store.list_systems())
        items = [system_json(s) for s in systems]
    if args.json:
        print_json(items)
    else:
        print_table(
            ["SYSTEM", "STATE", "AGENCIES", "SECRET SET"],
            (
                [s["system_id"], s["state"], ",".join(s["agencies"]), s["secret_set_at"]]
                for s in items
            ),
        )
    return EXIT_OK


def _set_state(args: argparse.Namespace, state: SystemState) -> int:
    remote = remote_of(args)
    if remote is not None:
        data = remote.call("POST", _path(args, "disable" if state == "disabled" else "enable"))
        print(f"VDXP system {data['system_id']} is {data['state']}")
        return EXIT_OK

    async def change(store: Store) -> VdxpSystem:
        return await store.set_system_state(args.system_id, state, datetime.now(UTC))

    system = with_store(config_from(args), change)
    print(f"VDXP system {system.system_id} is {system.state}")
    return EXIT_OK


def cmd_system_disable(args: argparse.Namespace) -> int:
    return _set_state(args, "disabled")


def cmd_system_enable(args: argparse.Namespace) -> int:
    return _set_state(args, "active")


def add_commands(commands: Any) -> None:
    system = commands.add_parser(
        "system",
        help="document systems that connect over VDXP (HMAC shared secrets)",
        formatter_class=HelpFormatter,
        description="A document system using the official VDXP client authenticates with a "
        "system id and a shared secret, and may send only From the agencies it is bound to. "
        "Secrets are sealed in the store under [vdxp] secret_key_file and printed once.",
        epilog="example:\n  edoc-axis system add vxp.saas.03 --agency 000.00.00.G22 "
        "--config ./axis-home/axis.toml\n  edoc-axis system list --axis https://axis:8443",
    )
    sub = system.add_subparsers(dest="system_command", metavar="ACTION", required=True)
    add = _sub(
        sub,
        "add",
        "register a system bound to one or more agencies; prints its secret once",
        "edoc-axis system add vxp.saas.03 --agency 000.00.00.G22 --agency 000.00.00.H49",
        cmd_system_add,
    )
    add.add_argument("system_id", help="the client's systemId (tenant id or agency code)")
    add.add_argument(
        "--agency",
        action="append",
        required=True,
        help="an agency (code or alias) the system may speak for; repeat for several",
    )
    add.add_argument("--json", action="store_true", help="machine output, with the secret")
    lst = _sub(
        sub, "list", "list systems (never their secrets)", "edoc-axis system list", cmd_system_list
    )
    lst.add_argument("--json", action="store_true", help="machine output")
    rot = _sub(
        sub,
        "rotate",
        "replace the system's secret (the old one stops working at once); prints it once",
        "edoc-axis system rotate vxp.saas.03",
        cmd_system_rotate,
    )
    rot.add_argument("system_id")
    rot.add_argument("--json", action="store_true", help="machine output, with the secret")
    for name, func, text in (
        ("disable", cmd_system_disable, "refuse every call of the system"),
        ("enable", cmd_system_enable, "re-activate a disabled system"),
    ):
        _sub(sub, name, text, f"edoc-axis system {name} vxp.saas.03", func).add_argument(
            "system_id"
        )
