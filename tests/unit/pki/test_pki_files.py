"""PEM round trips and the private-key file mode."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from edoc_axis.pki import (
    Issued,
    cert_to_pem,
    crl_to_pem,
    key_to_pem,
    load_cert,
    load_certs,
    load_crl,
    load_key,
    save_issued,
)


def _public(key: CertificateIssuerPrivateKeyTypes) -> bytes:
    return key.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)


@pytest.mark.parametrize("name", ["agency_g22", "agency_g22_ec"])
def test_save_and_load_round_trip(
    name: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    issued: Issued = request.getfixturevalue(name)
    key_path, cert_path = tmp_path / "keys" / "a.key.pem", tmp_path / "keys" / "a.cert.pem"
    save_issued(issued, key_path, cert_path)
    assert _public(load_key(key_path)) == _public(issued.key)
    assert load_cert(cert_path) == issued.cert
    assert key_path.read_bytes() == key_to_pem(issued.key)
    assert key_to_pem(issued.key).startswith(b"-----BEGIN PRIVATE KEY-----")


def test_private_key_file_is_0600_even_when_replacing_a_readable_file(
    agency_g22: Issued, tmp_path: Path
) -> None:
    key_path = tmp_path / "a.key.pem"
    key_path.write_bytes(b"old")
    os.chmod(key_path, 0o644)
    save_issued(agency_g22, key_path, tmp_path / "a.cert.pem")
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_bundle_with_several_certificates(
    dev_ca: Issued, agency_g22: Issued, tmp_path: Path
) -> None:
    path = tmp_path / "bundle.pem"
    path.write_bytes(cert_to_pem(agency_g22.cert) + cert_to_pem(dev_ca.cert))
    assert load_certs(path) == [agency_g22.cert, dev_ca.cert]
    assert load_cert(path) == agency_g22.cert


def test_crl_pem_and_der(dev_crl: x509.CertificateRevocationList, tmp_path: Path) -> None:
    pem, der = tmp_path / "c.pem", tmp_path / "c.der"
    pem.write_bytes(crl_to_pem(dev_crl))
    der.write_bytes(dev_crl.public_bytes(Encoding.DER))
    assert load_crl(pem) == dev_crl == load_crl(der)


def test_only_rsa_and_ec_keys_load(tmp_path: Path) -> None:
    path = tmp_path / "ed.pem"
    key = ed25519.Ed25519PrivateKey.generate()
    path.write_bytes(key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    with pytest.raises(ValueError, match="only RSA and EC"):
        load_key(path)
