"""Registry changes made by another process reach a running axis (store/registry_cache.py).

The axis answers token, sender and recipient lookups from memory; a second
store object on the same file stands for `edoc-axis` commands or another
`serve --processes` worker. What they revoke, disable or remove must stop
working at the axis within the cache's bound (polled, never timed).
"""

from __future__ import annotations

from edoc_axis.signature.certificates import certificate_fingerprint
from edoc_axis.store import NewAgency, SqliteStore
from tests.integration.server.conftest import RunningAxis
from tests.waiting import eventually

G31, G32, G33 = "000.00.00.G31", "000.00.00.G32", "000.00.00.G33"


def _elsewhere(axis: RunningAxis) -> SqliteStore:
    return SqliteStore(axis.config.store_path)


async def test_a_token_revoked_by_another_process_is_refused(axis: RunningAxis) -> None:
    sender = await axis.register(G31)
    await axis.register(G32)
    assert (await axis.submit(axis.signed(sender, [G32]), sender)).status == 202
    async with _elsewhere(axis) as other:
        await other.revoke_tokens(G31, axis.services.clock.now())

    async def refused() -> bool:
        response = await axis.submit(axis.signed(sender, [G32]), sender)
        return (response.status, response.code) == (401, "auth.required")

    await eventually(refused, what="the revoked token to be refused")


async def test_a_recipient_disabled_by_another_process_is_refused(axis: RunningAxis) -> None:
    sender = await axis.register(G31)
    await axis.register(G32)
    assert (await axis.submit(axis.signed(sender, [G32]), sender)).status == 202
    async with _elsewhere(axis) as other:
        await other.set_agency_state(G32, "disabled")

    async def refused() -> bool:
        response = await axis.submit(axis.signed(sender, [G32]), sender)
        return (response.status, response.code) == (422, "recipient.disabled")

    await eventually(refused, what="the disabled recipient to be refused")


async def test_a_certificate_removed_by_another_process_is_refused(axis: RunningAxis) -> None:
    sender = await axis.register(G31)
    await axis.register(G32)
    assert (await axis.submit(axis.signed(sender, [G32]), sender)).status == 202
    async with _elsewhere(axis) as other:
        await other.remove_certificate(G31, certificate_fingerprint(sender.issued.cert))

    async def refused() -> bool:
        response = await axis.submit(axis.signed(sender, [G32]), sender)
        return response.status >= 400 and response.code == "certificate.not-agency"

    await eventually(refused, what="the removed certificate to be refused")


async def test_an_agency_registered_by_another_process_is_known_at_once(
    axis: RunningAxis,
) -> None:
    sender = await axis.register(G31)
    await axis.register(G32)
    assert (await axis.submit(axis.signed(sender, [G32]), sender)).status == 202
    g33 = axis.issue(G33)
    async with _elsewhere(axis) as other:
        await other.create_agency(
            NewAgency(G33, "Agency G33"),
            "0" * 64,
            [(certificate_fingerprint(g33.cert), b"PEM")],
            axis.services.clock.now(),
        )
    # no wait: a recipient the snapshot does not know is looked up again first
    assert (await axis.submit(axis.signed(sender, [G33]), sender)).status == 202
