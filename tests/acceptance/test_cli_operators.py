"""`edoc-axis operator add / list / remove` on the axis host, and the named
operator's token used from elsewhere with --axis: its actions audited under its
name, refused once it is removed."""

from __future__ import annotations

import getpass
import json
from pathlib import Path

from tests.acceptance.conftest import G22, AxisServer, init_home, run_cli


def test_a_named_operator_is_added_used_remotely_audited_and_removed(tmp_path: Path) -> None:
    home = init_home(tmp_path)
    home.register(G22, "Văn phòng Chính phủ")
    assert home.axis("operator", "list").ok().stdout.startswith("no named operators")
    added = home.axis("operator", "add", "lan", "--json").ok().json()
    assert added["name"] == "lan" and added["token"].startswith("op_")
    text = home.axis("operator", "add", "mai").ok().stdout
    assert "operator token (shown once): op_" in text
    home.axis("operator", "add", "lan").refused("operator.exists")
    home.axis("operator", "add", "operator").refused("schema.invalid")
    listed = home.axis("operator", "list", "--json").ok().json()
    assert [o["name"] for o in listed] == ["lan", "mai"]
    assert "token" not in json.dumps(listed)

    server = AxisServer(home.config, home.work)
    server.start()
    try:
        remote = ("--axis", server.url, "--operator-token", added["token"])
        run_cli("edoc-axis", "agency", "disable", G22, *remote, cwd=tmp_path).ok()
        names = run_cli("edoc-axis", "operator", "list", "--json", *remote, cwd=tmp_path).ok()
        assert [o["name"] for o in names.json()] == ["lan", "mai"]
        home.axis("operator", "remove", "lan").ok()
        run_cli("edoc-axis", "agency", "enable", G22, *remote, cwd=tmp_path).refused(
            "auth.required"
        )
        legacy = ("--axis", server.url, "--operator-token", home.operator_token)
        run_cli("edoc-axis", "agency", "enable", G22, *legacy, cwd=tmp_path).ok()
    finally:
        server.stop()
    home.axis("operator", "remove", "lan").refused("not-found")

    exported = home.axis("audit", "export").ok().stdout.splitlines()
    events = [json.loads(line) for line in exported]
    for e in events:  # the export keeps each detail as its exact stored text
        e["detail"] = json.loads(e["detail"])
    actions = [
        (e["detail"]["actor"], e["detail"]["action"])
        for e in events
        if e["event"] == "operator.action"
    ]
    cli = f"cli:{getpass.getuser()}"
    assert actions == [
        (cli, "operator.add"),
        (cli, "operator.add"),
        ("lan", f"POST /admin/v1/agencies/{G22}/disable"),
        (cli, "operator.remove"),
        ("operator", f"POST /admin/v1/agencies/{G22}/enable"),
    ]
    assert [(e["event"], e["detail"]["name"]) for e in events if e["event"] in (
        "operator.added", "operator.removed")] == [
        ("operator.added", "lan"), ("operator.added", "mai"), ("operator.removed", "lan")
    ]  # fmt: skip
