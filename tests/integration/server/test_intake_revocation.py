"""A certificate revoked in a re-published CRL is refused without restarting the axis."""

from __future__ import annotations

from edoc_axis.pki import crl_to_pem, make_crl
from edoc_axis.trust_files import ReloadingTrust
from tests.integration.server.conftest import RunningAxis

G22, H49 = "000.00.00.G22", "000.00.00.H49"


async def test_revoked_certificate_is_refused_after_the_crl_changes(axis: RunningAxis) -> None:
    config = axis.config
    axis.services.trust_files = ReloadingTrust(
        config.trust_anchors, config.crl_files, check_interval_s=0.0
    )
    sender = await axis.register(G22)
    await axis.register(H49)
    assert (await axis.submit(axis.signed(sender, [H49]), sender)).status == 202

    crl = make_crl(axis.ca, [sender.issued.cert.serial_number])
    config.crl_files[0].write_bytes(crl_to_pem(crl))

    response = await axis.submit(axis.signed(sender, [H49]), sender)
    assert (response.status, response.code) == (422, "certificate.revoked")


async def test_a_broken_crl_file_keeps_the_previous_trust(axis: RunningAxis) -> None:
    config = axis.config
    axis.services.trust_files = ReloadingTrust(
        config.trust_anchors, config.crl_files, check_interval_s=0.0
    )
    sender = await axis.register(G22)
    await axis.register(H49)
    config.crl_files[0].write_bytes(b"-----BEGIN X509 CRL-----\ngarbage\n")
    assert (await axis.submit(axis.signed(sender, [H49]), sender)).status == 202
