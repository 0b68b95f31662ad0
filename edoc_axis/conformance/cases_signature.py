"""SIG-*: the signature and certificate set (corpus entries plus cases that need time or keys)."""

from __future__ import annotations

import asyncio
import time

from edoc_axis.conformance import dsig
from edoc_axis.conformance.cases_xml import attack_case
from edoc_axis.conformance.context import RunContext
from edoc_axis.conformance.corpus_sig import SIGNATURE_ATTACKS
from edoc_axis.conformance.model import Case, Probe, collector

_cases: list[Case] = [attack_case(attack) for attack in SIGNATURE_ATTACKS]
case = collector(_cases)
REVOCATION_WAIT_S = 15.0


@case(
    "SIG-030",
    "certificate on the CRL is refused",
    "API.md §Error codes: certificate.revoked",
    sends="a package signed with a registered cert whose serial was added to the axis's CRL",
    expects="422 certificate.revoked (polled for up to 15 s while the axis re-reads its CRL)",
    needs=("revoked",),
)
async def revoked(ctx: RunContext, probe: Probe) -> None:
    client = ctx.client("revoked")
    deadline = time.monotonic() + REVOCATION_WAIT_S
    while True:
        response = await client.submit(ctx.signed("revoked"))
        if response.status != 202 or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.5)  # the axis may take a moment to re-read a changed CRL
    probe.expect(response, 422, "certificate.revoked")


@case(
    "SIG-031",
    "ECDSA-SHA256 signature is accepted",
    "EDXML.md §Signatures: native profile RSA-SHA256 or ECDSA-SHA256",
    sends="a package signed with a registered ECDSA P-256 certificate (ecdsa-sha256)",
    expects="202 with a receipt",
    needs=("sender-ec",),
)
async def ecdsa_accepted(ctx: RunContext, probe: Probe) -> None:
    response = await ctx.client("sender-ec").submit(ctx.signed("sender-ec"))
    probe.expect(response, 202)


@case(
    "SIG-032",
    "inclusive C14N 1.0 signature is accepted",
    "EDXML.md §Signatures: C14N 1.0 (or exclusive C14N)",
    sends="a package signed with CanonicalizationMethod and Transform C14N 1.0, RSA-SHA256",
    expects="202 with a receipt",
)
async def inclusive_c14n(ctx: RunContext, probe: Probe) -> None:
    creds = ctx.creds("sender")
    raw = dsig.custom_sign(
        ctx.document(),
        creds.key,
        creds.cert,
        c14n=dsig.C14N,
        transforms=(dsig.ENVELOPED, dsig.C14N),
    )
    probe.expect(await ctx.client("sender").submit(raw), 202)


@case(
    "SIG-033",
    "signature by an independent XML-DSig implementation is accepted",
    "EDXML.md §Signatures: enveloped XML-DSig, one Reference URI=''",
    sends="a package signed by a template signer (not the axis's own), exclusive C14N",
    expects="202 with a receipt",
)
async def independent_signer(ctx: RunContext, probe: Probe) -> None:
    creds = ctx.creds("sender")
    raw = dsig.custom_sign(ctx.document(), creds.key, creds.cert)
    probe.expect(await ctx.client("sender").submit(raw), 202)


CASES: tuple[Case, ...] = tuple(_cases)
