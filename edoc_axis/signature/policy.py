"""What a verification accepts, and what it reports back."""

from __future__ import annotations

from dataclasses import dataclass

from cryptography import x509


@dataclass(frozen=True)
class VerificationPolicy:
    """Secure by default; the legacy switch is the only knob.

    ``allow_legacy`` accepts what the reference SDK produces: SHA-1 digests,
    rsa-sha1, and the ``Signature`` subtree written in the edXML namespace
    instead of the XML-DSig one. The result then says ``legacy=True`` so the
    receipt can record that the weaker policy was applied.
    """

    allow_legacy: bool = False


@dataclass(frozen=True)
class VerifiedSignature:
    """A signature that verified, and exactly what it covered."""

    certificate: x509.Certificate  # the signer certificate from KeyInfo
    chain: tuple[x509.Certificate, ...]  # further (CA) certificates from KeyInfo
    signature_algorithm: str  # URI
    digest_algorithm: str  # URI
    legacy: bool  # True when the legacy policy had to be applied
    # The canonical bytes the Reference digest covers; None when the document
    # held a text node of 1 MiB or more, hashed in pieces and never held whole.
    signed_bytes: bytes | None
