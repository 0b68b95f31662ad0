"""`edoc`, the agency-side command line, as a user runs it (real console script)."""

from __future__ import annotations

import base64
import hashlib
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.acceptance.conftest import (
    G22,
    H49,
    AxisHome,
    AxisServer,
    help_text,
    init_home,
    next_number,
    run_cli,
    run_many,
    signed_document,
    subcommand_paths,
)
from tests.ports import held_port

H50 = "000.00.00.H50"


@pytest.fixture(scope="module")
def other_home(tmp_path_factory: pytest.TempPathFactory) -> AxisHome:
    """A second, unrelated axis home: another CA and another axis certificate."""
    return init_home(tmp_path_factory.mktemp("other-home"))


@pytest.fixture(scope="module")
def unsigned_and_signed(axis_home: AxisHome, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One document built and signed through the CLI (G22 → H49), plus its attachment."""
    work = tmp_path_factory.mktemp("signed")
    letter = work / "letter.txt"
    letter.write_text("Kính gửi: Ủy ban nhân dân tỉnh Hòa Bình\n", encoding="utf-8")
    unsigned, signed = work / "doc.xml", work / "doc.signed.xml"
    g22 = axis_home.agencies[G22]
    number = next_number()
    run_cli(
        "edoc", "new", "--from", G22, "--to", H49, "--subject", "V/v thử nghiệm ký số",
        "--code-number", number, "--code-notation", "VPCP-KSTT", "--attach", letter,
        "-o", unsigned,
    ).ok()  # fmt: skip
    run_cli("edoc", "sign", unsigned, "--key", g22.key, "--cert", g22.cert, "-o", signed).ok()
    return {"unsigned": unsigned, "signed": signed, "number": number, "work": work}


# --- new / show ----------------------------------------------------------------------------


def test_new_then_show_describes_the_document(tmp_path: Path) -> None:
    binary = tmp_path / "scan.bin"
    binary.write_bytes(os.urandom(3000) + b"\x00end")
    text = tmp_path / "tờ trình.txt"
    text.write_text("Nội dung tờ trình\n" * 20, encoding="utf-8")
    out = tmp_path / "doc.xml"
    made = run_cli(
        "edoc", "new", "--from", G22, "--from-name", "Văn phòng Chính phủ",
        "--to", f"{H49}, {H50}", "--subject", "V/v kết nối, liên thông",
        "--code-number", "7816", "--code-notation", "VPCP-TTĐT", "--type", "2",
        "--type-name", "Quyết định", "--date", "2026/01/02",
        "--attach", binary, "--attach", text, "-o", out,
    ).ok()  # fmt: skip
    document_id = f"{G22},2026/01/02,7816/VPCP-TTĐT"
    assert document_id in made.stdout
    assert out.read_bytes().startswith(b"<?xml")

    as_json, as_text = run_many([("edoc", ("show", out, "--json")), ("edoc", ("show", out))])
    shown = as_json.ok().json()
    assert shown["kind"] == "document"
    assert shown["sender"] == G22
    assert shown["sender_name"] == "Văn phòng Chính phủ"
    assert shown["recipients"] == [H49, H50]
    assert shown["document_id"] == document_id
    assert shown["code"] == "7816/VPCP-TTĐT"
    assert shown["type"] == 2
    assert shown["type_name"] == "Quyết định"
    assert shown["subject"] == "V/v kết nối, liên thông"
    assert shown["business_type"] == "new"
    assert shown["business_type_code"] == 0
    assert [(a["name"], a["size"]) for a in shown["attachments"]] == [
        (binary.name, binary.stat().st_size),
        (text.name, text.stat().st_size),
    ]

    lines = as_text.ok().stdout.splitlines()
    table = {line.split("  ", 1)[0]: line.split("  ", 1)[-1].strip() for line in lines}
    assert table["kind"] == "document"
    assert table["sender"] == G22
    assert table["recipients"] == f"{H49}, {H50}"
    assert table["document id"] == document_id
    assert table["code"] == "7816/VPCP-TTĐT"
    assert table["subject"] == "V/v kết nối, liên thông"
    assert table["attachments"] == "2"
    assert f"  - {binary.name} (application/octet-stream, 3004 bytes)" in lines
    assert any(
        line.startswith(f"  - {text.name} (") and line.endswith(f", {text.stat().st_size} bytes)")
        for line in lines
    ), lines


def _encoded_attachments(raw: bytes) -> list[bytes]:
    found = re.findall(rb"<(?:\w+:)?ContentTransferEncoded[^>]*>([^<]*)<", raw)
    return [base64.b64decode(b"".join(chunk.split())) for chunk in found]


def test_zip_form_unwraps_to_the_same_file(tmp_path: Path) -> None:
    attachment = tmp_path / "bao_cao.pdf"
    attachment.write_bytes(b"%PDF-1.4\n" + os.urandom(5000))
    plain, zipped = tmp_path / "plain.xml", tmp_path / "zipped.xml"
    common = ("--from", G22, "--to", H49, "--subject", "Zip", "--attach", str(attachment))
    for made in run_many([("edoc", ("new", *common, "-o", plain)),
                          ("edoc", ("new", *common, "--zip", "-o", zipped))]):  # fmt: skip
        made.ok()

    (inner,) = _encoded_attachments(zipped.read_bytes())
    assert inner.startswith(b"PK\x03\x04"), "the --zip form is a ZIP inside the base64"
    (native,) = _encoded_attachments(plain.read_bytes())
    assert native == attachment.read_bytes(), "the native form is the file itself"

    size = attachment.stat().st_size
    for shown in run_many([("edoc", ("show", package, "--json")) for package in (plain, zipped)]):
        (described,) = shown.ok().json()["attachments"]
        assert (described["name"], described["size"]) == (attachment.name, size)


REF_7816 = f"{G22},2026/01/02,7816/VPCP-TTĐT"
BUSINESS = ("revoke", "update", "replace")


@pytest.fixture(scope="module")
def business_packages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, dict]]:
    """`edoc new --business X --ref ...` then `edoc show --json`, for each X (in parallel)."""
    folder = tmp_path_factory.mktemp("business")
    outs = {business: folder / f"{business}.xml" for business in BUSINESS}
    common = ("--from", G22, "--to", H49, "--ref", REF_7816, "--code-number", "7817")
    made = run_many(
        [
            ("edoc", ("new", *common, "--subject", f"{b} 7816", "--business", b, "-o", out))
            for b, out in outs.items()
        ]
    )
    for result in made:
        result.ok()
    shown = run_many([("edoc", ("show", out, "--json")) for out in outs.values()])
    return {b: (outs[b], result.ok().json()) for b, result in zip(BUSINESS, shown, strict=True)}


@pytest.mark.parametrize(("business", "code"), [("revoke", 1), ("update", 2), ("replace", 3)])
def test_business_messages_with_ref(business_packages: dict, business: str, code: int) -> None:
    out, shown = business_packages[business]
    ref = REF_7816
    assert shown["kind"] == "document"
    assert (shown["business_type"], shown["business_type_code"]) == (business, code)
    assert ref.encode() in out.read_bytes(), "the referenced DocumentId is in the package"


@pytest.mark.parametrize("business", ["update", "replace"])
def test_update_or_replace_without_ref_is_a_usage_error(tmp_path: Path, business: str) -> None:
    out = tmp_path / "x.xml"
    result = run_cli(
        "edoc", "new", "--from", G22, "--to", H49, "--subject", "S", "--business", business,
        "-o", out,
    )  # fmt: skip
    assert result.exit_code == 2, result.describe()
    assert "Traceback" not in result.stderr
    assert len(result.stderr_lines) == 1, result.describe()
    assert "--ref" in result.stderr
    assert not out.exists()


# --- sign / verify ---------------------------------------------------------------------------


def test_sign_then_verify_with_the_home_ca(axis_home: AxisHome, unsigned_and_signed: dict) -> None:
    signed = unsigned_and_signed["signed"]
    base = ("verify", signed, "--ca", axis_home.ca_cert)
    as_text, as_json = run_many([("edoc", base), ("edoc", (*base, "--json"))])
    text = as_text.ok().stdout
    assert re.search(r"^verdict\s+valid$", text, re.M), text
    assert re.search(rf"^signer\s+.*{re.escape(G22)}", text, re.M), text
    assert re.search(rf"^agency code\s+{re.escape(G22)}$", text, re.M), text
    assert re.search(r"^signature algorithm\s+\S*rsa-sha256$", text, re.M), text

    data = as_json.ok().json()
    assert data["verdict"] == "valid"
    assert data["agency_code"] == G22
    assert G22 in data["signer"]
    assert data["signature_algorithm"].endswith("rsa-sha256")
    assert data["digest_algorithm"].endswith("sha256")
    assert data["legacy_policy"] is False
    assert "not checked" not in data["certificate"]


def test_tampered_subject_is_signature_invalid(unsigned_and_signed: dict, tmp_path: Path) -> None:
    raw = unsigned_and_signed["signed"].read_bytes()
    marker = "thử nghiệm".encode()
    assert raw.count(marker) >= 1
    tampered = tmp_path / "tampered.xml"
    tampered.write_bytes(raw.replace(marker, "thứ nghiệm".encode(), 1))
    run_cli("edoc", "verify", tampered).refused("signature.invalid")


def test_unsigned_is_signature_missing(unsigned_and_signed: dict) -> None:
    run_cli("edoc", "verify", unsigned_and_signed["unsigned"]).refused("signature.missing")


def test_verify_against_another_ca_is_untrusted(
    unsigned_and_signed: dict, other_home: AxisHome
) -> None:
    run_cli("edoc", "verify", unsigned_and_signed["signed"], "--ca", other_home.ca_cert).refused(
        "certificate.untrusted"
    )


def test_ec_key_signs_with_ecdsa_sha256(
    axis_home: AxisHome, unsigned_and_signed: dict, tmp_path: Path
) -> None:
    key, cert = axis_home.issue(G22, "g22-ec", key_type="ec")
    assert b"EC PRIVATE KEY" in key.read_bytes() or b"PRIVATE KEY" in key.read_bytes()
    signed = tmp_path / "ec.signed.xml"
    unsigned = unsigned_and_signed["unsigned"]
    run_cli("edoc", "sign", unsigned, "--key", key, "--cert", cert, "-o", signed).ok()
    data = run_cli("edoc", "verify", signed, "--ca", axis_home.ca_cert, "--json").ok().json()
    assert data["verdict"] == "valid"
    assert data["signature_algorithm"].endswith("ecdsa-sha256")
    assert data["agency_code"] == G22


# --- send ------------------------------------------------------------------------------------


def _ids(stdout: str) -> list[str]:
    return re.findall(r"id=(\S+)", stdout)


@pytest.fixture(scope="module")
def sent(axis_home: AxisHome, axis: AxisServer, unsigned_and_signed: dict) -> dict:
    """The CLI-built signed document sent once, with its receipt saved."""
    receipts = unsigned_and_signed["work"] / "receipts"
    token = axis_home.agencies[G22].token
    first = run_cli(
        "edoc", "send", unsigned_and_signed["signed"], "--axis", axis.url, "--token", token,
        "--save-receipt", receipts,
    )  # fmt: skip
    return {"result": first, "receipts": receipts, **unsigned_and_signed}


def test_send_one_accepted_then_already_accepted(
    axis_home: AxisHome, axis: AxisServer, sent: dict
) -> None:
    first = sent["result"].ok()
    assert "accepted" in first.stdout and "already" not in first.stdout
    (axis_id,) = _ids(first.stdout)
    receipt = sent["receipts"] / f"{axis_id}.receipt.xml"
    assert receipt.is_file()

    token = axis_home.agencies[G22].token
    again = run_cli("edoc", "send", sent["signed"], "--axis", axis.url, "--token", token).ok()
    assert "already accepted" in again.stdout
    assert _ids(again.stdout) == [axis_id]


def test_send_conflicting_content_is_document_conflict(
    axis_home: AxisHome, axis: AxisServer, tmp_path: Path
) -> None:
    g22 = axis_home.agencies[G22]
    number = next_number()
    first, other = tmp_path / "a.xml", tmp_path / "b.xml"
    first.write_bytes(signed_document(g22, code_number=number, subject="Bản gốc"))
    other.write_bytes(signed_document(g22, code_number=number, subject="Bản khác"))
    run_cli("edoc", "send", first, "--axis", axis.url, "--token", g22.token).ok()
    run_cli("edoc", "send", other, "--axis", axis.url, "--token", g22.token).refused(
        "document.conflict"
    )


def test_send_many_files_at_once(axis_home: AxisHome, axis: AxisServer, tmp_path: Path) -> None:
    g22 = axis_home.agencies[G22]
    files = []
    for index in range(20):
        path = tmp_path / f"doc-{index:02}.xml"
        path.write_bytes(signed_document(g22, subject=f"Văn bản số {index}"))
        files.append(path)
    result = run_cli("edoc", "send", *files, "--axis", axis.url, "--token", g22.token, "--json")
    results = result.ok().json()
    assert [r["file"] for r in results] == [str(p) for p in files]
    assert all(r["verdict"] == "accepted" and r["status"] == 202 for r in results), results
    ids = [r["axis_id"] for r in results]
    assert all(ids) and len(set(ids)) == 20


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A local port nothing listens on (held bound, so nobody else takes it)."""
    with held_port() as port:
        yield port


def test_send_to_an_unreachable_axis_exits_3(
    axis_home: AxisHome, sent: dict, closed_port: int
) -> None:
    url = f"http://127.0.0.1:{closed_port}"
    token = axis_home.agencies[G22].token
    run_cli("edoc", "send", sent["signed"], "--axis", url, "--token", token).refused(
        "unreachable", exit_code=3
    )


def test_send_without_token_is_a_usage_error(axis: AxisServer, sent: dict) -> None:
    result = run_cli("edoc", "send", sent["signed"], "--axis", axis.url)
    assert result.exit_code == 2, result.describe()
    assert len(result.stderr_lines) == 1 and "EDOC_TOKEN" in result.stderr, result.describe()


def test_send_takes_axis_and_token_from_the_environment(
    axis_home: AxisHome, axis: AxisServer, tmp_path: Path
) -> None:
    g22 = axis_home.agencies[G22]
    doc = tmp_path / "env.xml"
    doc.write_bytes(signed_document(g22))
    env = {"EDOC_AXIS_URL": axis.url, "EDOC_TOKEN": g22.token}
    result = run_cli("edoc", "send", doc, env=env).ok()
    assert "accepted" in result.stdout and len(_ids(result.stdout)) == 1
    # a flag wins over the environment
    wrong = run_cli("edoc", "send", doc, "--token", "edoc_not-a-token", env=env)
    wrong.refused("auth.required")


# --- verify-receipt --------------------------------------------------------------------------


def _receipt(sent: dict) -> Path:
    (axis_id,) = _ids(sent["result"].ok().stdout)
    return sent["receipts"] / f"{axis_id}.receipt.xml"


def test_verify_receipt_valid(axis_home: AxisHome, sent: dict) -> None:
    receipt = _receipt(sent)
    base = ("verify-receipt", receipt, "--axis-cert", axis_home.axis_cert)
    as_text, as_json = run_many(
        [("edoc", (*base, "--document", sent["signed"])), ("edoc", (*base, "--json"))]
    )
    text = as_text.ok().stdout
    assert re.search(r"^verdict\s+valid$", text, re.M), text
    assert re.search(r"^document\s+matches", text, re.M), text
    data = as_json.ok().json()
    assert data["sender"] == G22
    assert data["recipients"] == [H49]
    assert data["sha256"] == hashlib.sha256(sent["signed"].read_bytes()).hexdigest()
    assert data["axis_id"] == receipt.name.removesuffix(".receipt.xml")


def test_verify_receipt_with_one_byte_changed(
    axis_home: AxisHome, sent: dict, tmp_path: Path
) -> None:
    raw = _receipt(sent).read_bytes()
    digest = hashlib.sha256(sent["signed"].read_bytes()).hexdigest().encode()
    at = raw.index(digest)
    changed = bytearray(raw)
    changed[at] = ord("0") if raw[at] != ord("0") else ord("1")
    forged = tmp_path / "forged.receipt.xml"
    forged.write_bytes(bytes(changed))
    result = run_cli("edoc", "verify-receipt", forged, "--axis-cert", axis_home.axis_cert)
    result.refused("signature.invalid")


def test_verify_receipt_against_another_axis(sent: dict, other_home: AxisHome) -> None:
    result = run_cli("edoc", "verify-receipt", _receipt(sent), "--axis-cert", other_home.axis_cert)
    assert result.exit_code == 1, result.describe()
    assert len(result.stderr_lines) == 1 and "Traceback" not in result.stderr


def test_verify_receipt_for_another_document(axis_home: AxisHome, sent: dict) -> None:
    run_cli(
        "edoc", "verify-receipt", _receipt(sent), "--axis-cert", axis_home.axis_cert,
        "--document", sent["unsigned"],
    ).refused("receipt.mismatch")  # fmt: skip


# --- help ------------------------------------------------------------------------------------


def test_every_edoc_subcommand_has_help_with_an_example(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from edoc_axis.cli.edoc import build_parser, main

    paths = subcommand_paths(build_parser())
    expected = {("new",), ("sign",), ("verify",), ("show",), ("send",), ("verify-receipt",)}
    assert expected <= set(paths)
    missing = [" ".join(path) for path in paths if "example" not in help_text(main, path, capsys)]
    assert not missing, f"edoc --help without an example: {missing}"
    top = run_cli("edoc", "--help").ok().stdout
    assert all(path[0] in top for path in paths)


def test_send_with_some_refused_says_so_on_stderr(
    axis_home: AxisHome, axis: AxisServer, tmp_path: Path
) -> None:
    g22 = axis_home.agencies[G22]
    good, bad = tmp_path / "good.xml", tmp_path / "bad.xml"
    good.write_bytes(signed_document(g22, subject="Văn bản hợp lệ"))
    bad.write_bytes(signed_document(g22, subject="Sẽ bị sửa").replace("bị sửa".encode(), b"X"))
    result = run_cli("edoc", "send", good, bad, "--axis", axis.url, "--token", g22.token)
    result.refused("send.incomplete")
    assert "good.xml: accepted" in result.stdout
    assert "bad.xml: refused signature.invalid" in result.stdout
