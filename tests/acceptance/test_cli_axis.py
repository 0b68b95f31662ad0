"""`edoc-axis`, the operator command line: init, agency care, pki, help."""

from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest

from tests.acceptance.conftest import (
    H49,
    Agency,
    AxisHome,
    AxisServer,
    help_text,
    run_cli,
    run_many,
    signed_document,
    subcommand_paths,
)

A01 = "000.00.00.A01"
A02 = "000.00.00.A02"
A03 = "000.00.00.A03"
A04 = "000.00.00.A04"


def _snapshot(root: Path) -> dict[str, bytes]:
    files = sorted(p for p in root.rglob("*") if p.is_file())
    return {str(p.relative_to(root)): p.read_bytes() for p in files}


# --- init ------------------------------------------------------------------------------------


def test_init_lays_out_a_home_and_refuses_to_overwrite(tmp_path: Path) -> None:
    root = tmp_path / "home"
    summary = run_cli("edoc-axis", "init", root, "--port", "0", "--json").ok().json()

    files = {
        "config": root / "axis.toml",
        "ca_cert": root / "pki" / "ca.cert.pem",
        "ca_key": root / "pki" / "ca.key.pem",
        "ca_crl": root / "pki" / "ca.crl.pem",
        "axis_cert": root / "pki" / "axis.cert.pem",
        "axis_key": root / "pki" / "axis.key.pem",
        "operator_token": root / "operator.token",
    }
    for name, path in files.items():
        assert path.is_file() and path.stat().st_size > 0, name
    for private in (files["ca_key"], files["axis_key"], files["operator_token"]):
        assert stat.S_IMODE(private.stat().st_mode) == 0o600, private
    assert b"BEGIN CERTIFICATE" in files["ca_cert"].read_bytes()
    assert b"BEGIN X509 CRL" in files["ca_crl"].read_bytes()
    assert b"PRIVATE KEY" in files["axis_key"].read_bytes()
    databases = [p for p in (root / "store").iterdir() if p.is_file()]
    assert any(p.read_bytes()[:16] == b"SQLite format 3\x00" for p in databases), databases

    assert Path(summary["config"]).resolve() == files["config"].resolve()
    assert Path(summary["ca_certificate"]).resolve() == files["ca_cert"].resolve()
    assert Path(summary["axis_certificate"]).resolve() == files["axis_cert"].resolve()
    assert Path(summary["operator_token_file"]).resolve() == files["operator_token"].resolve()
    assert Path(summary["store"]).resolve().parent == (root / "store").resolve()
    assert Path(summary["store"]).is_file()
    token = summary["operator_token"]
    assert len(token) >= 32
    assert files["operator_token"].read_text("utf-8").strip() == token

    before = _snapshot(root)
    again = run_cli("edoc-axis", "init", root, "--port", "0", "--json")
    assert again.exit_code == 1, again.describe()
    assert len(again.stderr_lines) == 1 and "Traceback" not in again.stderr, again.describe()
    assert again.stdout == ""
    assert _snapshot(root) == before, "a second init changed the home"


def test_init_refuses_a_non_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine\n", encoding="utf-8")
    result = run_cli("edoc-axis", "init", tmp_path)
    assert result.exit_code == 1 and len(result.stderr_lines) == 1, result.describe()
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


# --- agency registry -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def registered(axis_home: AxisHome) -> dict[str, Agency]:
    agencies = axis_home.register_many({A01: "Bộ Thử nghiệm Một", A02: "Bộ Thử nghiệm Hai"})
    return {agency.code: agency for agency in agencies}


@pytest.fixture(scope="module")
def a01(registered: dict[str, Agency]) -> Agency:
    return registered[A01]


@pytest.fixture(scope="module")
def a02(registered: dict[str, Agency]) -> Agency:
    return registered[A02]


def _send(agency: Agency, token: str, axis: AxisServer, tmp_path: Path, name: str):
    doc = tmp_path / f"{name}.xml"
    doc.write_bytes(signed_document(agency, to=(H49,)))
    return run_cli("edoc", "send", doc, "--axis", axis.url, "--token", token)


def test_agency_add_list_show(axis_home: AxisHome, a01: Agency) -> None:
    assert re.fullmatch(r"[A-Za-z0-9_\-]{20,}", a01.token), a01.token
    listed, shown = run_many(
        [
            ("edoc-axis", ("agency", "list", "--json", "--config", axis_home.config)),
            ("edoc-axis", ("agency", "show", A01, "--json", "--config", axis_home.config)),
        ]
    )
    by_code = {a["code"]: a for a in listed.ok().json()}
    assert {A01, H49} <= set(by_code)
    assert by_code[A01]["name"] == "Bộ Thử nghiệm Một"
    assert by_code[A01]["state"] == "active"
    assert by_code[A01]["delivery_mode"] == "pull"
    detail = shown.ok().json()
    assert detail["code"] == A01 and detail["state"] == "active"
    assert len(detail["certificate_fingerprints"]) == 1
    assert a01.token not in listed.stdout + shown.stdout, "tokens are shown only once"

    table = axis_home.axis("agency", "list").ok().stdout
    assert re.search(rf"^{re.escape(A01)}\s+Bộ Thử nghiệm Một\s+active\s+pull", table, re.M)


def test_agency_show_unknown_code(axis_home: AxisHome) -> None:
    axis_home.axis("agency", "show", "000.00.00.Z99").refused("not-found")


def test_token_works_and_rotation_revokes_the_old_one(
    axis_home: AxisHome, axis: AxisServer, a01: Agency, tmp_path: Path
) -> None:
    _send(a01, a01.token, axis, tmp_path, "before").ok()

    rotated = axis_home.axis("agency", "rotate-token", A01, "--json").ok().json()
    assert rotated["code"] == A01
    new_token = rotated["token"]
    assert new_token != a01.token

    old_doc, new_doc = _doc(a01, tmp_path, "old"), _doc(a01, tmp_path, "new")
    old, new = run_many(
        [
            ("edoc", ("send", old_doc, "--axis", axis.url, "--token", a01.token)),
            ("edoc", ("send", new_doc, "--axis", axis.url, "--token", new_token)),
        ]
    )
    old.refused("auth.required")
    assert "accepted" in new.ok().stdout
    a01.token = new_token


def _doc(agency: Agency, folder: Path, name: str) -> Path:
    path = folder / f"{name}.xml"
    path.write_bytes(signed_document(agency, to=(H49,)))
    return path


def test_disabled_agency_is_refused_until_enabled(
    axis_home: AxisHome, axis: AxisServer, a02: Agency, tmp_path: Path
) -> None:
    disabled = axis_home.axis("agency", "disable", A02).ok()
    assert "disabled" in disabled.stdout
    assert axis_home.axis("agency", "show", A02, "--json").ok().json()["state"] == "disabled"
    _send(a02, a02.token, axis, tmp_path, "while-disabled").refused("auth.required")

    axis_home.axis("agency", "enable", A02).ok()
    assert "accepted" in _send(a02, a02.token, axis, tmp_path, "enabled").ok().stdout


def test_agency_import_registers_good_rows_and_names_the_bad_line(
    axis_home: AxisHome, axis: AxisServer, tmp_path: Path
) -> None:
    config = axis_home.config
    issued = run_many(
        [
            ("edoc-axis", ("pki", "issue", code, "--out", tmp_path / out, "--config", config))
            for code, out in ((A03, "a03"), (A04, "a04"))
        ]
    )
    for result in issued:
        result.ok()
    key, cert = tmp_path / "a03" / "key.pem", tmp_path / "a03" / "cert.pem"
    other_cert = tmp_path / "a04" / "cert.pem"
    rel = Path("certs")
    (tmp_path / rel).mkdir()
    (tmp_path / rel / "a03.pem").write_bytes(cert.read_bytes())
    csv_file = tmp_path / "agencies.csv"
    csv_file.write_text(
        "code,name,aliases,mode,endpoint,cert\n"
        f"{A03},Bộ Ba,A03;LEGACY.A03,pull,,{rel / 'a03.pem'}\n"
        "000.00.00.A05,Bộ Năm,,pull,,certs/does-not-exist.pem\n"
        f"{A04},Bộ Bốn,,push,http://127.0.0.1:9/edoc,{other_cert}\n",
        encoding="utf-8",
    )
    result = axis_home.axis("agency", "import", csv_file, "--json")
    assert result.exit_code == 1, result.describe()
    assert "Traceback" not in result.stderr
    rows = {row["line"]: row for row in result.json()}
    assert set(rows) == {2, 3, 4}
    assert "error" in rows[3] and rows[3]["code"] == "000.00.00.A05"
    assert "error" not in rows[2] and "error" not in rows[4]
    assert len(result.stderr_lines) == 1 and "3" in result.stderr, result.describe()

    listed = {a["code"]: a for a in axis_home.axis("agency", "list", "--json").ok().json()}
    assert A03 in listed and A04 in listed and "000.00.00.A05" not in listed
    assert set(listed[A03]["alias_codes"]) == {"A03", "LEGACY.A03"}
    assert listed[A04]["delivery_mode"] == "push"
    assert listed[A04]["endpoint_url"] == "http://127.0.0.1:9/edoc"

    a03 = Agency(A03, key, cert, rows[2]["token"])
    assert "accepted" in _send(a03, a03.token, axis, tmp_path, "imported").ok().stdout


@pytest.mark.parametrize("mode", [("--endpoint", "http://127.0.0.1:9/", "--pull"), ()])
def test_agency_add_needs_exactly_one_delivery_mode(
    axis_home: AxisHome, a01: Agency, mode: tuple[str, ...]
) -> None:
    args = ("agency", "add", "000.00.00.A09", "--name", "X", "--cert", a01.cert, *mode)
    result = axis_home.axis(*args)
    assert result.exit_code == 2, result.describe()
    assert len(result.stderr_lines) == 1 and "Traceback" not in result.stderr, result.describe()


def test_operator_commands_without_a_config(tmp_path: Path) -> None:
    result = run_cli("edoc-axis", "agency", "list", "--config", tmp_path / "nope.toml")
    assert result.exit_code == 1 and len(result.stderr_lines) == 1, result.describe()
    assert "init" in result.stderr


# --- help ------------------------------------------------------------------------------------


def test_every_edoc_axis_subcommand_has_help_with_an_example(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from edoc_axis.cli.axis import build_parser, main

    paths = subcommand_paths(build_parser())
    expected = {("init",), ("serve",), ("agency", "add"), ("agency", "import"), ("pki", "issue")}
    assert expected <= set(paths)
    missing = [" ".join(path) for path in paths if "example" not in help_text(main, path, capsys)]
    assert not missing, f"edoc-axis --help without an example: {missing}"
    top = run_cli("edoc-axis", "--help").ok().stdout
    assert all(path[0] in top for path in paths)
