"""Helpers for the pull-side acceptance tests (`edoc inbox/receive/status/trace`).

Documents go through the real tools (`edoc new`, `edoc sign`, `edoc send`) unless
what a test needs cannot be said on a command line (an attachment named
``../../evil.txt``); such packages are built in-process and still sent by `edoc send`.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.acceptance.conftest import (
    TOOLS,
    Agency,
    AxisHome,
    AxisServer,
    CliResult,
    cli_env,
    next_number,
    run_cli,
    run_many,
    signed_document,
)
from tests.ports import free_port


@dataclass(frozen=True)
class Sent:
    axis_id: str
    raw: bytes
    path: Path


def flags(axis: AxisServer, agency: Agency) -> tuple[str, ...]:
    return ("--axis", axis.url, "--token", agency.token)


def edoc(axis: AxisServer, agency: Agency, *args: str | Path, **kwargs: Any) -> CliResult:
    """``edoc ARGS --axis URL --token TOKEN`` as ``agency``."""
    return run_cli("edoc", *args, *flags(axis, agency), **kwargs)


def register_pull_agencies(home: AxisHome, codes: list[str]) -> dict[str, Agency]:
    """Issue certificates in parallel, then register each as a pull agency (CLI only)."""
    outs = {code: home.work / code.replace(".", "_") for code in codes}
    issued = run_many(
        [
            ("edoc-axis", ("pki", "issue", code, "--out", outs[code], "--config", home.config))
            for code in codes
        ]
    )
    for result in issued:
        result.ok()
    for code in codes:
        key, cert = outs[code] / "key.pem", outs[code] / "cert.pem"
        added = home.axis(
            "agency", "add", code, "--name", f"Cơ quan {code}", "--cert", cert, "--pull", "--json"
        ).ok()
        home.agencies[code] = Agency(code, key, cert, added.json()["token"])
    return {code: home.agencies[code] for code in codes}


def send_file(axis: AxisServer, sender: Agency, path: Path) -> Sent:
    """``edoc send FILE --json``: the axis id of the accepted package."""
    sent = edoc(axis, sender, "send", path, "--json").ok().json()
    assert sent[0]["verdict"] == "accepted", sent
    return Sent(sent[0]["axis_id"], path.read_bytes(), path)


def send_new(
    axis: AxisServer,
    sender: Agency,
    to: str,
    work: Path,
    *,
    subject: str = "V/v tiếp nhận văn bản qua trục",
    attach: tuple[Path, ...] = (),
    extra: tuple[str, ...] = (),
) -> Sent:
    """`edoc new` + `edoc sign` + `edoc send`, as an agency's clerk does it."""
    number = next_number()
    unsigned, signed = work / f"{number}.xml", work / f"{number}.signed.xml"
    attach_flags = [item for path in attach for item in ("--attach", str(path))]
    run_cli(
        "edoc", "new", "--from", sender.code, "--to", to, "--subject", subject,
        "--code-number", number, "--code-notation", "KT-NT", *attach_flags, *extra, "-o", unsigned,
    ).ok()  # fmt: skip
    run_cli("edoc", "sign", unsigned, "--key", sender.key, "--cert", sender.cert, "-o", signed).ok()
    return send_file(axis, sender, signed)


def send_signed(axis: AxisServer, sender: Agency, to: str, work: Path, **kwargs: Any) -> Sent:
    """A package signed in-process (conftest's ``signed_document``), sent by `edoc send`."""
    path = work / f"doc-{next_number()}.signed.xml"
    path.write_bytes(signed_document(sender, to=(to,), **kwargs))
    return send_file(axis, sender, path)


def send_with_attachments(
    axis: AxisServer, sender: Agency, to: str, work: Path, files: list[tuple[str, bytes]]
) -> Sent:
    """A package whose attachment names no command line can produce, sent by `edoc send`."""
    from edoc_axis.core.compose import new_document
    from edoc_axis.edxml import Attachment, build_document
    from edoc_axis.pki import load_certs, load_key
    from edoc_axis.signature import sign_package

    package = new_document(
        sender=sender.code,
        recipients=[to],
        subject="V/v tệp đính kèm có tên lạ",
        at=(datetime.now(UTC) + timedelta(hours=7)).replace(tzinfo=None),
        code_number=next_number(),
        code_notation="KT-NT",
        attachments=[
            Attachment.from_bytes(f"cid:{i}", name, data) for i, (name, data) in enumerate(files)
        ],
    )
    raw = sign_package(build_document(package), load_key(sender.key), load_certs(sender.cert)[0])
    path = work / f"odd-{next_number()}.signed.xml"
    path.write_bytes(raw)
    return send_file(axis, sender, path)


def inbox_ids(axis: AxisServer, agency: Agency) -> list[str]:
    return [item["id"] for item in edoc(axis, agency, "inbox", "--json").ok().json()]


def journal(out: Path) -> list[dict[str, Any]]:
    path = out / "received.jsonl"
    if not path.exists():
        return []
    complete = path.read_text("utf-8").split("\n")[:-1]  # a line being written is not yet one
    return [json.loads(line) for line in complete if line]


def closed_port_url() -> str:
    """A URL on which nothing listens (a port just released by the kernel)."""
    return f"http://127.0.0.1:{free_port()}"


@contextmanager
def background_edoc(*args: str | Path) -> Iterator[subprocess.Popen[bytes]]:
    """A long-running `edoc` (e.g. receive --follow); killed on the way out, whatever happens."""
    process = subprocess.Popen(
        [str(TOOLS["edoc"]), *map(str, args)],
        env=cli_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=15)
        for pipe in (process.stdout, process.stderr):
            if pipe is not None:
                pipe.close()
