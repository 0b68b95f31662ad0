"""What a peer axis relays here: documents, statuses, and the directory it reads.

A relayed document is the sender's exact bytes: this axis checks the signature
and certificate itself (``core.intake.examine``, as for any document), checks
that the peer may relay for that sender, stores it once, signs its own receipt
and routes the one recipient the relay was for (README "Connecting axes").
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from cryptography import x509

from edoc_axis.core import federation as rules
from edoc_axis.core.intake import Examined
from edoc_axis.core.notice import read_notice
from edoc_axis.core.routing import idempotency_key, routing_targets
from edoc_axis.edxml import DocumentPackage, StatusPackage, agency_level, classify_agency_code
from edoc_axis.errors import (
    CertificateNotAgency,
    NotFound,
    PeerDisabled,
    RecipientDisabled,
    RelayInvalid,
    RelayNotAllowed,
    SchemaInvalid,
)
from edoc_axis.service.context import AxisContext, wake
from edoc_axis.service.intake import accept_status, store_document
from edoc_axis.service.peers import remote_agency
from edoc_axis.service.registry import hash_token, parse_certificates, pem_of
from edoc_axis.service.statuses import record_status
from edoc_axis.signature import certificate_fingerprint
from edoc_axis.store import (
    AcceptResult,
    Agency,
    AgencyExists,
    NewAgency,
    NewStatus,
    Peer,
    Store,
    StoredStatus,
)

log = structlog.get_logger("edoc_axis.relay")


# -- what a peer relays here -----------------------------------------------------


async def authenticate_peer(ctx: AxisContext, token: str | None) -> Peer | None:
    if not token:
        return None
    return await ctx.store.peer_for_token(hash_token(token))


def peer_certificate(peer: Peer) -> x509.Certificate:
    return x509.load_pem_x509_certificate(peer.axis_cert_pem)


async def _relayed_party(ctx: AxisContext, peer: Peer, code: str, what: str) -> Agency:
    """The agency a peer relays for (a sender, a status's author), made on first use.

    The peer may relay only for agencies that are not local here and that its
    patterns cover: a province axis speaks for its own province only.
    """
    agency = await ctx.store.get_agency(code)
    if agency is not None and agency.peer is None:
        raise RelayNotAllowed(f"{code} is an agency of this axis; {peer.name} cannot relay for it")
    if rules.serves(peer.serves, agency.code if agency is not None else code) is None:
        raise RelayNotAllowed(f"{peer.name} does not serve {code}, the {what}")
    if agency is None:
        agency = await remote_agency(ctx, code, via=peer)
        if agency is None:
            raise RelayInvalid(f"{code} is not an agency code")
    return agency


async def accept_relayed_status(
    ctx: AxisContext, peer: Peer, examined: Examined, *, path: tuple[str, ...]
) -> tuple[StoredStatus, bool]:
    """A status a peer relays for its author (a recipient it serves), on its way to the sender.

    It is then the one status intake (``accept_status``): who may send which code,
    the progress order, the recall rounds, and forwarding to the sender, by
    push or by a further relay.
    """
    rules.check_path(path, ctx.config.axis_name, ctx.config.federation.max_hops)
    status = examined.package
    if not isinstance(status, StatusPackage):
        raise RelayInvalid("a relayed status must be an edXML status")
    author = await _relayed_party(ctx, peer, status.sender.organ_id, "status's author")
    return await accept_status(ctx, author, examined, relayed=True)


def check_signer(agency: Agency, fingerprint: str | None, document_id: str | None) -> None:
    """A relayed package's signer against what this axis knows of the agency.

    Once the directory is synced, the agency's certificates are known here and
    the signer must be one of them. Before, the certificate chain is checked
    (by ``examine``) and the peer, authenticated and allowed for the agency's
    region, vouches that the agency's own axis tied signer to sender.
    """
    prints = agency.certificate_fingerprints
    if prints and fingerprint is not None and fingerprint not in prints:
        raise CertificateNotAgency(
            f"the signing certificate is not one {agency.code} is known to hold",
            document_id=document_id,
        )


async def _recipient_of_relay(
    ctx: AxisContext, package: DocumentPackage, recipient: str, path: tuple[str, ...]
) -> Agency:
    """The one recipient a relay is for: named by the package, routed from here."""
    targets = routing_targets(package)
    agency = await ctx.store.get_agency(recipient)
    named = {recipient} if agency is None else {recipient, agency.code, *agency.alias_codes}
    if named.isdisjoint(targets):  # checked first: no remote agency is made for a stranger
        raise RelayInvalid(
            f"the package does not name {recipient} among its recipients",
            document_id=package.document_id,
        )
    agency = agency or await remote_agency(ctx, recipient)
    if agency is None:
        raise RelayInvalid(
            f"recipient {recipient} is neither an agency of this axis nor served by a peer",
            document_id=package.document_id,
        )
    if agency.state != "active":
        raise RecipientDisabled(
            f"recipient {recipient} is disabled", document_id=package.document_id
        )
    if agency.peer is not None:
        rules.check_next_hop(path, agency.peer)
    return agency


async def accept_relayed_document(
    ctx: AxisContext,
    peer: Peer,
    examined: Examined,
    *,
    recipient: str,
    path: tuple[str, ...],
) -> AcceptResult:
    """Store a document a peer relays for one recipient; the same document again is stored once.

    The same bytes that arrive again (over another path, or for another of its
    recipients) add only the new recipient's delivery; other bytes under the
    same DocumentId are a ``document.conflict`` as at any intake.
    """
    rules.check_path(path, ctx.config.axis_name, ctx.config.federation.max_hops)
    package = examined.package
    if not isinstance(package, DocumentPackage):
        raise RelayInvalid("a relayed document must be an edXML document")
    sender = await _relayed_party(ctx, peer, package.sender.organ_id, "sender")
    check_signer(sender, examined.signer_fingerprint, package.document_id)
    target = await _recipient_of_relay(ctx, package, recipient, path)
    key = idempotency_key(package, examined.sha256)
    result = await store_document(
        ctx, sender, package, examined, key, (target.code,), ctx.clock.now(), relay_path=path
    )
    if not result.created:
        added = await ctx.store.add_recipients(
            result.document.axis_id, (target.code,), ctx.clock.now()
        )
        if added:
            wake(ctx)
            log.info("relay.recipient_added", axis_id=result.document.axis_id, recipient=added)
    log.info(
        "relay.accepted",
        peer=peer.name,
        path=",".join(path),
        axis_id=result.document.axis_id,
        recipient=target.code,
        created=result.created,
    )
    return result


async def accept_relayed_notice(
    ctx: AxisContext, peer: Peer, raw: bytes, *, path: tuple[str, ...]
) -> tuple[StoredStatus, bool]:
    """A delivery-failure notice an axis further on wrote, on its way back to the sender.

    It is kept as written (signed by the axis where the delivery died) in the
    feed of the sender's delivery here, and forwarded like any status.
    """
    rules.check_path(path, ctx.config.axis_name, ctx.config.federation.max_hops)
    notice = read_notice(raw)
    recipient = await _relayed_party(ctx, peer, notice.recipient, "notice's recipient")
    document = await ctx.store.find_document(notice.sender, notice.document_id)
    if document is None or await ctx.store.delivery_for(document.axis_id, recipient.code) is None:
        raise NotFound(f"no document {notice.document_id} from {notice.sender} to {recipient.code}")
    sha256 = hashlib.sha256(raw).hexdigest()
    status_id = "nr" + sha256[:40]
    existing = await ctx.store.get_status(status_id)
    if existing is not None:
        return existing, False
    now = ctx.clock.now()
    status = NewStatus(
        status_id=status_id,
        axis_id=document.axis_id,
        from_code=recipient.code,
        to_code=document.sender_code,
        status_code=None,
        raw=raw,
        sha256=sha256,
        timestamp=now,
        received_at=now,
        kind="notice",
    )
    stored = await record_status(ctx, status, document, None, updates_progress=False)
    log.warning("relay.notice", peer=peer.name, axis_id=document.axis_id, reason=notice.reason)
    return stored, True


# -- the directory ----------------------------------------------------------------


async def directory(ctx: AxisContext, peer: Peer) -> dict[str, Any]:
    """The agencies this axis reaches, for ``peer`` to route by (not the ones it serves itself).

    Each entry has the codes it is known by and its certificates (PEM), so the
    peer can tie a relayed document's signer to its sender. ``version`` moves
    whenever the registry changes (the registry version of issue 15).
    """
    agencies = []
    for agency in await ctx.store.list_agencies():
        if agency.state != "active" or agency.test or agency.peer == peer.name:
            continue
        certificates = []
        for fingerprint in agency.certificate_fingerprints:
            pem = await ctx.store.certificate_pem(fingerprint)
            if pem is not None:
                certificates.append(pem.decode("ascii"))
        agencies.append(
            {
                "code": agency.code,
                "name": agency.name,
                "codes": _code_forms(agency),
                "level": _level(agency),
                "certificates": certificates,
                "via": agency.peer or ctx.config.axis_name,
            }
        )
    return {
        "axis": ctx.config.axis_name,
        "version": await ctx.store.registry_version(),
        "agencies": agencies,
    }


def _level(agency: Agency) -> int | None:
    for code in (agency.code, *agency.alias_codes):
        level = agency_level(code)
        if level is not None:
            return level
    return None


def _code_forms(agency: Agency) -> dict[str, list[str]]:
    forms: dict[str, list[str]] = {"qcvn102": [], "qd20": [], "legacy": []}
    for code in (agency.code, *agency.alias_codes):
        try:
            forms[classify_agency_code(code).value].append(code)
        except (SchemaInvalid, KeyError):
            continue
    return forms


@dataclass(frozen=True)
class SyncReport:
    version: int
    added: tuple[str, ...]
    updated: tuple[str, ...]
    disabled: tuple[str, ...]
    skipped: tuple[str, ...]  # local here, or outside the patterns the peer serves here
    unchanged: bool = False

    def as_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "unchanged": self.unchanged,
            "added": list(self.added),
            "updated": list(self.updated),
            "disabled": list(self.disabled),
            "skipped": list(self.skipped),
        }


async def apply_directory(
    store: Store, peer: Peer, listing: dict[str, Any], at: datetime
) -> SyncReport:
    """Make this axis's remote agencies of ``peer`` what its directory says.

    New agencies are added (with their other codes and certificates), known ones
    get the certificates they gained, and remote agencies of this peer that the
    directory no longer lists are disabled (never deleted: their documents
    stay). A code that is local here, or outside the patterns this axis lets
    the peer serve, is never taken.
    """
    if peer.state != "active":
        raise PeerDisabled(f"peer axis {peer.name} is disabled; enable it first, then sync")
    version, entries = int(listing["version"]), listing["agencies"]
    if not isinstance(entries, list):
        raise SchemaInvalid("a directory's agencies must be a list")
    added: list[str] = []
    updated: list[str] = []
    skipped: list[str] = []
    seen: set[str] = set()
    for entry in entries:
        code = str(entry["code"])
        seen.add(code)
        outcome = await _apply_entry(store, peer, code, entry, at)
        {"added": added, "updated": updated, "skipped": skipped}.get(outcome, []).append(code)
    disabled = []
    for agency in await store.list_agencies():
        if agency.peer == peer.name and agency.code not in seen and agency.state == "active":
            await store.set_agency_state(agency.code, "disabled", at=at)
            disabled.append(agency.code)
    await store.set_directory_version(peer.name, version)
    return SyncReport(version, tuple(added), tuple(updated), tuple(disabled), tuple(skipped))


async def _apply_entry(
    store: Store, peer: Peer, code: str, entry: dict[str, Any], now: datetime
) -> str:
    """One directory entry: "added", "updated", "skipped" or "same"."""
    existing = await store.get_agency(code)
    if rules.serves(peer.serves, code) is None or (existing is not None and existing.peer is None):
        return "skipped"
    certs = [
        (certificate_fingerprint(cert), pem_of(cert))
        for pem in entry.get("certificates", [])
        for cert in parse_certificates(str(pem).encode("ascii"))
    ]
    if existing is None:
        forms = entry.get("codes", {})
        aliases = [c for form in forms.values() for c in form if c != code]
        free = tuple([a for a in aliases if await store.get_agency(a) is None])
        new = NewAgency(
            code=code,
            name=str(entry.get("name") or code)[:200],
            alias_codes=free,
            delivery_mode="push",
            endpoint_url=peer.url,
            peer=peer.name,
            test=peer.test,
        )
        try:
            await store.create_agency(new, "", certs, now)
        except AgencyExists:  # made meanwhile (another node's sync, a first relay)
            return "same"
        return "added"
    gained = [(f, pem) for f, pem in certs if f not in existing.certificate_fingerprints]
    for fingerprint, pem in gained:
        await store.add_certificate(code, fingerprint, pem, at=now)
    revived = existing.state != "active" and existing.peer == peer.name
    if revived:
        await store.set_agency_state(code, "active", at=now)
    return "updated" if gained or revived else "same"
