"""The suite catches faults: a deliberately broken axis fails exactly the cases it must."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from pathlib import Path

import pytest
from cryptography import x509
from lxml import etree

from edoc_axis.core import intake
from edoc_axis.errors import SignatureMissing
from edoc_axis.service import intake as status_intake
from edoc_axis.signature import VerificationPolicy, VerifiedSignature
from edoc_axis.signature.algorithms import DSIG_NS
from tests.conformance import explain, failed_ids, run_catalogue, running_axis

# A verifier that checks nothing: no digest, no signature value, no profile
# (placement, algorithms, wrapping). It still needs a certificate, so the
# certificate checks and the missing-signature refusals keep working.
NO_SIGNATURE_CHECK_FAILS = {
    "SIG-002",  # tampered text
    "SIG-003",  # tampered attribute
    "SIG-005",  # changed digest
    "SIG-006",  # changed signature value
    "SIG-008",  # empty signature value (optional)
    "SIG-009",  # second signature
    "SIG-010",  # signature moved into the body
    "SIG-014",  # original hidden in ds:Object
    "SIG-015",  # id-based reference
    "SIG-016",  # XPath transform
    "SIG-017",  # comment splitting DocumentId
    "SIG-018",  # attacker's second signature
    "SIG-019",  # SHA-1 SDK shape
    "SIG-020",  # rsa-sha1
    "SIG-021",  # sha1 digest
    "SIG-022",  # md5
    "SIG-023",  # hmac
    "SIG-024",  # edXML-namespace signature (optional)
    "SIG-045",  # C14N 1.0 with comments
    "SIG-046",  # C14N 1.1 with comments
    "SIG-047",  # SignedInfo exclusive C14N with comments
    "SIG-048",  # the SDK's exc-c14n URI without the legacy policy
    "STATUS-014",  # tampered status
}
NO_STATE_MACHINE_FAILS = {"STATUS-003", "STATUS-004", "STATUS-005", "STATUS-018"}


class _CertificateOnly:
    """A "verification" that reads the signer certificate and never checks the signature."""

    def __init__(self, cert: x509.Certificate) -> None:
        self.certificate = cert
        self.chain: tuple[x509.Certificate, ...] = ()

    def verify(
        self, *, document_size: int | None = None, aside: Mapping[str, memoryview] | None = None
    ) -> VerifiedSignature:
        return VerifiedSignature(
            certificate=self.certificate,
            chain=(),
            signature_algorithm="",
            digest_algorithm="",
            legacy=False,
            signed_bytes=b"",
        )


def _certificate_only(
    root: etree._Element, policy: VerificationPolicy | None = None
) -> _CertificateOnly:
    node = next(root.iter(f"{{{DSIG_NS}}}X509Certificate"), None)
    if node is None or not (node.text or "").strip():
        raise SignatureMissing("no certificate")
    der = base64.b64decode("".join((node.text or "").split()))
    return _CertificateOnly(x509.load_der_x509_certificate(der))


async def test_an_axis_without_signature_checks_fails_the_signature_cases(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(intake, "prepare_package", _certificate_only)
    async with running_axis(tmp_path / "home") as (url, config):
        results = await run_catalogue(url, config)
    assert failed_ids(results) == NO_SIGNATURE_CHECK_FAILS, explain(results)


async def test_an_axis_without_the_status_state_machine_fails_the_status_cases(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(status_intake, "check_progress", lambda current, new: None)
    async with running_axis(tmp_path / "home") as (url, config):
        results = await run_catalogue(url, config)
    assert failed_ids(results) == NO_STATE_MACHINE_FAILS, explain(results)


# No rounds at all: an answer without a recall, and a second answer, are taken.
NO_ONE_ANSWER_RULE_FAILS = {"STATUS-011", "FLOW-019"}


async def test_an_axis_taking_every_answer_fails_the_one_answer_case(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(status_intake, "round_for", lambda code, rounds: None)
    async with running_axis(tmp_path / "home") as (url, config):
        results = await run_catalogue(url, config)
    assert failed_ids(results) == NO_ONE_ANSWER_RULE_FAILS, explain(results)
