"""SIG-04x, signature interop: the forms in which common XML-DSig implementations sign.

"One enveloped signature over the whole package" can be written several ways:
the enveloped-signature transform alone (the standard's implicit C14N 1.0
follows; .NET ``SignedXml`` and minimal xmlsec templates), or followed by C14N
1.0, C14N 1.1 (signxml's default) or exclusive C14N, with or without an
``InclusiveNamespaces`` prefix list (the JDK, xmlsec). An axis must accept each
of them, and keep refusing the forms that do not sign what a reader sees.

The packages here are these *forms*, produced by the suite's own template
signer with the suite's keys (the axis must trust the certificate, so shipped
third-party signatures could not be used); the proof that xmlsec1, the JDK and
signxml really write them lives in the project's tests
(tests/integration/interop/).
"""

from __future__ import annotations

from dataclasses import dataclass

from edoc_axis.conformance import dsig
from edoc_axis.conformance.context import RunContext
from edoc_axis.conformance.corpus import CODE_STATUS
from edoc_axis.conformance.model import Case, CaseFn, Probe

_FORMS_CLAUSE = "EDXML.md §Signatures: one signature covering the whole package"
_C14N_CLAUSE = "EDXML.md §Signatures: C14N 1.0 (or exclusive C14N)"
_ADDITION = "docs/signatures.md §Accepted forms (our addition)"
_REFUSAL = "docs/signatures.md §Refused forms"


@dataclass(frozen=True)
class InteropForm:
    """One signature form: how it is written, and the code it must get (None: accepted)."""

    id: str
    title: str
    clause: str
    sends: str
    c14n: str
    transforms: tuple[str, ...]
    refused_with: str | None = None
    inclusive_prefixes: str | None = None
    role: str = "sender"
    required: bool = True

    def forge(self, ctx: RunContext) -> bytes:
        creds = ctx.creds(self.role)
        return dsig.custom_sign(
            ctx.document(self.role),
            creds.key,
            creds.cert,
            c14n=self.c14n,
            transforms=self.transforms,
            inclusive_prefixes=self.inclusive_prefixes,
        )


_ENV = dsig.ENVELOPED
FORMS: tuple[InteropForm, ...] = (
    InteropForm(
        "SIG-040",
        "enveloped-signature transform alone (implicit C14N 1.0) is accepted",
        _C14N_CLAUSE,
        "Transforms = enveloped-signature only; SignedInfo C14N 1.0 (.NET SignedXml's default)",
        dsig.C14N,
        (_ENV,),
    ),
    InteropForm(
        "SIG-041",
        "enveloped-signature then C14N 1.1 is accepted",
        _ADDITION,
        "Transforms = enveloped-signature, C14N 1.1; SignedInfo C14N 1.1 (signxml's default)",
        dsig.C14N_11,
        (_ENV, dsig.C14N_11),
        required=False,
    ),
    InteropForm(
        "SIG-042",
        "exclusive C14N with an InclusiveNamespaces prefix list is accepted",
        _C14N_CLAUSE,
        "exclusive C14N with InclusiveNamespaces PrefixList='edXML' in the last Transform and"
        " in SignedInfo's CanonicalizationMethod",
        dsig.EXC_C14N,
        (_ENV, dsig.EXC_C14N),
        inclusive_prefixes="edXML",
    ),
    InteropForm(
        "SIG-043",
        "ECDSA signature with the enveloped-signature transform alone is accepted",
        _C14N_CLAUSE,
        "ECDSA-SHA256, Transforms = enveloped-signature only; SignedInfo exclusive C14N",
        dsig.EXC_C14N,
        (_ENV,),
        role="sender-ec",
    ),
    InteropForm(
        "SIG-044",
        "C14N 1.1 transform with exclusive C14N for SignedInfo is accepted",
        _ADDITION,
        "Transforms = enveloped-signature, C14N 1.1; SignedInfo exclusive C14N",
        dsig.EXC_C14N,
        (_ENV, dsig.C14N_11),
        required=False,
    ),
    InteropForm(
        "SIG-045",
        "C14N 1.0 with comments as Reference transform is refused",
        _REFUSAL,
        "Transforms = enveloped-signature, C14N 1.0 #WithComments (otherwise valid)",
        dsig.C14N,
        (_ENV, dsig.C14N + "#WithComments"),
        refused_with="signature.wrapping",
    ),
    InteropForm(
        "SIG-046",
        "C14N 1.1 with comments as Reference transform is refused",
        _REFUSAL,
        "Transforms = enveloped-signature, C14N 1.1 #WithComments (otherwise valid)",
        dsig.C14N_11,
        (_ENV, dsig.C14N_11 + "#WithComments"),
        refused_with="signature.wrapping",
    ),
    InteropForm(
        "SIG-047",
        "exclusive C14N with comments for SignedInfo is refused",
        _REFUSAL,
        "SignedInfo CanonicalizationMethod exclusive C14N #WithComments (otherwise valid)",
        dsig.EXC_C14N + "WithComments",
        (_ENV, dsig.EXC_C14N),
        refused_with="signature.algorithm",
    ),
    InteropForm(
        "SIG-048",
        "the SDK's non-standard exclusive C14N URI without the legacy policy is refused",
        "docs/signatures.md (EDXML.md §Signatures: legacy switch)",
        "Transforms = enveloped-signature, 'http://www.w3.org/TR/xml-exc-c14n#', RSA-SHA256",
        dsig.EXC_C14N,
        (_ENV, dsig.SDK_EXC_C14N),
        refused_with="signature.wrapping",
    ),
)


def _runner(form: InteropForm) -> CaseFn:
    async def run(ctx: RunContext, probe: Probe) -> None:
        response = await ctx.client(form.role).submit(form.forge(ctx))
        if form.refused_with is None:
            probe.expect(response, 202)
        else:
            probe.expect(response, CODE_STATUS[form.refused_with], form.refused_with)

    return run


def _case(form: InteropForm) -> Case:
    expects = (
        "202 with a receipt"
        if form.refused_with is None
        else f"{CODE_STATUS[form.refused_with]} {form.refused_with}"
    )
    return Case(
        id=form.id,
        title=form.title,
        clause=form.clause,
        required=form.required,
        sends=f"a package signed in this form: {form.sends}",
        expects=expects,
        run=_runner(form),
        needs=(form.role,),
    )


CASES: tuple[Case, ...] = tuple(_case(form) for form in FORMS)
