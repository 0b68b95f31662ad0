"""`edoc show` and `edoc verify` on real-world packages: warnings by default, --strict refuses."""

from __future__ import annotations

from pathlib import Path

import pytest

from edoc_axis.pki import Issued, cert_to_pem, create_ca, issue_certificate
from edoc_axis.signature import sign_package
from tests.acceptance.conftest import CliResult, run_many
from tests.interop_packages import KINDS, SWITCH, real_world_document

G22, H49 = "000.00.00.G22", "000.00.00.H49"


def _signed(kind: str, signer: Issued) -> bytes:
    if kind == "lower-case":
        raw = real_world_document(kind, sender="vxp.saas.03", recipients=[H49.lower()])
    else:
        raw = real_world_document(kind, sender=G22, recipients=[H49])
    return sign_package(raw, signer.key, signer.cert)


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], CliResult]:
    folder = tmp_path_factory.mktemp("interop")
    ca = create_ca()
    signer = issue_certificate(ca, "Agency", agency_code=G22)
    ca_file = folder / "ca.pem"
    ca_file.write_bytes(cert_to_pem(ca.cert))
    calls: dict[tuple[str, str], tuple[str | Path, ...]] = {}
    for kind in KINDS:
        path = folder / f"{kind}.xml"
        path.write_bytes(_signed(kind, signer))
        calls[("show", kind)] = ("show", path)
        calls[("show-json", kind)] = ("show", path, "--json")
        calls[("show-strict", kind)] = ("show", path, "--strict")
        calls[("verify", kind)] = ("verify", path, "--ca", ca_file)
        calls[("verify-json", kind)] = ("verify", path, "--ca", ca_file, "--json")
        calls[("verify-strict", kind)] = ("verify", path, "--ca", ca_file, "--strict")
    tampered = folder / "tampered.xml"
    tampered.write_bytes(_signed("no-organ-name", signer).replace(b"V/v", b"v/V", 1))
    calls[("verify", "tampered")] = ("verify", tampered, "--ca", ca_file)
    keys = list(calls)
    return dict(zip(keys, run_many([("edoc", calls[k]) for k in keys]), strict=True))


@pytest.mark.parametrize("kind", KINDS)
def test_show_displays_with_warnings(results: dict, kind: str) -> None:
    shown = results[("show", kind)].ok()
    assert shown.stdout.split()[:2] == ["kind", "document"]
    warnings = [line for line in shown.stderr_lines if line.startswith("warning: ")]
    assert warnings and all(f"interop.{SWITCH[kind]}" in line for line in warnings)
    as_json = results[("show-json", kind)].ok().json()
    assert as_json["kind"] == "document"
    assert len(as_json["warnings"]) == len(warnings)


@pytest.mark.parametrize("kind", KINDS)
def test_verify_accepts_with_warnings_and_checks_the_signature(results: dict, kind: str) -> None:
    verified = results[("verify", kind)].ok()
    assert "verdict" in verified.stdout and "valid" in verified.stdout
    assert "real-world departure" in verified.stdout
    assert any(f"interop.{SWITCH[kind]}" in line for line in verified.stderr_lines)
    as_json = results[("verify-json", kind)].ok().json()
    assert as_json["verdict"] == "valid" and as_json["warnings"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("command", ["show-strict", "verify-strict"])
def test_strict_refuses(results: dict, kind: str, command: str) -> None:
    results[(command, kind)].refused("schema.invalid")


def test_a_tolerated_package_is_still_signature_checked(results: dict) -> None:
    results[("verify", "tampered")].refused("signature.invalid")
