"""`edoc-axis` operator commands over the operator API of a (remote) axis.

With ``--axis URL`` (or env EDOC_AXIS_URL) and ``--operator-token`` (or env
EDOC_OPERATOR_TOKEN) a command calls /admin/v1 and needs no access to the
axis's files; with ``--config`` it works on the local store as before.
"""

from __future__ import annotations

import argparse
import json
import os
import ssl
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from edoc_axis.cli.common import (
    EXIT_OK,
    EXIT_USAGE,
    CliFailure,
    HelpFormatter,
    Unreachable,
    load_profile,
    print_json,
    print_table,
)

_TIMEOUT_S = 60.0


class Remote:
    """A blocking client of /admin/v1 (one operator command, one or a few calls)."""

    def __init__(
        self,
        url: str,
        token: str,
        cafile: str | None = None,
        client_cert: tuple[str, str] | None = None,
    ) -> None:
        if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
            raise CliFailure(
                f"--axis must be an http or https URL, not {url!r}", exit_code=EXIT_USAGE
            )
        self.url = url.rstrip("/")
        self.token = token
        self.context = ssl.create_default_context(cafile=cafile) if cafile or client_cert else None
        if client_cert is not None and self.context is not None:
            # under mutual TLS the axis records the certificate's subject as the operator
            self.context.load_cert_chain(client_cert[0], client_cert[1])

    def _open(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        # the scheme was checked to be http(s) in __init__
        request = urllib.request.Request(self.url + path, data=data, method=method)  # noqa: S310
        request.add_header("Authorization", f"Bearer {self.token}")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            return urllib.request.urlopen(request, timeout=_TIMEOUT_S, context=self.context)  # noqa: S310
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            try:
                problem = json.loads(raw)
                raise CliFailure(
                    str(problem.get("detail")), code=str(problem.get("code"))
                ) from None
            except (ValueError, AttributeError):
                raise CliFailure(f"HTTP {exc.code} from {self.url}{path}") from None
        except (urllib.error.URLError, OSError) as exc:
            raise Unreachable(f"cannot reach the axis at {self.url}: {exc}") from None

    def call(self, method: str, path: str, body: Any = None) -> Any:
        with self._open(method, path, body) as response:
            return json.loads(response.read())

    def lines(self, path: str) -> Iterator[str]:
        with self._open("GET", path) as response:
            for line in response:
                yield line.decode("utf-8").rstrip("\n")


def add_remote_flags(parser: argparse.ArgumentParser, *, local: bool = False) -> None:
    """--axis and its companions; a ``local`` command takes --axis only to refuse it."""
    if local:
        parser.add_argument(
            "--axis", help="refused: this command works on the axis host only (--config)"
        )
        parser.add_argument("--operator-token", help=argparse.SUPPRESS)
        return
    parser.add_argument("--axis", help="axis base URL: use its operator API (env EDOC_AXIS_URL)")
    parser.add_argument("--operator-token", help="operator token (env EDOC_OPERATOR_TOKEN)")
    parser.add_argument("--cacert", help="CA bundle for an https axis with a private CA")
    parser.add_argument("--client-cert", help="operator client certificate PEM (mutual TLS)")
    parser.add_argument("--client-key", help="its private key PEM")


def _axis_url(args: argparse.Namespace) -> str | None:
    """The axis URL the command line asks for, or None for the local store.

    ``--config`` means local; ``--axis`` together with ``--config`` is a usage
    error (never a silent choice between the two); otherwise ``--axis`` or
    EDOC_AXIS_URL means remote, and without either the local configuration is
    looked up as before (EDOC_AXIS_CONFIG, ./axis.toml).
    """
    if getattr(args, "config", None):
        if getattr(args, "axis", None):
            raise CliFailure(
                "give --axis URL (the operator API) or --config FILE (the local store), not both",
                exit_code=EXIT_USAGE,
            )
        return None
    return _setting(args, "axis", "EDOC_AXIS_URL", "axis")


OPERATOR_PROFILE_ENV = "EDOC_AXIS_PROFILE"
OPERATOR_PROFILE = Path("~/.config/edoc-axis/profile.toml")


def _setting(args: argparse.Namespace, flag: str, env: str | None, key: str) -> str | None:
    """A remote setting: the flag wins, then the environment, then the operator's profile
    (EDOC_AXIS_PROFILE or ~/.config/edoc-axis/profile.toml: keys axis, operator_token,
    cacert, client_cert, client_key)."""
    value = getattr(args, flag, None) or (os.environ.get(env) if env else None)
    if not value:
        value = load_profile(OPERATOR_PROFILE_ENV, OPERATOR_PROFILE).get(key)
    return str(value) if value else None


def local_only(func: Callable[[argparse.Namespace], int], why: str) -> Callable[..., int]:
    """``func`` for a command that works on the axis host only: refuses --axis / EDOC_AXIS_URL."""

    def run(args: argparse.Namespace) -> int:
        if _axis_url(args) is not None:
            raise CliFailure(f"needs --config: {why}", exit_code=EXIT_USAGE)
        return func(args)

    run.__doc__ = func.__doc__
    return run


def remote_of(args: argparse.Namespace) -> Remote | None:
    """The remote axis to use (``--axis`` or EDOC_AXIS_URL), or None for the local store."""
    url = _axis_url(args)
    if url is None:
        return None
    token = _setting(args, "operator_token", "EDOC_OPERATOR_TOKEN", "operator_token")
    if not token:
        raise CliFailure(
            "--axis needs --operator-token (or env EDOC_OPERATOR_TOKEN, or operator_token in "
            "the profile)",
            exit_code=EXIT_USAGE,
        )
    cert = _setting(args, "client_cert", None, "client_cert")
    key = _setting(args, "client_key", None, "client_key")
    if (cert is None) != (key is None):
        raise CliFailure("--client-cert and --client-key go together", exit_code=EXIT_USAGE)
    pair = None if cert is None or key is None else (cert, key)
    try:
        return Remote(url, token, _setting(args, "cacert", None, "cacert"), pair)
    except (OSError, ssl.SSLError) as exc:
        raise CliFailure(f"cannot load the TLS files: {exc}", exit_code=EXIT_USAGE) from None


def query(**params: Any) -> str:
    given = {k: str(v) for k, v in params.items() if v is not None}
    return "?" + urllib.parse.urlencode(given) if given else ""


def quote(text: str) -> str:
    return urllib.parse.quote(text, safe="")


# -- agency certificates (remote or local) --------------------------------------------
def _cert_rows(items: list[dict[str, Any]]) -> Iterator[list[str]]:
    for c in items:
        yield [
            c["fingerprint"][:16],
            c.get("not_after", "-"),
            str(c.get("expires_in_days", "-")),
            c.get("subject", c.get("error", "-")),
        ]


def cmd_cert_list(args: argparse.Namespace) -> int:
    remote = remote_of(args)
    if remote is not None:
        data = remote.call("GET", f"/admin/v1/agencies/{quote(args.code)}/certificates")
    else:
        data = _local_certificates(args)
    if args.json:
        print_json(data)
    else:
        print_table(
            ["FINGERPRINT", "NOT AFTER", "DAYS LEFT", "SUBJECT"], _cert_rows(data["certificates"])
        )
    return EXIT_OK


def _local_certificates(args: argparse.Namespace) -> dict[str, Any]:
    from datetime import UTC, datetime

    from edoc_axis.cli.axis_registry import with_store
    from edoc_axis.cli.axis_server import config_from
    from edoc_axis.errors import NotFound
    from edoc_axis.service.operator import certificates
    from edoc_axis.store import Store

    async def work(store: Store) -> dict[str, Any]:
        agency = await store.get_agency(args.code)
        if agency is None:
            raise NotFound(f"no agency {args.code}")
        items = await certificates(store, agency, datetime.now(UTC))
        return {"agency": agency.code, "certificates": items}

    return with_store(config_from(args), work)


def cmd_cert_add(args: argparse.Namespace) -> int:
    remote = remote_of(args)
    if remote is None:
        raise CliFailure(
            "agency cert add goes through the operator API (it checks the certificate "
            "against the axis's trust anchors): give --axis URL",
            exit_code=EXIT_USAGE,
        )
    with open(args.cert, encoding="utf-8") as handle:
        pem = handle.read()
    agency = remote.call(
        "POST", f"/admin/v1/agencies/{quote(args.code)}/certificates", {"certificate": pem}
    )
    if args.json:
        print_json(agency)
    else:
        print(f"{agency['code']}: {len(agency['certificate_fingerprints'])} certificates")
    return EXIT_OK


def cmd_cert_remove(args: argparse.Namespace) -> int:
    remote = remote_of(args)
    if remote is None:
        raise CliFailure("agency cert remove needs --axis URL", exit_code=EXIT_USAGE)
    path = f"/admin/v1/agencies/{quote(args.code)}/certificates/{quote(args.fingerprint)}"
    agency = remote.call("DELETE", path)
    print(f"{agency['code']}: {len(agency['certificate_fingerprints'])} certificates")
    return EXIT_OK


def cmd_agency_search(args: argparse.Namespace) -> int:
    remote = remote_of(args)
    if remote is None:
        raise CliFailure("agency search needs --axis URL", exit_code=EXIT_USAGE)
    data = remote.call("GET", "/admin/v1/search/agencies" + query(q=args.text))
    if args.json:
        print_json(data)
    else:
        print_table(
            ["CODE", "NAME", "STATE"], ([a["code"], a["name"], a["state"]] for a in data["items"])
        )
    return EXIT_OK


def add_agency_commands(sub: Any) -> None:
    """`agency cert add|remove|list` and `agency search`, under the agency command."""
    from edoc_axis.cli.axis_server import operator_command

    cert = sub.add_parser(
        "cert",
        help="an agency's signing certificates",
        description="List an agency's certificates with their expiry, add or remove one.",
        formatter_class=HelpFormatter,
        epilog="example:\n  edoc-axis agency cert list 000.00.00.G22 --axis https://axis:8443",
    )
    cert_sub = cert.add_subparsers(dest="cert_command", metavar="ACTION", required=True)
    lst = operator_command(
        cert_sub,
        "list",
        "certificates with their expiry",
        "edoc-axis agency cert list 000.00.00.G22 --axis https://axis:8443",
        cmd_cert_list,
    )
    add = operator_command(
        cert_sub,
        "add",
        "register another signing certificate (checked against the trust anchors)",
        "edoc-axis agency cert add 000.00.00.G22 new.pem --axis https://axis:8443",
        cmd_cert_add,
    )
    remove = operator_command(
        cert_sub,
        "remove",
        "unregister a certificate by its SHA-256 fingerprint",
        "edoc-axis agency cert remove 000.00.00.G22 3f2a... --axis https://axis:8443",
        cmd_cert_remove,
    )
    search = operator_command(
        sub,
        "search",
        "agencies whose code, alias or name contains TEXT",
        "edoc-axis agency search 'Hòa Bình' --axis https://axis:8443",
        cmd_agency_search,
    )
    for parser in (lst, add, remove, search):
        parser.add_argument("--json", action="store_true", help="machine output")
    for parser in (lst, add, remove):
        parser.add_argument("code", help="agency code or alias")
    add.add_argument("cert", help="certificate PEM file")
    remove.add_argument("fingerprint", help="lowercase hex SHA-256 (agency show)")
    search.add_argument("text")
