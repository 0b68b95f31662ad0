"""`edoc-axis agency ...` and `edoc-axis pki issue`: registry care on the store."""

from __future__ import annotations

import argparse
import asyncio
import csv
import getpass
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from edoc_axis.cli import axis_remote
from edoc_axis.cli.axis_server import config_from
from edoc_axis.cli.axis_server import operator_command as _sub
from edoc_axis.cli.common import (
    EXIT_OK,
    CliFailure,
    HelpFormatter,
    Unreachable,
    describe_os_error,
    print_json,
    print_table,
)
from edoc_axis.config import AxisConfig
from edoc_axis.errors import EdocError, Unavailable
from edoc_axis.files import make_private_folder
from edoc_axis.keyfiles import load_certs, load_key
from edoc_axis.pki import Issued, issue_certificate, save_issued
from edoc_axis.service.operator import audit_action
from edoc_axis.service.registry import register_agency, rotate_token
from edoc_axis.service.views import agency_json
from edoc_axis.store import Agency, AgencyState, Store
from edoc_axis.store.factory import open_store
from edoc_axis.terminal import Progress

T = TypeVar("T")


def with_store(config: AxisConfig, work: Callable[[Store], Awaitable[T]]) -> T:
    async def run() -> T:
        store = await open_store(config)
        try:
            return await work(store)
        finally:
            await store.close()

    return asyncio.run(run())


def _now() -> datetime:
    return datetime.now(UTC)


async def _must_get(store: Store, code: str) -> Agency:
    agency = await store.get_agency(code)
    if agency is None:
        raise CliFailure(f"no agency {code}", code="not-found")
    return agency


def _read_pem(path: str) -> bytes:
    pem = Path(path).read_bytes()
    try:
        pem.decode("ascii")
    except UnicodeDecodeError:
        raise CliFailure(f"{path} is not a PEM certificate file (it is not text)") from None
    return pem


def _add_remote(remote: axis_remote.Remote, spec: dict[str, Any]) -> tuple[str, str]:
    """POST /admin/v1/agencies; the canonical code and the one-time token."""
    data = remote.call(
        "POST",
        "/admin/v1/agencies",
        {
            "code": spec["code"],
            "name": spec["name"],
            "aliases": spec["aliases"],
            "delivery_mode": spec["delivery_mode"],
            "endpoint_url": spec["endpoint_url"],
            "certificates": [spec["pem"].decode("ascii")],
        },
    )
    return str(data["code"]), str(data["token"])


async def _add_local(store: Store, spec: dict[str, Any]) -> tuple[str, str]:
    agency, token = await register_agency(
        store,
        code=spec["code"],
        name=spec["name"],
        aliases=spec["aliases"],
        delivery_mode=spec["delivery_mode"],
        endpoint_url=spec["endpoint_url"],
        certificate_pems=[spec["pem"]],
        at=_now(),
    )
    return agency.code, token


def cmd_agency_add(args: argparse.Namespace) -> int:
    if bool(args.endpoint) == bool(args.pull):
        raise CliFailure("give exactly one of --endpoint URL or --pull", exit_code=2)
    remote = axis_remote.remote_of(args)
    spec = {
        "code": args.code,
        "name": args.name,
        "aliases": args.alias or [],
        "delivery_mode": "pull" if args.pull else "push",
        "endpoint_url": args.endpoint,
        "pem": _read_pem(args.cert),
    }
    if remote is not None:
        code, token = _add_remote(remote, spec)
    else:
        code, token = with_store(config_from(args), lambda store: _add_local(store, spec))
    if args.json:
        print_json({"code": code, "token": token})
    else:
        print(f"registered {code} ({args.name.strip()}), {spec['delivery_mode']} delivery")
        print(f"API token (shown once): {token}")
    return EXIT_OK


def cmd_agency_list(args: argparse.Namespace) -> int:
    remote = axis_remote.remote_of(args)
    if remote is not None:
        rows = remote.call("GET", "/admin/v1/agencies")["agencies"]
    else:
        agencies = with_store(config_from(args), lambda store: store.list_agencies())
        rows = [agency_json(a) for a in agencies]
    if args.json:
        print_json(rows)
        return EXIT_OK
    print_table(
        ["CODE", "NAME", "STATE", "MODE", "PEER", "ALIASES", "CERTS"],
        (
            [
                a["code"],
                a["name"],
                a["state"],
                a["delivery_mode"],
                a.get("peer") or "-",  # the peer axis that serves a remote agency
                ",".join(a["alias_codes"]) or "-",
                str(len(a["certificate_fingerprints"])),
            ]
            for a in rows
        ),
    )
    return EXIT_OK


def cmd_agency_show(args: argparse.Namespace) -> int:
    remote = axis_remote.remote_of(args)
    if remote is not None:
        data = remote.call("GET", f"/admin/v1/agencies/{axis_remote.quote(args.code)}")
    else:
        data = agency_json(with_store(config_from(args), lambda store: _must_get(store, args.code)))
    if args.json:
        print_json(data)
    else:
        for name, value in data.items():
            shown = ", ".join(value) if isinstance(value, list) else value
            print(f"{name.replace('_', ' '):26} {shown if shown not in ('', None) else '-'}")
    return EXIT_OK


def _set_state(args: argparse.Namespace, state: AgencyState) -> int:
    remote = axis_remote.remote_of(args)
    if remote is not None:
        verb = "disable" if state == "disabled" else "enable"
        remote.call("POST", f"/admin/v1/agencies/{axis_remote.quote(args.code)}/{verb}")
        print(f"{args.code}: {state}")
        return EXIT_OK

    async def change(store: Store) -> None:
        agency = await _must_get(store, args.code)
        await store.set_agency_state(agency.code, state)
        actor = f"cli:{getpass.getuser()}"
        await audit_action(store, _now(), actor, f"agency.{state}", agency=agency.code)

    with_store(config_from(args), change)
    print(f"{args.code}: {state}")
    return EXIT_OK


def cmd_agency_disable(args: argparse.Namespace) -> int:
    return _set_state(args, "disabled")


def cmd_agency_enable(args: argparse.Namespace) -> int:
    return _set_state(args, "active")


def cmd_agency_rotate(args: argparse.Namespace) -> int:
    remote = axis_remote.remote_of(args)
    if remote is not None:
        path = f"/admin/v1/agencies/{axis_remote.quote(args.code)}/rotate-token"
        data = remote.call("POST", path)
        code, token = str(data["code"]), str(data["token"])
    else:

        async def rotate(store: Store) -> tuple[str, str]:
            agency = await _must_get(store, args.code)
            return agency.code, await rotate_token(store, agency.code, _now())

        code, token = with_store(config_from(args), rotate)
    if args.json:
        print_json({"code": code, "token": token})
    else:
        print(f"new API token for {code} (shown once; the old ones no longer work): {token}")
    return EXIT_OK


def cmd_agency_remove(args: argparse.Namespace) -> int:
    """Remove a test agency with what it sent and received (agency.not-removable otherwise)."""
    remote = axis_remote.remote_of(args)
    if remote is not None:
        data = remote.call("DELETE", f"/admin/v1/agencies/{axis_remote.quote(args.code)}")
        code, removed = str(data["code"]), dict(data["removed"])
    else:

        async def remove(store: Store) -> tuple[str, dict[str, int]]:
            agency = await _must_get(store, args.code)
            return agency.code, await store.remove_test_agency(agency.code, at=_now())

        code, removed = with_store(config_from(args), remove)
    if args.json:
        print_json({"code": code, "removed": removed})
    else:
        print(
            f"removed test agency {code} with {removed.get('documents', 0)} documents and "
            f"{removed.get('statuses', 0)} statuses"
        )
    return EXIT_OK


def _import_row(row: dict[str, str], base: Path) -> dict[str, Any]:
    missing = [c for c in ("code", "name", "mode", "cert") if not (row.get(c) or "").strip()]
    if missing:
        raise CliFailure(f"missing column value(s): {', '.join(missing)}")
    cert_path = Path(row["cert"].strip())
    return {
        "code": row["code"].strip(),
        "name": row["name"].strip(),
        "aliases": [a for a in (row.get("aliases") or "").replace(";", " ").split() if a],
        "delivery_mode": row["mode"].strip(),
        "endpoint_url": (row.get("endpoint") or "").strip() or None,
        "pem": (cert_path if cert_path.is_absolute() else base / cert_path).read_bytes(),
    }


def _row_error(exc: Exception) -> str:
    """One ``code: detail`` for a CSV row (an EdocError's str() already carries its code)."""
    if isinstance(exc, EdocError):
        return f"{exc.code}: {exc.detail}"
    if isinstance(exc, CliFailure):
        return f"{exc.code or 'import.failed'}: {exc.message}"
    if isinstance(exc, OSError):
        return f"import.failed: {describe_os_error(exc)}"
    return f"import.failed: {exc}"


_PROGRESS_EVERY = 100  # rows, for a log when stderr is not a terminal


class _Import:
    """One CSV import: every row attempted in order, each result kept as it comes.

    A row refused by the registry is reported and the next one tried; when the
    axis (or the store) cannot be reached, or the operator interrupts, the
    import stops and says which lines were registered (with their tokens,
    shown only this once), which one may or may not have been, and which were
    not attempted.
    """

    def __init__(self, path: Path, rows: list[dict[str, str]], json_out: bool) -> None:
        self.path = path
        self.rows = rows
        self.json_out = json_out
        self.results: list[dict[str, Any]] = []
        self.progress = Progress(len(rows), f"agency import {path.name}")

    def spec(self, row: dict[str, str]) -> dict[str, Any]:
        return _import_row(row, self.path.parent)

    def done(self, line: int, row: dict[str, str], result: dict[str, Any]) -> None:
        self.results.append({"line": line, "code": row.get("code"), **result})
        self.progress.advance()
        count = len(self.results)
        if not self.progress.enabled and count % _PROGRESS_EVERY == 0 and count < len(self.rows):
            print(f"agency import: {count} of {len(self.rows)} rows", file=sys.stderr)

    def run_remote(self, remote: axis_remote.Remote) -> None:
        for line, row in enumerate(self.rows, start=2):
            try:
                code, token = _add_remote(remote, self.spec(row))
                self.done(line, row, {"code": code, "token": token})
            except Unreachable:
                raise
            except (EdocError, CliFailure, OSError) as exc:
                self.done(line, row, {"error": _row_error(exc)})

    async def run_local(self, store: Store) -> None:
        for line, row in enumerate(self.rows, start=2):
            try:
                code, token = await _add_local(store, self.spec(row))
                self.done(line, row, {"code": code, "token": token})
            except Unavailable:
                raise
            except (EdocError, CliFailure, OSError) as exc:
                self.done(line, row, {"error": _row_error(exc)})

    def report(self) -> None:
        self.progress.close()
        if self.json_out:
            print_json(self.results)
            return
        print_table(
            ["LINE", "CODE", "RESULT"],
            (
                [str(r["line"]), str(r["code"]), r.get("error") or f"token {r['token']}"]
                for r in self.results
            ),
        )

    def stopped(self, why: str) -> CliFailure:
        line = len(self.results) + 2
        last = len(self.rows) + 1
        return CliFailure(
            f"import stopped at CSV line {line} ({why}): the lines above are as reported; "
            f"line {line} may or may not be registered (check with `agency show`), "
            f"lines {line + 1}..{last} were not attempted"
            if line < last
            else f"import stopped at CSV line {line} ({why}): the lines above are as "
            f"reported; line {line} may or may not be registered (check with `agency show`)",
            code="import.stopped",
        )


def cmd_agency_import(args: argparse.Namespace) -> int:
    path = Path(args.file)
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    remote = axis_remote.remote_of(args)
    job = _Import(path, rows, args.json)
    try:
        if remote is not None:
            job.run_remote(remote)
        else:
            with_store(config_from(args), job.run_local)
    except (Unreachable, Unavailable) as exc:
        job.report()
        raise job.stopped(str(exc)) from None
    except KeyboardInterrupt:
        job.report()
        raise job.stopped("interrupted") from None
    job.report()
    failed = [r for r in job.results if "error" in r]
    if failed:
        lines = ", ".join(str(r["line"]) for r in failed)
        raise CliFailure(
            f"{len(failed)} of {len(job.results)} rows not registered (CSV line {lines})",
            code="import.failed",
        )
    return EXIT_OK


def cmd_pki_issue(args: argparse.Namespace) -> int:
    config = config_from(args)
    if config.ca_key is None:
        raise CliFailure("this axis home has no development CA key ([security] ca_key)")
    ca = Issued(key=load_key(config.ca_key), cert=load_certs(config.trust_anchors[0])[0])
    issued = issue_certificate(
        ca, args.name or args.code, agency_code=args.code, key_type=args.key_type
    )
    out = Path(args.out)
    make_private_folder(out)
    save_issued(issued, out / "key.pem", out / "cert.pem")
    print(f"wrote {out / 'key.pem'} and {out / 'cert.pem'} for {args.code}")
    return EXIT_OK


def add_commands(commands: Any) -> None:
    agency = commands.add_parser(
        "agency",
        help="register and care for agencies",
        formatter_class=HelpFormatter,
        description="The agency registry: codes (QCVN 102, QĐ 20 and legacy aliases), "
        "certificates, delivery mode, API tokens (stored only as hashes).",
        epilog="example:\n  edoc-axis agency list --config ./axis-home/axis.toml\n"
        "  edoc-axis agency add 000.00.00.H49 --name 'UBND tỉnh Hòa Bình' "
        "--cert h49/cert.pem --pull",
    )
    sub = agency.add_subparsers(dest="agency_command", metavar="ACTION", required=True)
    add = _sub(
        sub,
        "add",
        "register an agency; prints its API token once",
        "edoc-axis agency add 000.00.00.G22 --name 'Văn phòng Chính phủ' "
        "--cert g22/cert.pem --pull --alias G22",
        cmd_agency_add,
    )
    add.add_argument("code", help="agency code (QCVN 102 form preferred)")
    add.add_argument("--name", required=True, help="agency name")
    add.add_argument("--cert", required=True, help="signing certificate PEM")
    add.add_argument("--endpoint", help="push endpoint URL")
    add.add_argument("--pull", action="store_true", help="the agency polls its inbox")
    add.add_argument("--alias", action="append", help="another code for it (QĐ 20, legacy)")
    add.add_argument("--json", action="store_true", help='print {"code", "token"}')
    lst = _sub(sub, "list", "list agencies", "edoc-axis agency list --json", cmd_agency_list)
    lst.add_argument("--json", action="store_true", help="machine output")
    show = _sub(sub, "show", "show one agency", "edoc-axis agency show G22", cmd_agency_show)
    show.add_argument("code")
    show.add_argument("--json", action="store_true", help="machine output")
    for name, func, text in (
        ("disable", cmd_agency_disable, "refuse the agency's calls and documents to it"),
        ("enable", cmd_agency_enable, "re-activate a disabled agency"),
    ):
        toggle = _sub(sub, name, text, f"edoc-axis agency {name} 000.00.00.H49", func)
        toggle.add_argument("code")
    rot = _sub(
        sub,
        "rotate-token",
        "revoke the agency's tokens and issue a new one",
        "edoc-axis agency rotate-token 000.00.00.G22",
        cmd_agency_rotate,
    )
    rot.add_argument("code")
    rot.add_argument("--json", action="store_true", help="machine output")
    remove = _sub(
        sub,
        "remove",
        "remove a test agency with what it sent and received (never a real one)",
        "edoc-axis agency remove 000.00.00.T01 --axis https://axis:8443",
        cmd_agency_remove,
    )
    remove.add_argument("code")
    remove.add_argument("--json", action="store_true", help="machine output")
    imp = _sub(
        sub,
        "import",
        "register agencies from a CSV file (code,name,aliases,mode,"
        "endpoint,cert); cert paths relative to the CSV",
        "edoc-axis agency import agencies.csv --json",
        cmd_agency_import,
    )
    imp.add_argument("file", help="CSV with a header row")
    imp.add_argument("--json", action="store_true", help="machine output")
    axis_remote.add_agency_commands(sub)

    pki = commands.add_parser(
        "pki",
        help="development CA",
        formatter_class=HelpFormatter,
        description="The development CA made by `edoc-axis init`.",
        epilog="example:\n  edoc-axis pki issue 000.00.00.G22 --out g22/ "
        "--config ./axis-home/axis.toml",
    )
    pki_sub = pki.add_subparsers(dest="pki_command", metavar="ACTION", required=True)
    issue = _sub(
        pki_sub,
        "issue",
        "issue an agency key + certificate from the development CA",
        "edoc-axis pki issue 000.00.00.G22 --out g22/",
        cmd_pki_issue,
        local="pki issue signs with the development CA key, which stays on the axis host",
    )
    issue.add_argument("code", help="agency code (goes into the certificate subject)")
    issue.add_argument("--out", required=True, help="folder for key.pem and cert.pem")
    issue.add_argument("--name", help="organisation name")
    issue.add_argument("--key-type", choices=["rsa", "ec"], default="rsa", help="rsa (2048) or ec")
