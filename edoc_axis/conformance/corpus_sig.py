"""The signature half of the attack corpus (see ``corpus`` for the manifest's shape)."""

from __future__ import annotations

import base64
import copy

from lxml import etree

from edoc_axis.conformance import dsig
from edoc_axis.conformance.context import RunContext
from edoc_axis.conformance.corpus import (
    NS,
    Attack,
    E,
    _bytes,
    _custom,
    _detach,
    _evil_envelope,
    _mutate,
    _replace,
    _signature,
    _tree,
    attachment,
)
from edoc_axis.pki import cert_to_pem


def _tampered_text(ctx: RunContext) -> bytes:
    raw = ctx.signed(subject="Giữ nguyên nội dung")
    return _replace(raw, "Giữ nguyên".encode(), "Đã sửa đổi".encode())


def _tampered_attribute(ctx: RunContext) -> bytes:
    raw = ctx.signed(attachments=[attachment()])
    return _replace(raw, b'version="1.0">', b'version="2.0">')


def _flip(text: str | None) -> str:
    data = bytearray(base64.b64decode(text or ""))
    data[len(data) // 2] ^= 0x01
    return base64.b64encode(bytes(data)).decode()


def _remove_signature(root: etree._Element) -> None:
    _detach(_signature(root))


def _digest_changed(root: etree._Element) -> None:
    node = root.find(".//ds:DigestValue", NS)
    assert node is not None
    node.text = _flip(node.text)


def _value_changed(root: etree._Element) -> None:
    node = root.find(".//ds:SignatureValue", NS)
    assert node is not None
    node.text = _flip(node.text)


def _empty_value(root: etree._Element) -> None:
    node = root.find(".//ds:SignatureValue", NS)
    assert node is not None
    node.text = ""


def _other_certificate(ctx: RunContext) -> bytes:
    other = ctx.creds("recipient").cert
    pem = cert_to_pem(other).decode().splitlines()
    der_b64 = "".join(line for line in pem if not line.startswith("-----"))
    root = _tree(ctx.signed())
    node = root.find(".//ds:X509Certificate", NS)
    assert node is not None
    node.text = der_b64
    return _bytes(root)


def _copy_signature_to_body(root: etree._Element) -> None:
    body = root.find(f".//{E}edXMLBody")
    assert body is not None
    body.append(copy.deepcopy(_signature(root)))


def _move_signature_to_body(root: etree._Element) -> None:
    body = root.find(f".//{E}edXMLBody")
    assert body is not None
    body.append(_detach(_signature(root)))


def _signature_first(root: etree._Element) -> None:
    header = root.find(f".//{E}edXMLHeader")
    assert header is not None
    header.insert(0, _detach(_signature(root)))


def _second_envelope(root: etree._Element) -> None:
    root.insert(0, _evil_envelope(root))


def _second_header(root: etree._Element) -> None:
    header = _evil_envelope(root).find(f"{E}edXMLHeader")
    envelope = root.find(f"{E}edXMLEnvelope")
    assert header is not None and envelope is not None
    envelope.insert(0, header)


def _original_in_object(root: etree._Element) -> None:
    original = root.find(f"{E}edXMLEnvelope")
    assert original is not None
    signature = _signature(root)
    evil = _evil_envelope(root)
    evil_header = evil.find(f"{E}edXMLHeader")
    assert evil_header is not None
    evil_header.append(_detach(signature))
    root.replace(original, evil)
    etree.SubElement(signature, f"{{{dsig.DSIG}}}Object").append(original)


def _comment_split(root: etree._Element) -> None:
    node = root.find(f".//{E}DocumentId")
    assert node is not None and node.text
    full = node.text
    node.text = full[:5]
    comment = etree.Comment("split")
    comment.tail = full[5:]
    node.append(comment)


def _attacker_signature(ctx: RunContext) -> bytes:
    victim = _tree(ctx.signed(subject="Bản gốc", attachments=[attachment()]))
    victim_signature = copy.deepcopy(_signature(victim))
    evil = _replace(_bytes(victim), "Bản gốc".encode(), "Bản giả".encode())
    evil_root = _tree(evil)
    _detach(_signature(evil_root))
    attacker = _tree(ctx.sign(_bytes(evil_root), "recipient"))
    body = attacker.find(f".//{E}edXMLBody")
    assert body is not None
    body.append(victim_signature)
    return _bytes(attacker)


_ERR = "API.md §Error codes: "
_WRAP = ("signature.wrapping",)
_WRAP_OR_SCHEMA = ("signature.wrapping", "schema.invalid")
_ALG = ("signature.algorithm",)
_PLACEMENT = "EDXML.md §Signatures (exactly one, in that place): signature.wrapping"

SIGNATURE_ATTACKS: tuple[Attack, ...] = (
    Attack("SIG-001", "unsigned document is refused", _ERR + "signature.missing",
           "a valid package without any Signature", ("signature.missing",),
           lambda c: c.document()),
    Attack("SIG-002", "tampered text content is refused", _ERR + "signature.invalid",
           "a signed package whose Subject text was changed after signing",
           ("signature.invalid",), _tampered_text),
    Attack("SIG-003", "tampered attribute is refused", _ERR + "signature.invalid",
           "a signed package whose edXMLManifest/@version was changed after signing",
           ("signature.invalid",), _tampered_attribute),
    Attack("SIG-004", "removed signature is refused", _ERR + "signature.missing",
           "a signed package with its ds:Signature element removed",
           ("signature.missing",), lambda c: _mutate(c, _remove_signature)),
    Attack("SIG-005", "changed DigestValue is refused", _ERR + "signature.invalid",
           "one bit of the Reference's DigestValue flipped", ("signature.invalid",),
           lambda c: _mutate(c, _digest_changed)),
    Attack("SIG-006", "changed SignatureValue is refused", _ERR + "signature.invalid",
           "one bit of SignatureValue flipped", ("signature.invalid",),
           lambda c: _mutate(c, _value_changed)),
    Attack("SIG-007", "certificate swapped in KeyInfo is refused", _ERR + "signature.invalid",
           "the sender's signature with the recipient's certificate in KeyInfo",
           ("signature.invalid", "certificate.not-agency"), _other_certificate),
    Attack("SIG-008", "empty SignatureValue (SDK placeholder) is refused",
           "docs/signatures.md: the SDK placeholder is signature.missing", "SignatureValue ''",
           ("signature.missing", "signature.invalid"), lambda c: _mutate(c, _empty_value),
           required=False),
    Attack("SIG-009", "second signature is refused", _ERR + "signature.wrapping",
           "a copy of the package's own valid Signature appended to edXMLBody", _WRAP,
           lambda c: _mutate(c, _copy_signature_to_body)),
    Attack("SIG-010", "XSW: signature moved into edXMLBody is refused", _PLACEMENT,
           "the valid Signature moved from edXMLHeader to edXMLBody", _WRAP,
           lambda c: _mutate(c, _move_signature_to_body)),
    Attack("SIG-011", "XSW: signature not the last child of edXMLHeader is refused", _PLACEMENT,
           "the valid Signature moved to be the first child of edXMLHeader", _WRAP_OR_SCHEMA,
           lambda c: _mutate(c, _signature_first)),
    Attack("SIG-012", "XSW: evil envelope before the signed one is refused", _PLACEMENT,
           "an unsigned edXMLEnvelope with another DocumentId inserted before the signed one",
           _WRAP_OR_SCHEMA, lambda c: _mutate(c, _second_envelope)),
    Attack("SIG-013", "XSW: duplicate edXMLHeader is refused", _PLACEMENT,
           "an unsigned edXMLHeader inserted before the signed one", _WRAP_OR_SCHEMA,
           lambda c: _mutate(c, _second_header)),
    Attack("SIG-014", "XSW: signed envelope hidden in ds:Object is refused", _PLACEMENT,
           "an evil envelope in place, the signed original inside Signature/Object",
           _WRAP_OR_SCHEMA, lambda c: _mutate(c, _original_in_object)),
    Attack("SIG-015", "XSW: id-based Reference is refused", _PLACEMENT,
           "Reference URI='#mh' instead of URI=''", _WRAP,
           lambda c: _custom(c, reference_uri="#mh")),
    Attack("SIG-016", "XSW: XPath transform is refused", _PLACEMENT,
           "an XPath Transform between enveloped-signature and C14N", _WRAP,
           lambda c: _custom(c, transforms=(dsig.ENVELOPED, dsig.XPATH, dsig.EXC_C14N))),
    Attack("SIG-017", "XSW: comment splitting DocumentId is refused", _PLACEMENT,
           "a comment inserted inside DocumentId text (C14N ignores it, a parser does not)",
           _WRAP, lambda c: _mutate(c, _comment_split)),
    Attack("SIG-018", "XSW: attacker's valid signature beside the victim's is refused",
           _PLACEMENT, "content changed, re-signed by another agency, the original Signature "
           "kept in edXMLBody", _WRAP, _attacker_signature),
    Attack("SIG-019", "SHA-1 SDK-shape signature without the legacy policy is refused",
           _ERR + "signature.algorithm", "edXML-namespace Signature, RSA-SHA1, SHA-1 digest",
           _ALG, lambda c: dsig.legacy_sign(c.document(), c.creds("sender").key,
                                                 c.creds("sender").cert)),
    Attack("SIG-020", "RSA-SHA1 signature method is refused", _ERR + "signature.algorithm",
           "native namespace, SignatureMethod rsa-sha1, SHA-256 digest", _ALG,
           lambda c: _custom(c, method=dsig.RSA_SHA1)),
    Attack("SIG-021", "SHA-1 digest is refused", _ERR + "signature.algorithm",
           "native namespace, rsa-sha256, DigestMethod sha1", _ALG,
           lambda c: _custom(c, digest=dsig.SHA1)),
    Attack("SIG-022", "MD5 is refused", _ERR + "signature.algorithm",
           "SignatureMethod rsa-md5, DigestMethod md5", _ALG,
           lambda c: _custom(c, method=dsig.RSA_MD5, digest=dsig.MD5)),
    Attack("SIG-023", "HMAC signature method is refused", _ERR + "signature.algorithm",
           "SignatureMethod hmac-sha256", _ALG,
           lambda c: _custom(c, method=dsig.HMAC_SHA256)),
    Attack("SIG-024", "edXML-namespace Signature without legacy policy is refused",
           "docs/signatures.md (EDXML.md §Signatures: legacy switch)",
           "the SDK's edXML-namespace Signature with RSA-SHA256", _ALG,
           lambda c: _custom(c, prefix=None), required=False),
    Attack("SIG-025", "cert of another agency is refused", _ERR + "certificate.not-agency",
           "the sender's document and token, signed with the recipient's key and cert",
           ("certificate.not-agency",), lambda c: c.sign(c.document(), "recipient")),
    Attack("SIG-026", "certificate from an untrusted CA is refused",
           _ERR + "certificate.untrusted", "signed with a registered cert from a rogue CA",
           ("certificate.untrusted",), lambda c: c.signed("untrusted"), role="untrusted"),
    Attack("SIG-027", "expired certificate is refused", _ERR + "certificate.expired",
           "signed with a registered cert that expired 20 days ago",
           ("certificate.expired",), lambda c: c.signed("expired"), role="expired"),
    Attack("SIG-028", "not-yet-valid certificate is refused", _ERR + "certificate.expired",
           "signed with a registered cert valid only from tomorrow",
           ("certificate.expired",), lambda c: c.signed("future"), role="future"),
    Attack("SIG-029", "certificate without signing key usage is refused",
           "docs/signatures.md: certificate.untrusted",
           "signed with a registered cert whose KeyUsage lacks digitalSignature",
           ("certificate.untrusted",), lambda c: c.signed("keyusage"), role="keyusage",
           required=False),
)  # fmt: skip
