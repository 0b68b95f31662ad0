"""One exception hierarchy carrying the stable error codes of the HTTP API.

Every refusal the axis can make is one of these classes. The HTTP layer and the
CLI map them to a response or an exit code; neither re-decides the code.
"""

from __future__ import annotations

from typing import ClassVar


class EdocError(Exception):
    """Root of every refusal; ``code`` is the stable wire code from API.md."""

    code: ClassVar[str] = "internal"
    http_status: ClassVar[int] = 500
    title: ClassVar[str] = "Internal error"

    def __init__(
        self,
        detail: str,
        *,
        document_id: str | None = None,
        retry_after_s: int | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.document_id = document_id
        self.retry_after_s = retry_after_s

    def __str__(self) -> str:
        return f"{self.code}: {self.detail}"

    def to_problem(self) -> dict[str, object]:
        """The RFC 9457 problem object for this error."""
        return problem_object(
            self.http_status, self.code, self.title, self.detail, document_id=self.document_id
        )


def problem_object(
    status: int, code: str, title: str, detail: str, *, document_id: str | None = None
) -> dict[str, object]:
    """The one RFC 9457 problem shape of every refusal (axis, endpoint, raw socket)."""
    problem: dict[str, object] = {
        "type": f"urn:edoc-axis:error:{code}",
        "title": title,
        "status": status,
        "code": code,
        "detail": detail,
    }
    if document_id is not None:
        problem["document_id"] = document_id
    return problem


class XmlMalformed(EdocError):
    code, http_status, title = "xml.malformed", 400, "Malformed XML"


class XmlForbidden(EdocError):
    code, http_status, title = "xml.forbidden", 400, "Forbidden XML construct"


class SchemaInvalid(EdocError):
    code, http_status, title = "schema.invalid", 400, "Not a valid edXML package"


class AuthRequired(EdocError):
    code, http_status, title = "auth.required", 401, "Authentication required"


class AuthSenderMismatch(EdocError):
    code, http_status, title = "auth.sender-mismatch", 403, "Caller is not the sender"


class NotFound(EdocError):
    code, http_status, title = "not-found", 404, "Not found"


class DocumentConflict(EdocError):
    code, http_status, title = "document.conflict", 409, "Document id already used"


class PayloadTooLarge(EdocError):
    code, http_status, title = "payload.too-large", 413, "Payload too large"


class MediaUnsupported(EdocError):
    code, http_status, title = "media.unsupported", 415, "Unsupported media type"


class SignatureMissing(EdocError):
    code, http_status, title = "signature.missing", 422, "Signature missing"


class SignatureInvalid(EdocError):
    code, http_status, title = "signature.invalid", 422, "Signature invalid"


class SignatureAlgorithm(EdocError):
    code, http_status, title = "signature.algorithm", 422, "Signature algorithm refused"


class SignatureWrapping(EdocError):
    code, http_status, title = "signature.wrapping", 422, "Signature does not cover the package"


class CertificateUntrusted(EdocError):
    code, http_status, title = "certificate.untrusted", 422, "Certificate not trusted"


class CertificateExpired(EdocError):
    code, http_status, title = "certificate.expired", 422, "Certificate outside its validity"


class CertificateRevoked(EdocError):
    code, http_status, title = "certificate.revoked", 422, "Certificate revoked"


class CertificateNotAgency(EdocError):
    code, http_status, title = (
        "certificate.not-agency",
        422,
        "Certificate not registered to the sender",
    )


class RecipientUnknown(EdocError):
    code, http_status, title = "recipient.unknown", 422, "Unknown recipient"


class RecipientDisabled(EdocError):
    code, http_status, title = "recipient.disabled", 422, "Recipient disabled"


class RateLimited(EdocError):
    code, http_status, title = "rate.limited", 429, "Rate limited"


class Unavailable(EdocError):
    code, http_status, title = "unavailable", 503, "Temporarily unavailable"


# Codes beyond the API.md table (documented in README "Departures from the spec").


class RequestInvalid(EdocError):
    """A malformed query parameter or JSON body (bad cursor, limit out of range)."""

    code, http_status, title = "request.invalid", 400, "Invalid request"


class RequestTimeout(EdocError):
    """A request body that stalled or came slower than ``[limits]`` allows."""

    code, http_status, title = "request.timeout", 408, "Request body too slow"


class BusinessReferenceUnknown(EdocError):
    """A revoke/update/replace names a document the sender never sent."""

    code, http_status, title = "business.unknown-document", 422, "Referenced document unknown"


class StatusTransition(EdocError):
    """A status would move a delivery backwards or follow a final 02/06."""

    code, http_status, title = "status.transition", 409, "Status transition not allowed"


class StatusNotAllowed(EdocError):
    """The caller may not send this status code for this document."""

    code, http_status, title = "status.not-allowed", 422, "Status code not allowed for caller"


# The VDXP transport's own refusals (its answer carries the code as ErrorCode).


class VdxpUnsigned(EdocError):
    """The HMAC header set (sign-header, sign-header-key, hash-header) is missing or malformed."""

    code, http_status, title = "vdxp.unsigned", 401, "VDXP request not signed"


class VdxpAuthFailed(EdocError):
    """Unknown or disabled system, or an HMAC that does not verify (one code for all three)."""

    code, http_status, title = "vdxp.auth-failed", 401, "VDXP authentication failed"


class VdxpHeaderMismatch(EdocError):
    """A signed name disagrees with the header sent, or a parameter header is not signed."""

    code, http_status, title = "vdxp.header-mismatch", 401, "VDXP header not as signed"


class VdxpStale(EdocError):
    """The signed timestamp is outside ``[vdxp] freshness_s``."""

    code, http_status, title = "vdxp.stale", 401, "VDXP timestamp outside the window"


class VdxpHashFile(EdocError):
    """The ``hash-file`` header is not the SHA-256 of the file sent."""

    code, http_status, title = "vdxp.hash-file", 400, "File hash mismatch"


class VdxpMethodUnknown(EdocError):
    code, http_status, title = "vdxp.method-unknown", 404, "Unknown VDXP method"


# Federation: what an axis answers a peer axis that relays to it (POST /api/v1/relay).


class RelayUnknownPeer(EdocError):
    """No active peer axis holds this token, or its signature key is not the peer's."""

    code, http_status, title = "relay.unknown-peer", 401, "Unknown peer axis"


class RelayNotAllowed(EdocError):
    """The peer may not relay for this sender or status author (not in the region it serves)."""

    code, http_status, title = "relay.not-allowed", 403, "Peer not allowed to relay this"


class RelayLoop(EdocError):
    """The relay path already names this axis, or the next hop would go back along it."""

    code, http_status, title = "relay.loop", 422, "Relay loop"


class RelayHops(EdocError):
    """The relay path is longer than ``[federation] max_hops``."""

    code, http_status, title = "relay.hops", 422, "Too many relay hops"


class PeerDisabled(EdocError):
    """An operator asked to sync a disabled peer (its directory would revive its agencies)."""

    code, http_status, title = "peer.disabled", 409, "Peer axis disabled"


class RelayInvalid(EdocError):
    """A relay without its hop headers, or for a recipient its package does not name."""

    code, http_status, title = "relay.invalid", 400, "Invalid relay"


def all_error_classes() -> list[type[EdocError]]:
    """Every concrete error class, for the spec-table test and documentation."""
    found: list[type[EdocError]] = []
    pending = list(EdocError.__subclasses__())
    while pending:
        cls = pending.pop(0)
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return found
