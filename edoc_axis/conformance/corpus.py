"""The attack corpus: packages that must be refused, each with its expected status and code.

One manifest (``ATTACKS``) serves both the conformance cases (``cases_xml``,
``cases_signature``) and the project's tests, which also check every entry
offline against the pure intake (``edoc_axis.core.intake.examine``).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass

from lxml import etree

from edoc_axis.conformance import dsig
from edoc_axis.conformance.context import RunContext
from edoc_axis.edxml import Attachment

E = f"{{{dsig.EDXML}}}"
NS = {"e": dsig.EDXML, "ds": dsig.DSIG}
Forge = Callable[[RunContext], bytes]


@dataclass(frozen=True)
class Attack:
    """One corpus entry: how to forge it and what the axis must answer."""

    id: str
    title: str
    clause: str
    sends: str
    codes: tuple[str, ...]  # the spec's code first; others an implementation may give
    forge: Forge
    required: bool = True
    role: str = "sender"  # the agency (role) whose token submits it
    path: str = "/api/v1/documents"

    @property
    def answers(self) -> tuple[tuple[int, str], ...]:
        """Each acceptable (HTTP status, problem code) pair."""
        return tuple((CODE_STATUS[code], code) for code in self.codes)


# API.md §Error codes: the HTTP status that goes with each code.
CODE_STATUS: dict[str, int] = {
    "xml.malformed": 400,
    "xml.forbidden": 400,
    "schema.invalid": 400,
    "auth.required": 401,
    "auth.sender-mismatch": 403,
    "not-found": 404,
    "document.conflict": 409,
    "payload.too-large": 413,
    "media.unsupported": 415,
    "signature.missing": 422,
    "signature.invalid": 422,
    "signature.algorithm": 422,
    "signature.wrapping": 422,
    "certificate.untrusted": 422,
    "certificate.expired": 422,
    "certificate.revoked": 422,
    "certificate.not-agency": 422,
    "recipient.unknown": 422,
    "recipient.disabled": 422,
    "rate.limited": 429,
    "unavailable": 503,
}


# -- building blocks ---------------------------------------------------------
def _tree(raw: bytes) -> etree._Element:
    return etree.fromstring(raw, etree.XMLParser(resolve_entities=False, no_network=True))


def _bytes(root: etree._Element) -> bytes:
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + etree.tostring(root, encoding="UTF-8")


def _with_prolog(ctx: RunContext, prolog: bytes, body_ref: bytes = b"") -> bytes:
    raw = ctx.signed()
    head, _, rest = raw.partition(b"?>")
    if body_ref:
        rest = rest.replace(b"</edXML:Subject>", body_ref + b"</edXML:Subject>", 1)
    return head + b"?>\n" + prolog + rest


def _signature(root: etree._Element) -> etree._Element:
    found = root.find(".//ds:Signature", NS)
    if found is None:
        raise ValueError("no ds:Signature in the package")
    return found


def _detach(node: etree._Element) -> etree._Element:
    parent = node.getparent()
    if parent is not None:
        parent.remove(node)
    return node


def attachment() -> Attachment:
    """A small attachment, so that the package has an edXMLBody and AttachmentEncoded."""
    return Attachment.from_bytes("cid:1", "cong-van.txt", b"noi dung")


def _mutate(ctx: RunContext, change: Callable[[etree._Element], None]) -> bytes:
    root = _tree(ctx.signed(attachments=[attachment()]))
    change(root)
    return _bytes(root)


def _evil_envelope(root: etree._Element) -> etree._Element:
    evil = copy.deepcopy(root.find(f"{E}edXMLEnvelope"))
    assert evil is not None
    for signature in list(evil.iter(f"{{{dsig.DSIG}}}Signature")):
        _detach(signature)
    node = evil.find(f".//{E}DocumentId")
    assert node is not None
    node.text = RunContext.fresh_id("EVIL")
    return evil


def _custom(
    ctx: RunContext,
    *,
    prefix: str | None = "ds",
    method: str | None = None,
    digest: str = dsig.SHA256,
    transforms: tuple[str, ...] = (dsig.ENVELOPED, dsig.EXC_C14N),
    reference_uri: str = "",
) -> bytes:
    creds = ctx.creds("sender")
    return dsig.custom_sign(
        ctx.document(),
        creds.key,
        creds.cert,
        prefix=prefix,
        method=method,
        digest=digest,
        transforms=transforms,
        reference_uri=reference_uri,
    )


def _replace(raw: bytes, old: bytes, new: bytes) -> bytes:
    if old not in raw:
        raise ValueError(f"{old!r} not in the package")
    return raw.replace(old, new, 1)


# -- XML attacks -------------------------------------------------------------
def _xinclude(ctx: RunContext) -> bytes:
    include = (
        b'<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="file:///etc/passwd" '
        b'parse="text"/></edXML:MessageHeader>'
    )
    return ctx.sign(_replace(ctx.document(), b"</edXML:MessageHeader>", include))


def _pi_in_body(ctx: RunContext) -> bytes:
    return _replace(ctx.signed(), b"</edXML:Subject>", b"<?php echo 1; ?></edXML:Subject>")


def _bad_utf8(ctx: RunContext) -> bytes:
    return _replace(ctx.signed(), b"</edXML:Subject>", b"\xe0\xff</edXML:Subject>")


def _utf16(ctx: RunContext) -> bytes:
    raw = _replace(ctx.signed(), b'encoding="UTF-8"', b'encoding="UTF-16"')
    return raw.decode("utf-8").encode("utf-16")


def _deep(ctx: RunContext) -> bytes:
    deep = b"<x:d xmlns:x='urn:deep'>" * 1000 + b"</x:d>" * 1000
    return _replace(ctx.signed(), b"</edXML:MessageHeader>", deep + b"</edXML:MessageHeader>")


def _no_document_id(ctx: RunContext) -> bytes:
    root = _tree(ctx.document())
    node = root.find(f".//{E}DocumentId")
    assert node is not None
    _detach(node)
    return ctx.sign(_bytes(root))


def _status_as_document(ctx: RunContext) -> bytes:
    return ctx.status("sender", ctx.fresh_id(), "recipient", "03")


def _manifest_without_attachment(ctx: RunContext) -> bytes:
    raw = ctx.document(attachments=[attachment()])
    root = _tree(raw)
    block = root.find(f"{E}AttachmentEncoded")
    assert block is not None
    _detach(block)
    return ctx.sign(_bytes(root))


def _bad_base64(ctx: RunContext) -> bytes:
    raw = ctx.document(attachments=[attachment()])
    return ctx.sign(_replace(raw, b"bm9pIGR1bmc=", b"!!not*base64!!"))


LAUGHS = (
    b'<!DOCTYPE edXML [<!ENTITY l0 "lol">'
    + b"".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">'.encode() for i in range(1, 10))
    + b"]>"
)
XXE = b'<!DOCTYPE edXML [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
EXTERNAL_DTD = b'<!DOCTYPE edXML SYSTEM "http://127.0.0.1:9/evil.dtd">'
PARAMETER_ENTITY = b'<!DOCTYPE edXML [<!ENTITY % p SYSTEM "http://127.0.0.1:9/p.dtd"> %p;]>'
UNUSED_ENTITY = b'<!DOCTYPE edXML [<!ENTITY harmless "x">]>'
STYLESHEET = b'<?xml-stylesheet type="text/xsl" href="http://127.0.0.1:9/x.xsl"?>'
_MALFORMED, _FORBIDDEN, _SCHEMA = ("xml.malformed",), ("xml.forbidden",), ("schema.invalid",)
_ERR = "API.md §Error codes: "
_PROFILE = "EDXML.md §Document package (checks beyond the schema)"

XML_ATTACKS: tuple[Attack, ...] = (
    Attack("XML-001", "truncated package is refused", _ERR + "xml.malformed",
           "a signed package cut short", _MALFORMED, lambda c: c.signed()[:-40]),
    Attack("XML-002", "stray bytes before the XML declaration are refused",
           _ERR + "xml.malformed", "'1212' + a signed package (the SDK sample's flaw)",
           _MALFORMED, lambda c: b"1212" + c.signed()),
    Attack("XML-003", "invalid UTF-8 in a package declared UTF-8 is refused",
           _ERR + "xml.malformed (wrong encoding)", "bytes 0xE0 0xFF inside Subject",
           _MALFORMED, _bad_utf8),
    Attack("XML-004", "XXE: external entity to a local file is refused", _ERR + "xml.forbidden",
           "DOCTYPE with ENTITY SYSTEM file:///etc/passwd, used in Subject", _FORBIDDEN,
           lambda c: _with_prolog(c, XXE, b"&xxe;")),
    Attack("XML-005", "billion laughs (nested entity expansion) is refused",
           _ERR + "xml.forbidden", "ten levels of nested entities, &l9; in Subject",
           _FORBIDDEN, lambda c: _with_prolog(c, LAUGHS, b"&l9;")),
    Attack("XML-006", "external DTD is refused", _ERR + "xml.forbidden",
           "DOCTYPE edXML SYSTEM http://127.0.0.1:9/evil.dtd", _FORBIDDEN,
           lambda c: _with_prolog(c, EXTERNAL_DTD)),
    Attack("XML-007", "external parameter entity is refused", _ERR + "xml.forbidden",
           "DOCTYPE with %p; loading http://127.0.0.1:9/p.dtd", _FORBIDDEN,
           lambda c: _with_prolog(c, PARAMETER_ENTITY)),
    Attack("XML-008", "an entity declaration, even unused, is refused", _ERR + "xml.forbidden",
           "DOCTYPE with one internal ENTITY that nothing uses", _FORBIDDEN,
           lambda c: _with_prolog(c, UNUSED_ENTITY)),
    Attack("XML-009", "XInclude is refused", _ERR + "xml.forbidden",
           "xi:include of file:///etc/passwd inside MessageHeader, then signed", _FORBIDDEN,
           _xinclude),
    Attack("XML-010", "processing instruction in the prolog is refused", _ERR + "xml.forbidden",
           "<?xml-stylesheet href=http://127.0.0.1:9/x.xsl?> before the root", _FORBIDDEN,
           lambda c: _with_prolog(c, STYLESHEET)),
    Attack("XML-011", "processing instruction inside an element is refused",
           _ERR + "xml.forbidden", "<?php echo 1; ?> inside Subject", _FORBIDDEN,
           _pi_in_body, required=False),
    Attack("XML-012", "pathologically deep nesting is refused", _ERR + "xml.forbidden",
           "1,000 nested foreign elements inside MessageHeader",
           ("xml.forbidden", "xml.malformed"), _deep, required=False),
    Attack("XML-013", "UTF-16 package is refused (UTF-8 only)", _ERR + "xml.malformed",
           "the signed package re-encoded as UTF-16 with BOM", _MALFORMED, _utf16,
           required=False),
    Attack("XML-014", "misspelt element is a schema error", _ERR + "schema.invalid",
           "Subject renamed Subjekt in a signed package", _SCHEMA,
           lambda c: c.signed().replace(b"edXML:Subject>", b"edXML:Subjekt>")),
    Attack("XML-015", "missing DocumentId is a schema error", _ERR + "schema.invalid",
           "a signed package without MessageHeader/DocumentId", _SCHEMA, _no_document_id),
    Attack("XML-016", "a foreign root element is a schema error", _ERR + "schema.invalid",
           "<Invoice xmlns='urn:example:invoice'/>", _SCHEMA,
           lambda c: b'<?xml version="1.0" encoding="UTF-8"?>\n<Invoice xmlns="urn:x"/>'),
    Attack("XML-017", "a status package posted as a document is a schema error",
           _ERR + "schema.invalid", "a signed status 03 to POST /api/v1/documents",
           _SCHEMA, _status_as_document),
    Attack("XML-018", "manifest reference without its attachment is refused", _PROFILE,
           "a manifest Reference cid:1 and no AttachmentEncoded, signed", _SCHEMA,
           _manifest_without_attachment),
    Attack("XML-019", "attachment that is not base64 is refused", _PROFILE,
           "ContentTransferEncoded '!!not*base64!!', signed", _SCHEMA, _bad_base64),
)  # fmt: skip
