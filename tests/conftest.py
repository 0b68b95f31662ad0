"""Shared fixtures. Keys and certificates are generated per test session.

PKI fixtures (all ``edoc_axis.pki.Issued``: ``.key`` and ``.cert``):
``dev_ca``, ``agency_g22`` (RSA), ``agency_h49`` (RSA), ``agency_g22_ec`` (EC P-256),
``axis_signer`` (EC, the axis's receipt key), ``expired_cert``, ``not_yet_valid_cert``,
``revoked_cert`` (listed on ``dev_crl``), ``untrusted_ca`` and ``untrusted_cert``
(a chain the axis does not trust), ``no_signing_usage_cert`` (KeyUsage without
digitalSignature/nonRepudiation). ``trust_store`` trusts ``dev_ca`` with ``dev_crl``;
``dev_ca_pem_file`` / ``dev_crl_pem_file`` are the same on disk.

edXML helpers: ``build_package(...)`` (also the ``make_package`` fixture) returns the
bytes of a minimal unsigned document package in the reference SDK's shape;
``unsigned_package`` and ``signed_package`` (signed by ``agency_g22``) are ready-made.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from cryptography import x509

from edoc_axis.pki import (
    Issued,
    cert_to_pem,
    create_ca,
    crl_to_pem,
    issue_axis_certificate,
    issue_certificate,
    make_crl,
)
from edoc_axis.signature import TrustStore, sign_package

EDXML_NS = "http://www.mic.gov.vn/TBT/QCVN_102_2016"
G22 = "000.00.00.G22"
H49 = "000.00.00.H49"


def build_package(
    *,
    sender: str = G22,
    sender_name: str = "Văn phòng Chính phủ",
    recipients: tuple[str, ...] = (H49,),
    code_number: str = "7816",
    code_notation: str = "VPCP-TTĐT",
    promulgation_date: str = "2026/01/02",
    subject: str = "V/v kết nối, liên thông phần mềm quản lý văn bản",
    attachment: bytes = b"%PDF-1.4 test attachment\n",
    attachment_name: str = "cong_van.pdf",
) -> bytes:
    """A minimal edXML document package (unsigned), as the reference SDK lays it out.

    Written as literal XML on purpose: it must not depend on the edXML builder.
    """
    document_id = f"{sender},{promulgation_date},{code_number}/{code_notation}"
    to_blocks = "".join(
        f"""
        <edXML:To>
          <edXML:OrganId>{escape(code)}</edXML:OrganId>
          <edXML:OrganName>Agency {escape(code)}</edXML:OrganName>
        </edXML:To>"""
        for code in recipients
    )
    encoded = base64.b64encode(attachment).decode("ascii")
    transfer = (
        f'<edXML:ContentTransferEncoded xmlns:edXML="{EDXML_NS}">'
        f"{encoded}</edXML:ContentTransferEncoded>"
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<edXML xmlns="{EDXML_NS}">
  <edXML:edXMLEnvelope xmlns:edXML="{EDXML_NS}">
    <edXML:edXMLHeader>
      <edXML:MessageHeader>
        <edXML:From>
          <edXML:OrganId>{escape(sender)}</edXML:OrganId>
          <edXML:OrganName>{escape(sender_name)}</edXML:OrganName>
        </edXML:From>{to_blocks}
        <edXML:DocumentId>{escape(document_id)}</edXML:DocumentId>
        <edXML:Code>
          <edXML:CodeNumber>{escape(code_number)}</edXML:CodeNumber>
          <edXML:CodeNotation>{escape(code_notation)}</edXML:CodeNotation>
        </edXML:Code>
        <edXML:PromulgationInfo>
          <edXML:Place>Hà Nội</edXML:Place>
          <edXML:PromulgationDate>{escape(promulgation_date)}</edXML:PromulgationDate>
        </edXML:PromulgationInfo>
        <edXML:DocumentType>
          <edXML:Type>1</edXML:Type>
          <edXML:TypeName>Công văn</edXML:TypeName>
        </edXML:DocumentType>
        <edXML:Subject>{escape(subject)}</edXML:Subject>
        <edXML:Content>{escape(subject)}</edXML:Content>
      </edXML:MessageHeader>
      <edXML:TraceHeaderList>
        <edXML:TraceHeader>
          <edXML:OrganId>{escape(sender)}</edXML:OrganId>
          <edXML:Timestamp>{escape(promulgation_date)} 08:00:00</edXML:Timestamp>
        </edXML:TraceHeader>
      </edXML:TraceHeaderList>
    </edXML:edXMLHeader>
    <edXML:edXMLBody>
      <edXML:edXMLManifest version="1.0">
        <edXML:Reference>
          <edXML:ContentId>cid:1</edXML:ContentId>
          <edXML:ContentType>application/pdf</edXML:ContentType>
          <edXML:AttachmentName>{escape(attachment_name)}</edXML:AttachmentName>
        </edXML:Reference>
      </edXML:edXMLManifest>
    </edXML:edXMLBody>
  </edXML:edXMLEnvelope>
  <AttachmentEncoded>
    <Attachment>
      <ContentId>cid:1</ContentId>
      <AttachmentName>{escape(attachment_name)}</AttachmentName>
      <ContentType>application/pdf</ContentType>
      {transfer}
    </Attachment>
  </AttachmentEncoded>
</edXML>
""".encode()


@pytest.fixture(scope="session")
def make_package() -> Callable[..., bytes]:
    """``build_package`` as a fixture, for tests that prefer not to import conftest."""
    return build_package


@pytest.fixture(scope="session")
def unsigned_package() -> bytes:
    return build_package()


@pytest.fixture(scope="session")
def signed_package(agency_g22: Issued) -> bytes:
    return sign_package(build_package(), agency_g22.key, agency_g22.cert)


@pytest.fixture(scope="session")
def dev_ca() -> Issued:
    return create_ca()


@pytest.fixture(scope="session")
def agency_g22(dev_ca: Issued) -> Issued:
    return issue_certificate(dev_ca, "Văn phòng Chính phủ", agency_code=G22)


@pytest.fixture(scope="session")
def agency_h49(dev_ca: Issued) -> Issued:
    return issue_certificate(dev_ca, "UBND Tỉnh Hòa Bình", agency_code=H49)


@pytest.fixture(scope="session")
def agency_g22_ec(dev_ca: Issued) -> Issued:
    return issue_certificate(dev_ca, "Văn phòng Chính phủ", agency_code=G22, key_type="ec")


@pytest.fixture(scope="session")
def axis_signer(dev_ca: Issued) -> Issued:
    return issue_axis_certificate(dev_ca)


@pytest.fixture(scope="session")
def expired_cert(dev_ca: Issued) -> Issued:
    start = datetime.now(UTC) - timedelta(days=400)
    return issue_certificate(
        dev_ca, "Expired agency", agency_code=G22, key_type="ec", valid_from=start, valid_days=30
    )


@pytest.fixture(scope="session")
def not_yet_valid_cert(dev_ca: Issued) -> Issued:
    start = datetime.now(UTC) + timedelta(days=30)
    return issue_certificate(
        dev_ca, "Future agency", agency_code=G22, key_type="ec", valid_from=start
    )


@pytest.fixture(scope="session")
def revoked_cert(dev_ca: Issued) -> Issued:
    return issue_certificate(dev_ca, "Revoked agency", agency_code=H49, key_type="ec")


@pytest.fixture(scope="session")
def no_signing_usage_cert(dev_ca: Issued) -> Issued:
    return issue_certificate(
        dev_ca, "Encryption only", agency_code=G22, key_type="ec", key_usage_digital_signature=False
    )


@pytest.fixture(scope="session")
def untrusted_ca() -> Issued:
    return create_ca("Somebody else's CA", key_type="ec")


@pytest.fixture(scope="session")
def untrusted_cert(untrusted_ca: Issued) -> Issued:
    return issue_certificate(untrusted_ca, "Impostor", agency_code=G22, key_type="ec")


@pytest.fixture(scope="session")
def dev_crl(dev_ca: Issued, revoked_cert: Issued) -> x509.CertificateRevocationList:
    return make_crl(dev_ca, [revoked_cert.cert.serial_number])


@pytest.fixture(scope="session")
def trust_store(dev_ca: Issued, dev_crl: x509.CertificateRevocationList) -> TrustStore:
    return TrustStore([dev_ca.cert], [dev_crl])


@pytest.fixture(scope="session")
def dev_ca_pem_file(dev_ca: Issued, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("pki") / "ca.cert.pem"
    path.write_bytes(cert_to_pem(dev_ca.cert))
    return path


@pytest.fixture(scope="session")
def dev_crl_pem_file(
    dev_crl: x509.CertificateRevocationList, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    path = tmp_path_factory.mktemp("pki") / "ca.crl.pem"
    path.write_bytes(crl_to_pem(dev_crl))
    return path


# -- PostgreSQL (tests/pg_server.py) -----------------------------------------------------


@pytest.fixture(scope="session")
def postgres_dsn() -> Iterator[str]:
    """DSN of an empty database of this test session's own on a real PostgreSQL server.

    Skips (fails under CI) when no server can be found or started.
    """
    from tests.external import unavailable
    from tests.pg_server import create_database, drop_database, postgres_server, run_sync

    with postgres_server() as (admin, how):
        if admin is None:
            unavailable(how)
        dsn = run_sync(lambda: create_database(admin))
        try:
            yield dsn
        finally:
            run_sync(lambda: drop_database(admin, dsn))
