"""Is the signer certificate acceptable: trust chain, validity, revocation, agency.

Chains are built by ``cryptography.x509.verification`` (RFC 5280 path
building with the Web PKI rules for CA certificates). Its end-entity policy is
made for TLS; a document-signing certificate has no serverAuth/clientAuth
EKU and often no SAN, so the end-entity policy here permits any extension
except a CA basic constraint, and the document-signing requirement
(KeyUsage digitalSignature or nonRepudiation) is checked by this module.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import time
from collections.abc import Collection, Sequence
from datetime import datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.verification import (
    Criticality,
    ExtensionPolicy,
    Policy,
    PolicyBuilder,
    Store,
    VerificationError,
)

from edoc_axis.errors import (
    CertificateExpired,
    CertificateNotAgency,
    CertificateRevoked,
    CertificateUntrusted,
)


@functools.lru_cache(maxsize=1024)  # the same few certificates sign most documents
def certificate_fingerprint(cert: x509.Certificate) -> str:
    """Lowercase hex SHA-256 of the certificate's DER encoding."""
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


def check_agency_certificate(
    cert: x509.Certificate, registered_fingerprints: Collection[str], agency_code: str
) -> None:
    """Raise CertificateNotAgency unless ``cert`` is registered to the agency.

    Fingerprints may be given with colons or in upper case; the subject text
    of the certificate plays no part.
    """
    wanted = {fp.replace(":", "").strip().lower() for fp in registered_fingerprints}
    fingerprint = certificate_fingerprint(cert)
    if fingerprint not in wanted:
        raise CertificateNotAgency(
            f"certificate sha256:{fingerprint} is not registered to agency {agency_code}"
        )


def _key_id(cert: x509.Certificate) -> tuple[x509.Name, bytes]:
    spki = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return cert.subject, spki


def _reject_ca_leaf(
    policy: Policy, cert: x509.Certificate, ext: x509.BasicConstraints | None
) -> None:
    if ext is not None and ext.ca:
        raise ValueError("a CA certificate cannot sign documents")


_EE_POLICY = ExtensionPolicy.permit_all().may_be_present(
    x509.BasicConstraints, Criticality.AGNOSTIC, _reject_ca_leaf
)


# How long a built chain is reused, and how many are kept (a cache, not a registry).
CHAIN_CACHE_TTL_S = 300.0
CHAIN_CACHE_SIZE = 4096


class _BuiltChain:
    """A chain path building accepted, and the times at which all of it is valid."""

    __slots__ = ("chain", "expires", "not_after", "not_before")

    def __init__(self, chain: list[x509.Certificate], expires: float) -> None:
        self.chain = chain
        self.not_before = max(cert.not_valid_before_utc for cert in chain)
        self.not_after = min(cert.not_valid_after_utc for cert in chain)
        self.expires = expires

    def usable(self, at: datetime, now: float) -> bool:
        return now < self.expires and self.not_before <= at <= self.not_after


class TrustStore:
    """Trust anchors, optional intermediates and CRLs; ``check`` judges one certificate.

    Every CRL must be signed by one of the given CA certificates: a CRL that
    does not verify is a configuration error (ValueError here), because
    silently ignoring it would turn revocation off.

    Path building (RFC 5280, ~0.1 ms) is the expensive part of ``check``, and
    agencies sign thousands of documents with one certificate. A store is
    immutable (anchors, intermediates and CRLs are fixed when it is made), so
    a chain built for the same certificate and the same presented CA
    certificates is reused for ``CHAIN_CACHE_TTL_S`` while ``at`` lies inside
    the validity of every certificate of that chain. Key usage, the leaf's
    validity and the revocation of every link are still checked on every
    call; refusals are never cached.
    """

    def __init__(
        self,
        anchors: Sequence[x509.Certificate],
        crls: Sequence[x509.CertificateRevocationList] = (),
        intermediates: Sequence[x509.Certificate] = (),
    ) -> None:
        if not anchors:
            raise ValueError("a TrustStore needs at least one trust anchor")
        self.anchors = tuple(anchors)
        self.intermediates = tuple(intermediates)
        self._store = Store(list(self.anchors))
        self._crls: dict[tuple[x509.Name, bytes], list[x509.CertificateRevocationList]] = {}
        self._chains: dict[tuple[x509.Certificate, ...], _BuiltChain] = {}
        for crl in crls:
            issuer = self._crl_issuer(crl)
            self._crls.setdefault(_key_id(issuer), []).append(crl)

    def _crl_issuer(self, crl: x509.CertificateRevocationList) -> x509.Certificate:
        for candidate in self.anchors + self.intermediates:
            key = candidate.public_key()
            if (
                candidate.subject == crl.issuer
                and isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey)
                and crl.is_signature_valid(key)
            ):
                return candidate
        raise ValueError(f"CRL of {crl.issuer.rfc4514_string()} is not signed by a configured CA")

    def check(
        self, cert: x509.Certificate, at: datetime, chain: Sequence[x509.Certificate] = ()
    ) -> None:
        """Raise unless ``cert`` may sign documents at ``at`` (an aware datetime).

        CertificateUntrusted: no document-signing key usage, or no chain to an
        anchor; CertificateExpired: outside its validity at ``at``;
        CertificateRevoked: listed on its issuer's CRL (stale CRLs still count).
        """
        if at.tzinfo is None:
            raise ValueError("check() needs a timezone-aware time")
        _require_signing_usage(cert)
        _require_valid_at(cert, at)
        built = self._chain(cert, at, chain)
        for subject, issuer in itertools.pairwise(built):
            self._require_not_revoked(subject, issuer)

    def _chain(
        self, cert: x509.Certificate, at: datetime, chain: Sequence[x509.Certificate]
    ) -> list[x509.Certificate]:
        """The verified path from ``cert`` to an anchor, built or reused (see the class)."""
        key = (cert, *chain)
        now = time.monotonic()
        cached = self._chains.get(key)
        if cached is not None and cached.usable(at, now):
            return cached.chain
        built = self._build(cert, at, chain)
        if len(self._chains) >= CHAIN_CACHE_SIZE:
            self._chains.clear()
        self._chains[key] = _BuiltChain(built, now + CHAIN_CACHE_TTL_S)
        return built

    def _build(
        self, cert: x509.Certificate, at: datetime, chain: Sequence[x509.Certificate]
    ) -> list[x509.Certificate]:
        verifier = (
            PolicyBuilder()
            .store(self._store)
            .time(at)
            .extension_policies(
                ca_policy=ExtensionPolicy.webpki_defaults_ca(), ee_policy=_EE_POLICY
            )
            .build_client_verifier()
        )
        try:
            return list(verifier.verify(cert, list(chain) + list(self.intermediates)).chain)
        except VerificationError as exc:
            raise CertificateUntrusted(self._untrusted_reason(cert, chain)) from exc

    def _untrusted_reason(self, cert: x509.Certificate, chain: Sequence[x509.Certificate]) -> str:
        """Why no path was found, in our words (the library's are about its search)."""
        subject = cert.subject.rfc4514_string()
        known = {ca.subject for ca in (*self.anchors, *self.intermediates, *chain)}
        trusted = "; ".join(anchor.subject.rfc4514_string() for anchor in self.anchors)
        issuer = cert.issuer.rfc4514_string()
        if cert.issuer not in known:
            return (
                f"certificate {subject} does not chain to a trust anchor: its issuer"
                f" {issuer} is not a trusted CA (trusted: {trusted})"
            )
        namesakes = [ca for ca in (*self.anchors, *self.intermediates, *chain)
                     if ca.subject == cert.issuer]  # fmt: skip
        if not any(_directly_issued(cert, ca) for ca in namesakes):
            return (
                f"certificate {subject} does not chain to a trust anchor: its issuer {issuer}"
                " has the name of a trusted CA but not its key (another CA of the same name)"
            )
        return (
            f"certificate {subject} does not chain to a trust anchor: no valid path to"
            f" {trusted} (a CA certificate used to sign, a broken path length or key usage,"
            " an issuer signature that does not verify, or an issuer outside its validity)"
        )

    def _require_not_revoked(self, cert: x509.Certificate, issuer: x509.Certificate) -> None:
        for crl in self._crls.get(_key_id(issuer), ()):
            entry = crl.get_revoked_certificate_by_serial_number(cert.serial_number)
            if entry is not None:
                raise CertificateRevoked(
                    f"certificate serial {cert.serial_number:x} of {cert.subject.rfc4514_string()}"
                    f" was revoked on {entry.revocation_date_utc:%Y-%m-%d}"
                )


def _directly_issued(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _require_signing_usage(cert: x509.Certificate) -> None:
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        raise CertificateUntrusted(
            "the certificate has no KeyUsage; digitalSignature or nonRepudiation is required"
        ) from None
    if not (usage.digital_signature or usage.content_commitment):
        raise CertificateUntrusted(
            "the certificate's KeyUsage allows neither digitalSignature nor nonRepudiation"
        )


def _require_valid_at(cert: x509.Certificate, at: datetime) -> None:
    if at < cert.not_valid_before_utc:
        raise CertificateExpired(
            f"certificate not valid before {cert.not_valid_before_utc:%Y-%m-%d %H:%M:%S}Z"
        )
    if at > cert.not_valid_after_utc:
        raise CertificateExpired(
            f"certificate expired {cert.not_valid_after_utc:%Y-%m-%d %H:%M:%S}Z"
        )
