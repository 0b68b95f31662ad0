"""XML-DSig for the one edXML profile, and the checks on the signer certificate."""

from edoc_axis.signature.certificates import (
    TrustStore,
    certificate_fingerprint,
    check_agency_certificate,
)
from edoc_axis.signature.policy import VerificationPolicy, VerifiedSignature
from edoc_axis.signature.signer import sign_enveloped, sign_package, sign_parsed
from edoc_axis.signature.verifier import (
    PreparedSignature,
    prepare_package,
    verify_enveloped,
    verify_package,
)

__all__ = [
    "PreparedSignature",
    "TrustStore",
    "VerificationPolicy",
    "VerifiedSignature",
    "certificate_fingerprint",
    "check_agency_certificate",
    "prepare_package",
    "sign_enveloped",
    "sign_package",
    "sign_parsed",
    "verify_enveloped",
    "verify_package",
]
