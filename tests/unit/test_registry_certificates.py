"""Certificates an operator registers: whatever the PEM holds, a refusal with a code."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from edoc_axis.errors import SchemaInvalid
from edoc_axis.pki import create_ca, issue_certificate
from edoc_axis.service.registry import parse_certificates

VERSION_3 = bytes.fromhex("a003020102")  # [0] EXPLICIT INTEGER 2 (v3) in TBSCertificate


def _pem(der: bytes) -> bytes:
    body = base64.encodebytes(der).decode().replace("\n", "")
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    return (
        "-----BEGIN CERTIFICATE-----\n" + "\n".join(lines) + "\n-----END CERTIFICATE-----\n"
    ).encode()


def test_a_certificate_with_an_invalid_version_is_refused_not_a_crash() -> None:
    der = issue_certificate(create_ca(), "Agency", agency_code="000.00.00.G22").cert.public_bytes(
        Encoding.DER
    )
    assert der.count(VERSION_3) == 1
    mutated = der.replace(VERSION_3, bytes.fromhex("a00302010a"))  # version 11
    assert len(parse_certificates(_pem(der))) == 1
    with pytest.raises(SchemaInvalid, match="could not be read"):
        parse_certificates(_pem(mutated))


@pytest.mark.parametrize(
    "pem", [b"", b"not a pem", b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"]
)
def test_empty_or_broken_pem_is_refused(pem: bytes) -> None:
    with pytest.raises(SchemaInvalid):
        parse_certificates(pem)
