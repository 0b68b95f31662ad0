"""FED-*: the axis as a peer of other axes: who may relay to it, loops, hops, exact bytes.

The suite plays a peer axis (``--setup`` registers it as ``conformance-<tag>``
serving ``<tag>.R.*``) and relays to ``POST /api/v1/relay`` as a peer does:
the sender's exact signed bytes, the peer's bearer token, the push delivery
signature made with the peer's axis key, and ``Edoc-Relay-Path`` naming the
axes crossed, origin first. The sender is one of the peer's agencies (never an
agency of the axis); the recipient is the run's 'recipient', a local pull agency.
README "Connecting axes" describes the relay; docs/conformance.md the cases.
"""

from __future__ import annotations

import hashlib
import secrets

from edoc_axis.client import ApiResponse
from edoc_axis.conformance.context import RunContext
from edoc_axis.conformance.corpus import attachment
from edoc_axis.conformance.model import Case, CaseFailed, Probe, collector
from edoc_axis.core.federation import check_axis_name
from edoc_axis.pki import create_ca, issue_axis_certificate

_cases: list[Case] = []
case = collector(_cases)
RELAY = "README §Connecting axes: POST /api/v1/relay (project addition)"
PATH_LIMIT = 16  # names a relay path header may carry at all


@case(
    "FED-001",
    "a relay from an unknown peer is refused",
    RELAY + ": a peer presents its token and signs with its axis key",
    sends="a valid relay with an empty bearer token, then with a random one, then with the "
    "peer's token but a delivery signature by another axis key",
    expects="401 relay.unknown-peer, three times",
    required=False,
    needs=("recipient",),
)
async def unknown_peer(ctx: RunContext, probe: Probe) -> None:
    peer = ctx.peer()
    recipient = ctx.code("recipient")
    body = ctx.signed_as(peer.remote)
    impostor = issue_axis_certificate(create_ca("Conformance impostor CA"), peer.name)
    for token, signer in (
        ("", None),
        (secrets.token_urlsafe(24), None),
        (None, (impostor.key, impostor.cert)),
    ):
        answer = await ctx.relay(
            body,
            sender=peer.remote.code,
            recipient=recipient,
            path=(peer.name,),
            token=token,
            signer=signer,
        )
        probe.expect(answer, 401, "relay.unknown-peer")


@case(
    "FED-002",
    "a relay loop is refused",
    RELAY + ": a path naming this axis, or a next hop already on it, is a loop",
    sends="a valid relay whose path names the axis itself (its name from a receipt, which must "
    "be one a path can carry); then a "
    "document between two of the peer's agencies, which would go back to the peer",
    expects="422 relay.loop, both times",
    required=False,
    needs=("recipient",),
)
async def loop(ctx: RunContext, probe: Probe) -> None:
    peer = ctx.peer()
    own = await ctx.axis_name(probe)
    try:
        check_axis_name(own)
    except ValueError as exc:
        # Then no relay path can name the axis: its own relays are refused by every peer.
        raise CaseFailed(
            f"the axis's name from its receipt cannot be on a relay path: {exc}"
        ) from exc
    body = ctx.signed_as(peer.remote)
    answer = await ctx.relay(
        body, sender=peer.remote.code, recipient=ctx.code("recipient"), path=(own, peer.name)
    )
    probe.expect(answer, 422, "relay.loop")
    back = ctx.signed_as(peer.remote, to=(peer.remote_second.code,))
    answer = await ctx.relay(
        back, sender=peer.remote.code, recipient=peer.remote_second.code, path=(peer.name,)
    )
    probe.expect(answer, 422, "relay.loop")


@case(
    "FED-003",
    "a relayed document keeps its exact bytes and is stored once",
    RELAY + ": the sender's exact bytes; the same document again is stored once",
    sends="a signed document with an attachment from the peer's agency to 'recipient', "
    "relayed twice; 'recipient' reads its inbox and the document",
    expects="202 with a receipt whose Digest is the SHA-256 of the bytes sent, then 200 with "
    "the same axis id; one inbox entry; the inbox gives byte-identical bytes",
    required=False,
    needs=("recipient",),
)
async def exact_bytes(ctx: RunContext, probe: Probe) -> None:
    peer = ctx.peer()
    recipient = ctx.code("recipient")
    body = ctx.signed_as(peer.remote, attachments=[attachment()])

    async def relay() -> ApiResponse:
        return await ctx.relay(
            body, sender=peer.remote.code, recipient=recipient, path=(peer.name,)
        )

    first = probe.expect(await relay(), 202)
    receipt = ctx.receipt(first.body)
    digest = hashlib.sha256(body).hexdigest()
    probe.check(receipt.sha256 == digest, "the receipt's Digest is not the SHA-256 of the bytes")
    probe.check(receipt.sender == peer.remote.code, f"the receipt names sender {receipt.sender}")
    again = probe.expect(await relay(), 200)
    probe.check(
        ctx.receipt(again.body).axis_id == receipt.axis_id,
        "the same relay again got another axis id",
    )
    entries = await _inbox_entries(ctx, peer.remote.code, body)
    probe.check(entries == [receipt.axis_id], f"{len(entries)} inbox entries for one document")
    fetched = probe.expect(await ctx.client("recipient").inbox_document(receipt.axis_id), 200)
    probe.check(
        fetched.body == body,
        "the recipient got other bytes than the peer relayed",
        expected="202, 200, one inbox entry, identical bytes",
    )


async def _inbox_entries(ctx: RunContext, sender: str, body: bytes) -> list[str]:
    """The axis ids in 'recipient''s inbox of documents from ``sender`` with these bytes."""
    digest = hashlib.sha256(body).hexdigest()
    ids: list[str] = []
    cursor: str | None = None
    for _ in range(1000):
        page = (await ctx.client("recipient").inbox(limit=100, cursor=cursor)).json()
        ids += [
            str(item["id"])
            for item in page.get("items", [])
            if item.get("sender") == sender and item.get("sha256") == digest
        ]
        cursor = page.get("next_cursor")
        if not cursor:
            break
    return ids


@case(
    "FED-004",
    "a peer may relay only for the agencies it serves",
    RELAY + ": a peer relays only for agencies in its patterns, never for a local one",
    sends="a valid relay from an agency outside the peer's patterns (certificate from a CA the "
    "axis trusts); then one from the run's 'sender', a local agency of the axis",
    expects="403 relay.not-allowed, both times",
    required=False,
    needs=("sender", "recipient"),
)
async def not_served(ctx: RunContext, probe: Probe) -> None:
    peer = ctx.peer()
    recipient = ctx.code("recipient")
    outside = ctx.signed_as(peer.outside)
    answer = await ctx.relay(
        outside, sender=peer.outside.code, recipient=recipient, path=(peer.name,)
    )
    probe.expect(answer, 403, "relay.not-allowed")
    local = ctx.signed("sender", ("recipient",))
    answer = await ctx.relay(
        local, sender=ctx.code("sender"), recipient=recipient, path=(peer.name,)
    )
    probe.expect(answer, 403, "relay.not-allowed")


@case(
    "FED-005",
    "a relay over the hop limit is refused",
    RELAY + ": [federation] max_hops",
    sends="a valid relay whose path names max_hops axes, then one naming max_hops + 1 "
    "(max_hops from --config; when unknown only the second, with 16 names, the most a path "
    "may carry, which passes only if the axis allows fewer hops)",
    expects="202 at the limit; 422 relay.hops over it",
    required=False,
    needs=("recipient",),
)
async def too_many_hops(ctx: RunContext, probe: Probe) -> None:
    peer = ctx.peer()
    recipient = ctx.code("recipient")
    limit = peer.max_hops
    if limit is not None and not 1 <= limit < PATH_LIMIT:
        probe.skip(f"the axis allows {limit} hops; a relay path names 1 to {PATH_LIMIT} axes")
    tag = secrets.token_hex(3)
    names = [f"conformance-hop-{tag}-{n}" for n in range(PATH_LIMIT)]

    def path(length: int) -> tuple[str, ...]:
        return (*names[: length - 1], peer.name)

    if limit is not None:
        at_limit = ctx.signed_as(peer.remote)
        answer = await ctx.relay(
            at_limit, sender=peer.remote.code, recipient=recipient, path=path(limit)
        )
        probe.expect(answer, 202)
    over = ctx.signed_as(peer.remote)
    length = PATH_LIMIT if limit is None else limit + 1
    answer = await ctx.relay(over, sender=peer.remote.code, recipient=recipient, path=path(length))
    probe.expect(answer, 422, "relay.hops")


@case(
    "FED-006",
    "a relay for a recipient the package does not name is refused",
    RELAY + ": a relay is for one recipient its package names",
    sends="a valid document from the peer's agency to 'recipient', relayed for 'second'; "
    "then one without Edoc-Relay-Path",
    expects="400 relay.invalid, both times",
    required=False,
    needs=("recipient", "second"),
)
async def recipient_not_named(ctx: RunContext, probe: Probe) -> None:
    peer = ctx.peer()
    body = ctx.signed_as(peer.remote)
    answer = await ctx.relay(
        body, sender=peer.remote.code, recipient=ctx.code("second"), path=(peer.name,)
    )
    probe.expect(answer, 400, "relay.invalid")
    answer = await ctx.relay(
        body, sender=peer.remote.code, recipient=ctx.code("recipient"), path=None
    )
    probe.expect(answer, 400, "relay.invalid")


CASES: tuple[Case, ...] = tuple(_cases)
