"""HTTPS and mutual TLS with the real console scripts.

`edoc-axis init --tls` makes a development server certificate; the home's
config gets `tls_client_ca` so that agency certificates registered in the
registry log in without a token. `edoc` trusts the axis only with --cacert.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtensionOID

from edoc_axis.pki import Issued, issue_certificate, load_certs, load_key, save_issued
from tests.acceptance.conftest import (
    H49,
    AxisHome,
    AxisServer,
    run_cli,
    run_many,
    signed_document,
)
from tests.interop_packages import real_world_document

G22 = "000.00.00.G22"


@pytest.fixture(scope="module")
def tls_home(tmp_path_factory: pytest.TempPathFactory) -> AxisHome:
    work = tmp_path_factory.mktemp("tls")
    run_cli("edoc-axis", "init", "--tls", work / "home", "--port", "0").ok()
    home = AxisHome(root=work / "home", work=work)
    config = home.config.read_text("utf-8")
    assert '# tls_client_ca = "pki/ca.cert.pem"' in config
    home.config.write_text(config.replace("# tls_client_ca", "tls_client_ca"), "utf-8")
    home.register_many({G22: "Văn phòng Chính phủ", H49: "UBND tỉnh Hòa Bình"})
    return home


@pytest.fixture(scope="module")
def tls_axis(tls_home: AxisHome) -> Iterator[AxisServer]:
    server = AxisServer(tls_home.config, tls_home.work, cafile=tls_home.ca_cert)
    server.start()
    yield server
    server.stop()


def _write(home: AxisHome, name: str, data: bytes) -> Path:
    path = home.work / name
    path.write_bytes(data)
    return path


def test_init_tls_makes_a_development_certificate_for_loopback(tls_home: AxisHome) -> None:
    with (tls_home.config).open("rb") as handle:
        server = tomllib.load(handle)["server"]
    assert (server["tls_cert"], server["tls_key"]) == ("pki/tls.cert.pem", "pki/tls.key.pem")
    cert = load_certs(tls_home.root / "pki" / "tls.cert.pem")[0]
    ca = load_certs(tls_home.ca_cert)[0]
    assert cert.issuer == ca.subject
    san = cert.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME).value
    assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    assert (tls_home.root / "pki" / "tls.key.pem").stat().st_mode & 0o077 == 0


def test_send_with_cacert_and_a_client_without_the_ca_fails_cleanly(
    tls_home: AxisHome, tls_axis: AxisServer
) -> None:
    assert tls_axis.url.startswith("https://127.0.0.1:")
    g22 = tls_home.agencies[G22]
    doc = _write(tls_home, "tls-doc.xml", signed_document(g22))
    other = _write(tls_home, "tls-doc-2.xml", signed_document(g22))
    common = ("--axis", tls_axis.url, "--token", g22.token)
    sent, untrusted = run_many(
        [
            ("edoc", ("send", doc, *common, "--cacert", tls_home.ca_cert, "--json")),
            ("edoc", ("send", other, *common)),
        ]
    )
    (result,) = sent.ok().json()
    assert result["verdict"] == "accepted"
    untrusted.refused("tls.untrusted", exit_code=3)
    assert "--cacert" in untrusted.stderr
    # Plain HTTP to the TLS port is not answered as HTTP.
    plain = run_cli("edoc", "inbox", "--axis", tls_axis.url.replace("https", "http"), "--token",
                    g22.token)  # fmt: skip
    assert plain.exit_code == 3 and "Traceback" not in plain.stderr, plain.describe()


def test_mutual_tls_with_an_agency_certificate_and_no_token(
    tls_home: AxisHome, tls_axis: AxisServer
) -> None:
    g22, h49 = tls_home.agencies[G22], tls_home.agencies[H49]
    tls = ("--axis", tls_axis.url, "--cacert", tls_home.ca_cert)
    doc = _write(tls_home, "mtls-doc.xml", signed_document(g22))
    real_world = _write(
        tls_home,
        "mtls-real-world.xml",
        signed_real_world(g22.key, g22.cert),
    )
    sent = run_cli("edoc", "send", doc, real_world, *tls, "--client-cert", g22.cert,
                   "--client-key", g22.key, "--json").ok().json()  # fmt: skip
    assert [r["verdict"] for r in sent] == ["accepted", "accepted"]
    inbox = run_cli("edoc", "inbox", *tls, "--client-cert", h49.cert, "--client-key", h49.key,
                    "--json").ok().json()  # fmt: skip
    assert {r["axis_id"] for r in sent} <= {item["id"] for item in inbox}


def signed_real_world(key: Path, cert: Path) -> bytes:
    from edoc_axis.signature import sign_package

    raw = real_world_document("no-organ-name", sender=G22, recipients=[H49.lower()])
    return sign_package(raw, load_key(key), load_certs(cert)[0])


def test_mutual_tls_refuses_a_certificate_of_another_agency_or_none_registered(
    tls_home: AxisHome, tls_axis: AxisServer
) -> None:
    g22, h49 = tls_home.agencies[G22], tls_home.agencies[H49]
    ca = Issued(load_key(tls_home.root / "pki" / "ca.key.pem"), load_certs(tls_home.ca_cert)[0])
    stray = issue_certificate(ca, "Not registered", agency_code="000.00.00.Z99")
    save_issued(stray, tls_home.work / "stray.key.pem", tls_home.work / "stray.cert.pem")
    tls = ("--axis", tls_axis.url, "--cacert", tls_home.ca_cert)
    mixed, unregistered = run_many(
        [
            ("edoc", ("inbox", *tls, "--token", g22.token, "--client-cert", h49.cert,
                      "--client-key", h49.key)),
            ("edoc", ("inbox", *tls, "--client-cert", tls_home.work / "stray.cert.pem",
                      "--client-key", tls_home.work / "stray.key.pem")),
        ]
    )  # fmt: skip
    mixed.refused("auth.required")
    assert "token's agency" in mixed.stderr
    unregistered.refused("auth.required")


def test_serve_processes_share_one_tls_socket(tls_home: AxisHome) -> None:
    server = AxisServer(
        tls_home.config, tls_home.work, cafile=tls_home.ca_cert, extra_args=("--processes", "2")
    )
    server.start()
    try:
        assert server.url.startswith("https://")
        g22 = tls_home.agencies[G22]
        docs = [_write(tls_home, f"proc-{i}.xml", signed_document(g22)) for i in range(4)]
        sent = run_cli("edoc", "send", *docs, "--axis", server.url, "--cacert", tls_home.ca_cert,
                       "--token", g22.token, "--json").ok().json()  # fmt: skip
        assert [r["verdict"] for r in sent] == ["accepted"] * 4
    finally:
        assert server.stop() == 0


def test_a_bad_tls_file_stops_serve_with_one_line(tls_home: AxisHome) -> None:
    bad = tls_home.root / "bad-tls.toml"
    text = tls_home.config.read_text("utf-8")
    bad.write_text(text.replace('tls_key = "pki/tls.key.pem"', 'tls_key = "pki/ca.key.pem"'))
    result = run_cli("edoc-axis", "serve", "--config", bad, "--port", "0")
    result.refused("config.tls")
    assert "tls_cert/tls_key" in result.stderr


def test_conformance_checks_a_tls_axis_with_cacert(
    tls_home: AxisHome, tls_axis: AxisServer
) -> None:
    """`edoc-axis conformance --cacert`: both catalogues over HTTPS, and the axis stays clean."""
    config = ("--config", tls_home.config)
    common = ("conformance", "--axis", tls_axis.url, *config, "--setup")
    untrusted = run_cli("edoc-axis", *common, "--only", "AUTH-001")
    untrusted.refused("tls.untrusted", exit_code=3)
    assert "--cacert" in untrusted.stderr
    trusted = ("--cacert", tls_home.ca_cert, "--json")
    native, vdxp = run_many(
        [
            ("edoc-axis", (*common, *trusted, "--only", "AUTH-*", "--only", "STATUS-00[1-3]")),
            ("edoc-axis", (*common, "--vdxp", *trusted)),
        ]
    )
    for run, least in ((native, 5), (vdxp, 20)):
        outcomes = {r["id"]: r["outcome"] for r in run.ok().json()["results"]}
        assert len(outcomes) >= least and set(outcomes.values()) == {"pass"}, run.describe()
    # Each run removed its test agencies, and with them the VDXP systems it registered.
    agencies = run_cli("edoc-axis", "agency", "list", *config, "--json").ok().json()
    assert {G22, H49} <= {a["code"] for a in agencies}
    assert not [a["code"] for a in agencies if a["test"] or "CF" in a["code"]]
    assert run_cli("edoc-axis", "system", "list", *config, "--json").ok().json() == []


def test_an_operator_under_mutual_tls_is_audited_by_its_certificate_subject(
    tls_home: AxisHome, tls_axis: AxisServer
) -> None:
    import json

    ca = Issued(load_key(tls_home.root / "pki" / "ca.key.pem"), load_certs(tls_home.ca_cert)[0])
    operator = issue_certificate(ca, "Operator Nguyen Van A")
    save_issued(operator, tls_home.work / "op.key.pem", tls_home.work / "op.cert.pem")
    extra = issue_certificate(ca, "G22 second key", agency_code=G22)
    save_issued(extra, tls_home.work / "g22b.key.pem", tls_home.work / "g22b.cert.pem")
    remote = ("--axis", tls_axis.url, "--cacert", tls_home.ca_cert,
              "--operator-token", tls_home.operator_token,
              "--client-cert", tls_home.work / "op.cert.pem",
              "--client-key", tls_home.work / "op.key.pem")  # fmt: skip
    run_cli(
        "edoc-axis", "agency", "cert", "add", G22, tls_home.work / "g22b.cert.pem", *remote
    ).ok()
    exported = run_cli("edoc-axis", "audit", "export", *remote).ok().stdout
    actions = [
        json.loads(line["detail"])
        for line in map(json.loads, exported.splitlines())
        if line["event"] == "operator.action"
    ]
    subject = operator.cert.subject.rfc4514_string()
    assert actions[-1]["actor"] == f"operator:{subject}"
    assert actions[-1]["action"] == f"POST /admin/v1/agencies/{G22}/certificates"
