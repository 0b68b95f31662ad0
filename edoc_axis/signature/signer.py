"""Make the axis's native signature: enveloped XML-DSig, SHA-256, one Reference URI="".

The produced ``Signature`` is exactly what ``verifier`` accepts by default and
what signxml verifies (the test suite checks both). It is appended as the last
child of the parent (``edXMLHeader`` for a package) and indented like its
siblings, so the rest of the document keeps its bytes.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes
from lxml import etree

from edoc_axis.errors import SchemaInvalid, SignatureWrapping, XmlForbidden, XmlMalformed
from edoc_axis.signature import algorithms as alg
from edoc_axis.signature.pieces import TextPieces, digest_in_pieces, pieces_of, with_texts_back

XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'
_SIGNATURE_TAGS = (f"{{{alg.DSIG_NS}}}Signature", f"{{{alg.EDXML_NS}}}Signature")


def sign_package(
    raw: bytes | etree._Element, key: CertificateIssuerPrivateKeyTypes, cert: x509.Certificate
) -> bytes:
    """Sign an edXML package; return the serialised signed package.

    ``raw`` is the package bytes (parsed safely) or a tree, which is left
    untouched (a copy is signed). The key is RSA (>= 2048 bits, rsa-sha256) or
    EC P-256/384/521 (ecdsa-sha256). An already signed package is refused with
    SignatureWrapping, because a second signature would be refused as that.
    """
    root = copy.deepcopy(raw) if isinstance(raw, etree._Element) else _parse(raw)
    return b"".join(pieces_of(sign_parsed(root, key, cert)))  # one piece: nothing set aside


def sign_parsed(
    root: etree._Element,
    key: CertificateIssuerPrivateKeyTypes,
    cert: x509.Certificate,
    aside: Mapping[str, memoryview] | None = None,
) -> list[bytes | memoryview | TextPieces]:
    """Sign a parsed edXML package in place; the signed package's bytes, as pieces
    (``pieces_of`` flattens them).

    ``aside`` (``edxml.aside``) maps the markers the tree holds in place of
    large attachment texts to those texts, views of the package's bytes: the
    digest reads them from there, and the pieces put each back where its
    marker stands, so a large document is never copied whole.
    """
    aside = aside or {}
    sign_enveloped(root, key, cert, _package_header(root), aside=aside)
    body = etree.tostring(root.getroottree(), encoding="UTF-8", xml_declaration=False)
    return with_texts_back(XML_DECLARATION + body, aside)


def sign_enveloped(
    root: etree._Element,
    key: CertificateIssuerPrivateKeyTypes,
    cert: x509.Certificate,
    parent: etree._Element | None = None,
    *,
    aside: Mapping[str, memoryview] | None = None,
) -> etree._Element:
    """Append an enveloped ``ds:Signature`` to ``parent`` (default: the root), in place.

    Returns ``root`` for chaining. The Reference covers the whole document.
    Given ``aside`` (empty or not), its large texts and those of ``aside`` are
    hashed in pieces (``signature.pieces``); without, it is canonicalised
    whole, which is cheaper for a small document (a receipt, a status).
    """
    if next(root.getroottree().getroot().iter(*_SIGNATURE_TAGS), None) is not None:
        raise SignatureWrapping("the document is already signed; refusing a second signature")
    prepared = _prepared(key, cert)
    target = root if parent is None else parent
    signature = copy.deepcopy(prepared.template)
    signed_info = signature[0]
    digest = _enveloped_digest(target, signature, aside)
    signed_info[2][2].text = base64.b64encode(digest).decode("ascii")
    value = alg.sign_value(key, alg.canonicalize(signed_info, exclusive=True))
    signature[1].text = base64.b64encode(value).decode("ascii")
    return root


@dataclass(frozen=True)
class _Prepared:
    """What signing with one key and certificate needs, worked out once."""

    key: CertificateIssuerPrivateKeyTypes
    cert: x509.Certificate
    template: etree._Element  # the unindented Signature, empty values; only ever copied


# (id(key), id(cert)) -> prepared; the entry holds both objects, so the ids stay theirs.
_PREPARED: dict[tuple[int, int], _Prepared] = {}
_MAX_PREPARED = 16


def _prepared(key: CertificateIssuerPrivateKeyTypes, cert: x509.Certificate) -> _Prepared:
    """The key's method, its match with the certificate and the template, once per pair."""
    found = _PREPARED.get((id(key), id(cert)))
    if found is not None and found.key is key and found.cert is cert:
        return found
    method = alg.signing_method(key)
    _check_key_matches(key, cert)
    prepared = _Prepared(key, cert, _skeleton(method, cert))
    if len(_PREPARED) >= _MAX_PREPARED:
        _PREPARED.clear()
    _PREPARED[(id(key), id(cert))] = prepared
    return prepared


def _ds(name: str) -> str:
    return f"{{{alg.DSIG_NS}}}{name}"


def _skeleton(method: str, cert: x509.Certificate) -> etree._Element:
    signature = etree.Element(_ds("Signature"), nsmap={"ds": alg.DSIG_NS})
    signed_info = etree.SubElement(signature, _ds("SignedInfo"))
    etree.SubElement(signed_info, _ds("CanonicalizationMethod"), Algorithm=alg.EXC_C14N)
    etree.SubElement(signed_info, _ds("SignatureMethod"), Algorithm=method)
    reference = etree.SubElement(signed_info, _ds("Reference"), URI="")
    transforms = etree.SubElement(reference, _ds("Transforms"))
    etree.SubElement(transforms, _ds("Transform"), Algorithm=alg.ENVELOPED)
    etree.SubElement(transforms, _ds("Transform"), Algorithm=alg.EXC_C14N)
    etree.SubElement(reference, _ds("DigestMethod"), Algorithm=alg.SHA256)
    etree.SubElement(reference, _ds("DigestValue"))
    etree.SubElement(signature, _ds("SignatureValue"))
    key_info = etree.SubElement(signature, _ds("KeyInfo"))
    x509_data = etree.SubElement(key_info, _ds("X509Data"))
    der = cert.public_bytes(serialization.Encoding.DER)
    etree.SubElement(x509_data, _ds("X509Certificate")).text = base64.b64encode(der).decode()
    return signature


def _enveloped_digest(
    parent: etree._Element, signature: etree._Element, aside: Mapping[str, memoryview] | None
) -> bytes:
    """Append ``signature`` to ``parent`` (indented like its siblings); return the digest.

    The digest is the SHA-256 of the exclusive C14N of the document as the
    enveloped-signature transform sees it: without the Signature, the text
    around it joined. It is computed just before the Signature goes in, on
    the document in exactly that state, so no copy of the document is needed.
    """
    inner, closing = _indentation(parent)
    if inner is None or closing is None:
        digest = _document_digest(parent, aside)
    else:
        _indent(signature, inner, inner[len(closing) :] or "  ")
        last = parent[-1]  # _indentation found children
        last.tail = inner + closing  # what the transform leaves: text before + after
        try:
            digest = _document_digest(parent, aside)
        finally:
            last.tail = inner
        signature.tail = closing
    parent.append(signature)
    return digest


def _document_digest(node: etree._Element, aside: Mapping[str, memoryview] | None) -> bytes:
    document = node.getroottree()
    canonical = partial(alg.canonicalize_document, document, exclusive=True)
    if aside is None:
        return hashlib.sha256(canonical()).digest()
    return digest_in_pieces(document.getroot(), "sha256", canonical, aside)[0]


def _indentation(parent: etree._Element) -> tuple[str | None, str | None]:
    """(indent of the children, indent of the closing tag) when the parent is pretty-printed."""
    if not len(parent):
        return None, None
    inner, closing = parent.text, parent[-1].tail
    pretty = bool(inner and closing and "\n" in inner and not inner.strip())
    if pretty and inner and closing and inner.startswith(closing) and len(inner) > len(closing):
        return inner, closing
    return None, None


def _indent(node: etree._Element, indent: str, step: str) -> None:
    if not len(node):
        return
    node.text = indent + step
    for child in node:
        _indent(child, indent + step, step)
        child.tail = indent + step
    node[-1].tail = indent


def _check_key_matches(key: CertificateIssuerPrivateKeyTypes, cert: x509.Certificate) -> None:
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    der = serialization.Encoding.DER
    if key.public_key().public_bytes(der, spki) != cert.public_key().public_bytes(der, spki):
        raise ValueError("the private key does not belong to the certificate")


def _package_header(root: etree._Element) -> etree._Element:
    if root.tag != f"{{{alg.EDXML_NS}}}edXML":
        raise SchemaInvalid(f"not an edXML package (root element is {root.tag})")
    envelopes = root.findall(f"{{{alg.EDXML_NS}}}edXMLEnvelope")
    headers = [] if len(envelopes) != 1 else envelopes[0].findall(f"{{{alg.EDXML_NS}}}edXMLHeader")
    if len(headers) != 1:
        raise SchemaInvalid("an edXML package needs exactly one edXMLEnvelope/edXMLHeader")
    return headers[0]


def _parse(raw: bytes) -> etree._Element:
    """Parse with the project's safe intake when present, else equally strict settings."""
    try:
        safexml: Any = importlib.import_module("edoc_axis.edxml.safexml")
    except ImportError:
        return _strict_parse(raw)
    root: etree._Element = safexml.safe_parse(raw)
    return root


def _strict_parse(raw: bytes) -> etree._Element:
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=True
    )
    try:
        root = etree.fromstring(raw, parser)
    except etree.XMLSyntaxError as exc:
        raise XmlMalformed(f"not well-formed XML: {exc}") from exc
    if root.getroottree().docinfo.internalDTD is not None:
        raise XmlForbidden("a DOCTYPE is not accepted")
    return root
