"""`edoc inbox`, `receive`, `status` and `trace` against a real `edoc-axis serve`.

Agencies and certificates come from `edoc-axis pki issue` / `agency add`; documents
from `edoc new` + `edoc sign` + `edoc send`, or, where building them is not the point,
signed in-process and sent with `edoc send`. Each test has its own recipient.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
from pathlib import Path

import pytest

from tests.acceptance.conftest import (
    G22,
    H49,
    Agency,
    AxisHome,
    AxisServer,
    help_text,
    init_home,
    run_cli,
    run_many,
)
from tests.acceptance.pull_helpers import (
    background_edoc,
    closed_port_url,
    edoc,
    flags,
    inbox_ids,
    journal,
    register_pull_agencies,
    send_new,
    send_signed,
    send_with_attachments,
)
from tests.waiting import eventually_sync

CRASH, FOREIGN, ANSWER, FOLLOW = (f"000.00.00.H{n}" for n in range(61, 65))
DEADLINE_S = 20.0


@pytest.fixture(scope="module")
def agencies(axis_home: AxisHome) -> dict[str, Agency]:
    """One pull recipient per test (and the conftest's H49), registered before serving."""
    return register_pull_agencies(axis_home, [CRASH, FOREIGN, ANSWER, FOLLOW])


@pytest.fixture(scope="module")
def server(agencies: dict[str, Agency], axis: AxisServer) -> AxisServer:
    return axis


@pytest.fixture(scope="module")
def sender(axis_home: AxisHome) -> Agency:
    return axis_home.agencies[G22]


@pytest.fixture(scope="module")
def foreign_home(tmp_path_factory: pytest.TempPathFactory) -> AxisHome:
    """Another axis home: a CA that never issued any of our agencies' certificates."""
    return init_home(tmp_path_factory.mktemp("foreign-ca"))


def test_every_pull_command_has_help_with_an_example(capsys: pytest.CaptureFixture[str]) -> None:
    from edoc_axis.cli.edoc import main

    for name in ("inbox", "receive", "status", "trace"):
        text = help_text(main, (name,), capsys)
        assert "example:" in text and f"edoc {name} " in text, name
        assert "--axis" in text and "--token" in text and "--json" in text, name


ODD_NAMES = [("../../evil.txt", b"evil"), ("..\\..\\win.txt", b"win"), ("a.txt", b"1")]
ODD_NAMES += [("a.txt", b"2"), ("..", b"dots")]
SAFE_NAMES = {"evil.txt": b"evil", "win.txt": b"win", "a.txt": b"1", "a (2).txt": b"2"}
SAFE_NAMES |= {"attachment-5": b"dots"}


def test_inbox_then_receive_saves_exact_bytes_and_attachments_then_acknowledges(
    server: AxisServer, axis_home: AxisHome, sender: Agency, tmp_path: Path
) -> None:
    me = axis_home.agencies[H49]
    letter, scan = tmp_path / "công văn.txt", tmp_path / "scan.bin"
    letter.write_text("Kính gửi: Ủy ban nhân dân tỉnh\n", encoding="utf-8")
    scan.write_bytes(os.urandom(4096))
    first = send_new(server, sender, me.code, tmp_path, attach=(letter, scan))
    odd = send_with_attachments(server, sender, me.code, tmp_path, ODD_NAMES)

    # The settings may come from the environment; --limit 1 makes it follow the cursor.
    env = {"EDOC_AXIS_URL": server.url, "EDOC_TOKEN": me.token}
    table = run_cli("edoc", "inbox", "--limit", "1", env=env).ok().stdout.splitlines()
    assert table[0].split() == ["ID", "SENDER", "DOCUMENT", "ID", "SUBJECT", "RECEIVED", "STATE"]
    assert [line.split()[:2] for line in table[1:]] == [[first.axis_id, G22], [odd.axis_id, G22]]
    listed = edoc(server, me, "inbox", "--json").ok().json()
    assert [i["id"] for i in listed] == [first.axis_id, odd.axis_id]
    assert listed[1]["subject"] == "V/v tệp đính kèm có tên lạ"

    out = tmp_path / "received"
    received = edoc(server, me, "receive", "--out", out, "--ca", axis_home.ca_cert).ok()
    assert received.stdout.splitlines() == [
        f"{first.axis_id}: saved {out / (first.axis_id + '.edxml')} (2 attachments)",
        f"{odd.axis_id}: saved {out / (odd.axis_id + '.edxml')} (5 attachments)",
    ]
    for sent in (first, odd):
        assert (out / f"{sent.axis_id}.edxml").read_bytes() == sent.raw
    assert (out / first.axis_id / "công văn.txt").read_bytes() == letter.read_bytes()
    assert (out / first.axis_id / "scan.bin").read_bytes() == scan.read_bytes()
    assert {p.name: p.read_bytes() for p in (out / odd.axis_id).iterdir()} == SAFE_NAMES
    assert not (out.parent.parent / "evil.txt").exists()
    assert all(p.resolve().is_relative_to(out.resolve()) for p in out.rglob("*"))
    entries = journal(out)
    assert [(e["id"], e["sha256"]) for e in entries] == [
        (first.axis_id, hashlib.sha256(first.raw).hexdigest()),
        (odd.axis_id, hashlib.sha256(odd.raw).hexdigest()),
    ]
    # Acknowledged: the inbox is empty and the sender's trace says so, with status 01.
    assert inbox_ids(server, me) == []
    [delivery] = edoc(server, sender, "trace", first.axis_id, "--json").ok().json()["deliveries"]
    assert (delivery["agency"], delivery["state"]) == (me.code, "acknowledged")
    assert [s["status_code"] for s in delivery["statuses"]] == ["01"]
    assert edoc(server, me, "receive", "--out", out, "--json").ok().json() == []
    assert len(journal(out)) == 2


def test_written_but_not_acknowledged_is_acknowledged_without_a_second_copy(
    server: AxisServer, sender: Agency, agencies: dict[str, Agency], tmp_path: Path
) -> None:
    me = agencies[CRASH]
    sent = send_signed(server, sender, me.code, tmp_path)
    out = tmp_path / "received"
    out.mkdir()
    target = out / f"{sent.axis_id}.edxml"

    # Other bytes under the same id: the first copy is kept, nothing is acknowledged.
    target.write_bytes(sent.raw.replace(b"KT-NT", b"KT-XX"))
    conflict = edoc(server, me, "receive", "--out", out)
    conflict.refused("receive.incomplete")
    assert conflict.stdout.startswith(f"{sent.axis_id}: refused document.conflict: ")
    assert b"KT-XX" in target.read_bytes()
    assert inbox_ids(server, me) == [sent.axis_id]

    # The crash: the document was written, the process died before the ack.
    target.write_bytes(sent.raw)
    resumed = edoc(server, me, "receive", "--out", out).ok()
    assert resumed.stdout == f"{sent.axis_id}: already saved, acknowledged\n"
    assert sorted(out.glob("*.edxml")) == [target]
    assert target.read_bytes() == sent.raw
    assert (out / sent.axis_id / "cong_van.pdf").is_file()  # completed from the verified copy
    assert [e["id"] for e in journal(out)] == [sent.axis_id]
    assert inbox_ids(server, me) == []
    assert edoc(server, me, "receive", "--out", out).ok().stdout == "no documents waiting\n"
    assert [e["id"] for e in journal(out)] == [sent.axis_id]


def test_a_signer_outside_the_given_ca_is_refused_locally_and_not_acknowledged(
    server: AxisServer,
    axis_home: AxisHome,
    foreign_home: AxisHome,
    sender: Agency,
    agencies: dict[str, Agency],
    tmp_path: Path,
) -> None:
    me = agencies[FOREIGN]
    sent = send_signed(server, sender, me.code, tmp_path)
    out = tmp_path / "received"

    refused = edoc(server, me, "receive", "--out", out, "--ca", foreign_home.ca_cert)
    refused.refused("receive.incomplete")
    assert refused.stdout.startswith(f"{sent.axis_id}: refused certificate.untrusted: ")
    assert (out / "refused" / f"{sent.axis_id}.edxml").read_bytes() == sent.raw
    reason = json.loads((out / "refused" / f"{sent.axis_id}.reason.json").read_text("utf-8"))
    assert reason["code"] == "certificate.untrusted"
    assert not (out / f"{sent.axis_id}.edxml").exists() and journal(out) == []
    assert inbox_ids(server, me) == [sent.axis_id]
    [delivery] = edoc(server, sender, "trace", sent.axis_id, "--json").ok().json()["deliveries"]
    assert delivery["state"] != "acknowledged" and delivery["statuses"] == []

    trusted = edoc(server, me, "receive", "--out", out, "--ca", axis_home.ca_cert).ok()
    assert trusted.stdout.startswith(f"{sent.axis_id}: saved ")
    assert inbox_ids(server, me) == []


def test_statuses_move_forward_and_show_in_the_senders_trace(
    server: AxisServer, sender: Agency, agencies: dict[str, Agency], tmp_path: Path
) -> None:
    me = agencies[ANSWER]
    sent = send_signed(server, sender, me.code, tmp_path, subject="V/v báo cáo tiến độ")
    axis_id = sent.axis_id
    signing = ("--key", str(me.key), "--cert", str(me.cert))
    accepted = edoc(
        server, me, "status", axis_id, "--code", "03", "--staff", "Nguyễn Thị Ngọc Trâm",
        "--department", "Văn thư", "--note", "Đã vào sổ", *signing,
    ).ok()  # fmt: skip
    assert "03 (accepted and registered) accepted" in accepted.stdout
    by_env = run_cli(
        "edoc", "status", axis_id, "--code", "04", "--json", *flags(server, me),
        env={"EDOC_KEY": str(me.key), "EDOC_CERT": str(me.cert)},
    ).ok().json()  # fmt: skip
    assert (by_env["status_code"], by_env["new"], by_env["from"]) == ("04", True, me.code)

    conn = flags(server, me)
    backwards, unsigned, wrong_role, no_to, unknown = run_many(
        [
            ("edoc", ("status", axis_id, "--code", "02", *conn, *signing)),
            ("edoc", ("status", axis_id, "--code", "06", *conn)),  # [security] policy
            ("edoc", ("status", axis_id, "--code", "03", *flags(server, sender))),
            ("edoc", ("status", axis_id, "--code", "13", *flags(server, sender))),
            ("edoc", ("status", "no-such-document", "--code", "05", *conn)),
        ]
    )
    backwards.refused("status.transition")
    unsigned.refused("signature.missing")
    wrong_role.refused("status.not-allowed")
    no_to.refused("error", exit_code=2)
    unknown.refused("not-found")

    recall = ("status", axis_id, "--code", "13", "--to", me.code)
    edoc(server, sender, *recall, "--key", sender.key, "--cert", sender.cert).ok()
    assert (
        "15 (agrees to the recall/update)"
        in edoc(server, me, "status", axis_id, "--code", "15", *signing).ok().stdout
    )

    trace = edoc(server, sender, "trace", axis_id, "--json").ok().json()
    [delivery] = trace["deliveries"]
    assert [s["status_code"] for s in delivery["statuses"]] == ["03", "04", "13", "15"]
    assert delivery["statuses"][0]["staff"]["staff"] == "Nguyễn Thị Ngọc Trâm"
    assert delivery["status_code"] == "04"

    # A revoke acting on it is listed among the follow-ups.
    revoke_flags = ("--business", "revoke", "--ref", trace["document_id"])
    revoke = send_new(server, sender, me.code, tmp_path, subject="V/v thu hồi", extra=revoke_flags)

    text = edoc(server, sender, "trace", axis_id).ok().stdout
    assert axis_id in text and "V/v báo cáo tiến độ" in text and me.code in text
    meanings = [
        "status 03 accepted and registered",
        "status 04 assigned for handling",
        f"status 13 asks to recall the document (from {G22})",
        "status 15 agrees to the recall/update",
    ]
    positions = [text.index(meaning) for meaning in meanings]
    assert positions == sorted(positions), text
    assert "staff: Nguyễn Thị Ngọc Trâm, Văn thư" in text
    assert "\nfollow-ups:\n" in text and f"{revoke.axis_id}  revoke  " in text


def test_follow_picks_up_a_document_sent_later_and_stops_cleanly_on_sigterm(
    server: AxisServer, sender: Agency, agencies: dict[str, Agency], tmp_path: Path
) -> None:
    me = agencies[FOLLOW]
    out = tmp_path / "received"
    follow = ("receive", "--follow", "--interval", "0.1", "--out", str(out))
    with background_edoc(*follow, *flags(server, me)) as process:
        eventually_sync(lambda: (out / "refused").is_dir(), DEADLINE_S, "receive --follow to start")
        sent = send_signed(server, sender, me.code, tmp_path)
        eventually_sync(lambda: len(journal(out)) == 1, DEADLINE_S, "the document to be saved")
        assert journal(out)[0]["id"] == sent.axis_id
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=DEADLINE_S)
    assert process.returncode == 0, stderr.decode()
    assert stdout.decode().startswith(f"{sent.axis_id}: saved ")
    assert (out / f"{sent.axis_id}.edxml").read_bytes() == sent.raw
    assert inbox_ids(server, me) == []


def test_unreachable_axis_is_exit_3_and_usage_errors_exit_2(tmp_path: Path) -> None:
    conn = ("--axis", closed_port_url(), "--token", "t")
    unreachable = run_many(
        [
            ("edoc", ("inbox", *conn)),
            ("edoc", ("receive", "--out", tmp_path / "in", *conn)),
            ("edoc", ("receive", "--follow", "--out", tmp_path / "in", *conn)),
            ("edoc", ("status", "x", "--code", "03", *conn)),
            ("edoc", ("trace", "x", *conn)),
        ]
    )
    for result in unreachable:
        result.refused("unreachable", exit_code=3)
    # Usage errors never reach the network: the parser and the settings (in-process).
    from edoc_axis.cli.edoc import main

    assert main(["inbox", "--axis", conn[1]]) == 2  # no token anywhere
    assert main(["status", "x", "--code", "03", "--key", "k.pem", *conn]) == 2
    assert main(["status", "x", "--code", "13", *conn]) == 2  # a recall names its recipient
    for argv in (["receive", *conn], ["status", "x", "--code", "99", *conn]):
        with pytest.raises(SystemExit) as exited:
            main(argv)
        assert exited.value.code == 2
