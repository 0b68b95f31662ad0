"""`edoc-axis peer add / update / list / token / disable / enable / sync` (#17).

Two real axes, each an `edoc-axis serve` process: the province axis LGSP-H26
and the national axis NGSP. The two operators exchange tokens with the CLI,
one locally (--config) and one over the operator API (--axis); `peer sync`
brings the other axis's agencies in as remote agencies, shown with their peer
by `agency list`. Refusals are one line with a stable code.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.acceptance.conftest import (
    G22,
    AxisHome,
    AxisServer,
    CliResult,
    run_cli,
    run_many,
)
from tests.ports import free_port

H26_AGENCY = "000.00.01.H26"


def _home(work: Path, axis_name: str) -> AxisHome:
    """``edoc-axis init --name``: a peer knows an axis by its name."""
    work.mkdir(parents=True, exist_ok=True)
    run_cli("edoc-axis", "init", work / "home", "--port", "0", "--name", axis_name).ok()
    home = AxisHome(root=work / "home", work=work)
    assert f'name = "{axis_name}"' in home.config.read_text("utf-8")
    return home


def _token(result: CliResult, phrase: str) -> str:
    line = next(line for line in result.stdout.splitlines() if phrase in line)
    return line.rsplit(": ", 1)[1].strip()


def _agencies(home: AxisHome) -> dict[str, tuple[str, str | None]]:
    listed = home.axis("agency", "list", "--json").ok().json()
    return {a["code"]: (a["state"], a["peer"]) for a in listed}


def test_two_operators_connect_their_axes_and_sync_directories(tmp_path: Path) -> None:
    h26 = _home(tmp_path / "h26", "LGSP-H26")
    ngsp = _home(tmp_path / "ngsp", "NGSP")
    ngsp.register(G22, "Văn phòng Chính phủ")
    h26.register(H26_AGENCY, "Sở Nội vụ tỉnh H26")
    national, province = AxisServer(ngsp.config, ngsp.work), AxisServer(h26.config, h26.work)
    national.start()
    province.start()
    try:
        on_ngsp = ("--axis", national.url, "--operator-token", ngsp.operator_token)

        def remote(*args: str) -> CliResult:
            return run_cli("edoc-axis", "peer", *args, *on_ngsp, cwd=tmp_path)

        # 1. the province operator adds the national axis (locally): one token, shown once
        added = h26.axis("peer", "add", "NGSP", "--url", national.url,
                         "--axis-cert", ngsp.axis_cert, "--serves", "*").ok()  # fmt: skip
        for_ngsp = _token(added, "the token it presents here (shown once)")
        assert for_ngsp.startswith("edoc_")
        assert "name:       LGSP-H26" in added.stdout
        assert f"--axis-cert {h26.axis_cert}" in added.stdout
        assert "then set the token NGSP gives back: edoc-axis peer update NGSP" in added.stdout

        # 2. the national operator adds the province (over the API) with that token
        back = remote("add", "LGSP-H26", "--url", province.url, "--axis-cert", h26.axis_cert,
                      "--serves", "*.H26", "--token", for_ngsp, "--json").ok().json()  # fmt: skip
        assert back["serves"] == ["*.H26"] and back["token_to_peer_set"] is True
        for_h26 = back["token"]

        # before the province sets NGSP's token, NGSP refuses its directory call
        h26.axis("peer", "sync", "NGSP").refused("unavailable")
        # 3. the province sets the token NGSP gave back
        updated = h26.axis("peer", "update", "NGSP", "--token", for_h26).ok()
        assert "token to present to NGSP: set" in updated.stdout and for_h26 not in updated.stdout

        listed = h26.axis("peer", "list").ok()
        header, row = listed.stdout.splitlines()
        assert header.split() == ["NAME", "STATE", "URL", "SERVES", "TOKEN", "SET",
                                  "DIRECTORY", "VERSION"]  # fmt: skip
        assert row.split() == ["NGSP", "active", national.url, "*", "yes", "-"]
        assert for_ngsp not in listed.stdout and for_h26 not in listed.stdout

        # sync, locally on the province: NGSP's agency arrives as a remote agency
        synced = h26.axis("peer", "sync", "NGSP").ok()
        assert "1 added, 0 updated, 0 disabled, 0 skipped" in synced.stdout, synced.describe()
        assert f"added: {G22}" in synced.stdout
        assert _agencies(h26) == {H26_AGENCY: ("active", None), G22: ("active", "NGSP")}
        table = h26.axis("agency", "list").ok().stdout.splitlines()
        assert table[0].split()[:5] == ["CODE", "NAME", "STATE", "MODE", "PEER"]
        g22_row = next(line for line in table if line.startswith(G22))
        assert g22_row.split()[-3:] == ["NGSP", "-", "1"]
        version = h26.axis("peer", "list", "--json").ok().json()[0]["directory_version"]
        assert isinstance(version, int)
        again = h26.axis("peer", "sync", "NGSP").ok()
        assert f"directory unchanged (version {version})" in again.stdout

        # sync over the API, on the national axis: the province's agency arrives
        report = remote("sync", "LGSP-H26", "--json").ok().json()
        assert report["added"] == [H26_AGENCY] and report["unchanged"] is False
        assert _agencies(ngsp)[H26_AGENCY] == ("active", "LGSP-H26")

        # a new token for the province: the old one stops working at once
        rotated = remote("token", "LGSP-H26").ok()
        new_for_h26 = _token(rotated, "presents here (shown once")
        assert new_for_h26 != for_h26
        failed = h26.axis("peer", "sync", "NGSP").refused("unavailable")
        assert "HTTP 401 relay.unknown-peer" in failed.stderr
        assert "edoc-axis peer update NGSP --token" in failed.stderr
        h26.axis("peer", "update", "NGSP", "--token", new_for_h26).ok()
        # (NGSP's registry moved: it took the province's agency in)
        assert "0 added, 0 updated, 0 disabled" in h26.axis("peer", "sync", "NGSP").ok().stdout

        # disabled on NGSP: the province is refused; enabled again: it syncs
        assert "is disabled" in remote("disable", "LGSP-H26").ok().stdout
        listed_remote = remote("list", "--json").ok()
        assert [(p["name"], p["state"]) for p in listed_remote.json()] == [("LGSP-H26", "disabled")]
        assert new_for_h26 not in listed_remote.stdout and "token" not in listed_remote.json()[0]
        assert _agencies(ngsp)[H26_AGENCY] == ("disabled", "LGSP-H26")
        h26.axis("peer", "sync", "NGSP").refused("unavailable")
        assert "is active" in remote("enable", "LGSP-H26").ok().stdout
        h26.axis("peer", "sync", "NGSP").ok()

        # disabled on the province: its remote agencies too, and no sync until enabled
        h26.axis("peer", "disable", "NGSP").ok()
        assert _agencies(h26)[G22] == ("disabled", "NGSP")
        h26.axis("peer", "sync", "NGSP").refused("peer.disabled")
        remote("disable", "LGSP-H26").ok()  # the same check over the API
        remote("sync", "LGSP-H26").refused("peer.disabled")
        remote("enable", "LGSP-H26").ok()
        h26.axis("peer", "enable", "NGSP").ok()
        assert _agencies(h26)[G22] == ("active", "NGSP")

        # update over the API: patterns replaced, the rest kept
        changed = remote("update", "LGSP-H26", "--serves", "*.H26", "--serves",
                         "000.00.00.G26", "--json").ok().json()  # fmt: skip
        assert changed["serves"] == ["*.H26", "000.00.00.G26"]
        assert changed["url"] == province.url and changed["token_to_peer_set"] is True

        # refusals over the API: one line, the axis's code
        cert = ("--axis-cert", h26.axis_cert)
        refusals: list[tuple[str, tuple[str | Path, ...]]] = [
            ("peer.exists", ("add", "LGSP-H26", "--url", province.url, *cert, "--serves", "*")),
            ("not-found", ("update", "LGSP-H99", "--url", province.url)),
            ("not-found", ("token", "LGSP-H99")),
            ("not-found", ("sync", "LGSP-H99")),
            ("schema.invalid", ("add", "LGSP-H27", "--url", province.url, *cert,
                                "--serves", "*.h27")),
            ("schema.invalid", ("add", "LGSP-H27", "--url", "ftp://h27.example", *cert,
                                "--serves", "*.H27")),
        ]  # fmt: skip
        results = run_many([("edoc-axis", ("peer", *args, *on_ngsp)) for _, args in refusals])
        for (code, _), result in zip(refusals, results, strict=True):
            result.refused(code)
    finally:
        province.stop()
        national.stop()

    # a peer that does not answer: exit 3, unreachable
    gone = f"http://127.0.0.1:{free_port()}"
    h26.axis("peer", "update", "NGSP", "--url", gone).ok()
    h26.axis("peer", "sync", "NGSP").refused("unreachable", exit_code=3)


def test_local_refusals_are_one_line_with_a_code(tmp_path: Path) -> None:
    bad = run_cli("edoc-axis", "init", tmp_path / "bad", "--name", "Trục H26")
    assert "is not an axis name" in bad.refused("error", exit_code=2).stderr
    assert not (tmp_path / "bad").exists()
    home = _home(tmp_path, "LGSP-H26")
    cert = home.axis_cert
    # a PEM file with text around the certificate (here not even ASCII) is fine
    annotated = tmp_path / "ngsp-axis.cert.pem"
    annotated.write_text("Chứng thư trục NGSP\n" + cert.read_text("ascii"), "utf-8")
    home.axis("peer", "add", "NGSP", "--url", "https://ngsp.example:8443", "--axis-cert",
              annotated, "--serves", "*", "--json").ok()  # fmt: skip
    base = ("--axis-cert", cert, "--config", home.config)
    calls: list[tuple[str, str, tuple[str | Path, ...]]] = [
        ("peer.exists", "duplicate", ("peer", "add", "NGSP", "--url", "https://x.example",
                                        "--serves", "*", *base)),
        ("schema.invalid", "is not an agency pattern", ("peer", "add", "LGSP-H27", "--url",
                                                        "https://x.example", "--serves", "H27 X",
                                                        *base)),
        ("schema.invalid", "http(s) base URL", ("peer", "add", "LGSP-H27", "--url", "x.example",
                                                "--serves", "*.H27", *base)),
        ("schema.invalid", "is not an axis name", ("peer", "add", "bad,name", "--url",
                                                   "https://x.example", "--serves", "*", *base)),
        ("schema.invalid", "this axis's own name", ("peer", "add", "LGSP-H26", "--url",
                                                    "https://x.example", "--serves", "*", *base)),
        ("certificate.unusable", "holds no PEM certificate", (
            "peer", "add", "X", "--url", "https://x.example", "--serves", "*",
            "--axis-cert", home.config, "--config", home.config)),
        ("not-found", "no peer axis 'NOBODY'", ("peer", "update", "NOBODY", "--url",
                                                "https://x.example", "--config", home.config)),
        ("not-found", "no peer axis", ("peer", "token", "NOBODY", "--config", home.config)),
        ("not-found", "no peer axis", ("peer", "disable", "NOBODY", "--config", home.config)),
        ("not-found", "no peer axis", ("peer", "sync", "NOBODY", "--config", home.config)),
    ]  # fmt: skip
    results = run_many([("edoc-axis", args) for _, _, args in calls])
    for (code, words, _), result in zip(calls, results, strict=True):
        if words != "duplicate":
            assert words in result.stderr, result.describe()
        result.refused(code)
    home.axis("peer", "update", "NGSP").refused("error", exit_code=2)  # nothing to change
    usage = home.axis("peer", "add", "X", "--url", "https://x.example", "--serves", "*")
    assert usage.exit_code == 2 and "--axis-cert" in usage.stderr

    # what was refused left nothing behind; the one peer is as added
    listed = home.axis("peer", "list", "--json").ok().json()
    assert [(p["name"], p["serves"], p["token_to_peer_set"]) for p in listed] == [
        ("NGSP", ["*"], False)
    ]
    # a new token, shown once; update with a token: set, never listed
    first = home.axis("peer", "token", "NGSP", "--json").ok().json()["token"]
    second = _token(home.axis("peer", "token", "NGSP").ok(), "presents here (shown once")
    assert first != second and first.startswith("edoc_")
    home.axis("peer", "update", "NGSP", "--token", "edoc_from_ngsp",
              "--url", "https://ngsp2.example").ok()  # fmt: skip
    text = home.axis("peer", "list").ok().stdout
    assert "https://ngsp2.example" in text and " yes " in text
    assert "edoc_from_ngsp" not in text and first not in text and second not in text
    assert "is disabled" in home.axis("peer", "disable", "NGSP").ok().stdout
    assert "disabled" in home.axis("peer", "list").ok().stdout
    assert "is active" in home.axis("peer", "enable", "NGSP").ok().stdout

    # every local change is recorded under the operator's name
    events = [json.loads(line) for line in home.axis("audit", "export").ok().stdout.splitlines()]
    actions = [json.loads(e["detail"])["action"] for e in events if e["event"] == "operator.action"]
    assert actions == ["peer.add", "peer.token", "peer.token", "peer.update", "peer.disable",
                       "peer.enable"]  # fmt: skip


def test_a_token_can_come_from_a_file_and_stay_out_of_the_shell_history(tmp_path: Path) -> None:
    home = _home(tmp_path, "LGSP-H26")
    token_file = tmp_path / "ngsp.token"
    token_file.write_text("edoc_from_the_ngsp_operator\n", "utf-8")
    home.axis(
        "peer",
        "add",
        "NGSP",
        "--url",
        "https://ngsp.example.vn",
        "--axis-cert",
        home.axis_cert,
        "--serves",
        "*",
        "--token-file",
        token_file,
    ).ok()
    (peer,) = home.axis("peer", "list", "--json").ok().json()
    assert peer["token_to_peer_set"] is True
    assert "edoc_from_the_ngsp_operator" not in json.dumps(peer)  # never shown
    missing = home.axis("peer", "update", "NGSP", "--token-file", tmp_path / "nowhere")
    assert "--token-file" in missing.refused("error", exit_code=2).stderr
    both = home.axis("peer", "update", "NGSP", "--token", "x", "--token-file", token_file)
    assert both.exit_code == 2  # one or the other
