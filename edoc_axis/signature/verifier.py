"""A strict verifier for the one enveloped XML-DSig profile edXML packages use.

Why not signxml at runtime: signxml is a general verifier. It re-parses and
re-serialises the document several times per call (about 74 % of the intake
time in the prototype, see LIMITS.md), while this module parses nothing and
canonicalises the caller's tree once: about four times faster. signxml also
cannot read the reference SDK's ``Signature`` written in the edXML namespace,
which the legacy policy must accept. Being narrow is the security argument
too: anything outside the profile is refused before any cryptography runs, so
the signature-wrapping family has nothing to work with. signxml stays in the
test suite as the independent cross-check in both directions.

The profile: exactly one ``Signature`` in the document, the last child of the
expected parent, ``SignedInfo`` / ``SignatureValue`` / ``KeyInfo`` and nothing
else, one ``Reference URI=""`` whose transforms are enveloped-signature alone
(the standard's implicit C14N 1.0 follows) or followed by one canonicalization
without comments (C14N 1.0, C14N 1.1, exclusive C14N with or without an
``InclusiveNamespaces`` prefix list), the signer certificate first in
``X509Data``, further certificates only as CA certificates of its chain. These
are the forms the common implementations (xmlsec, the JDK, .NET, signxml) write
for "one enveloped signature over the whole package"; docs/signatures.md lists
them and why everything else is refused.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from lxml import etree

from edoc_axis.errors import (
    SignatureAlgorithm,
    SignatureInvalid,
    SignatureMissing,
    SignatureWrapping,
)
from edoc_axis.signature import algorithms as alg
from edoc_axis.signature.pieces import LARGE_TEXT, digest_in_pieces
from edoc_axis.signature.policy import VerificationPolicy, VerifiedSignature

_DEFAULT_POLICY = VerificationPolicy()
_SIGNATURE_TAGS = (f"{{{alg.DSIG_NS}}}Signature", f"{{{alg.EDXML_NS}}}Signature")
_SCANNED = (*_SIGNATURE_TAGS, etree.Comment, etree.ProcessingInstruction, etree.Entity)
# Informational KeyInfo content; the key always comes from the certificate.
_IGNORED_KEY_INFO = frozenset({"KeyName", "KeyValue"})
_IGNORED_X509_DATA = frozenset({"X509SubjectName", "X509IssuerSerial", "X509SKI"})


def verify_package(
    root: etree._Element,
    policy: VerificationPolicy = _DEFAULT_POLICY,
    *,
    document_size: int | None = None,
    aside: Mapping[str, memoryview] | None = None,
) -> VerifiedSignature:
    """Verify the signature of an edXML package tree without changing the tree.

    Raises SignatureMissing (no signature, or a placeholder), SignatureWrapping
    (more than one signature, or anything outside the profile that could make
    the signature cover something other than what is processed),
    SignatureAlgorithm (weak, unknown or legacy-without-policy algorithms,
    short keys) or SignatureInvalid (digest or signature value mismatch).
    The certificate is returned unchecked: pass it to ``TrustStore.check``.
    ``document_size``: see ``PreparedSignature.verify``.
    """
    return prepare_package(root, policy).verify(document_size=document_size, aside=aside)


def prepare_package(
    root: etree._Element, policy: VerificationPolicy = _DEFAULT_POLICY
) -> PreparedSignature:
    """The first half of ``verify_package``: everything but the digest and the value.

    Finds the one Signature, checks its structure and algorithms against the
    profile and reads the signer certificate, at a cost that does not depend
    on the shape of the rest of the document. Check the certificate, then
    call ``verify()``: a body signed by nobody trusted costs no C14N.
    """
    return _prepare(_single_signature(root), _package_header(root), policy)


def verify_enveloped(
    root: etree._Element,
    policy: VerificationPolicy = _DEFAULT_POLICY,
    *,
    expected_parent: etree._Element,
) -> VerifiedSignature:
    """Like ``verify_package`` for a document whose signature sits in ``expected_parent``.

    Used for the axis's own receipts. The caller chooses the parent element,
    so it must locate it unambiguously (for instance the document root).
    """
    return _prepare(_single_signature(root), expected_parent, policy).verify()


@dataclass(frozen=True)
class _Canonicalization:
    """How to canonicalise: C14N 1.0/1.1 (same output here) or exclusive C14N."""

    exclusive: bool
    inclusive_prefixes: tuple[str, ...] = ()  # exclusive C14N's InclusiveNamespaces
    legacy: bool = False  # written with the reference SDK's non-standard URI
    c14n_11: bool = False  # C14N 1.1: matters for xml: attributes above SignedInfo


# Implicit after a last transform that yields a node-set (XML-DSig 4.4.3.2).
_IMPLICIT_C14N = _Canonicalization(exclusive=False)
_INCLUSIVE_NAMESPACES = f"{{{alg.EXC_C14N}}}InclusiveNamespaces"
_PREFIX = re.compile(r"[A-Za-z_][\w.\-]*")


@dataclass(frozen=True)
class _Parsed:
    signed_info: etree._Element
    signed_info_c14n: _Canonicalization
    method: alg.SignatureMethod
    digest: alg.DigestAlgorithm
    digest_value: bytes
    reference_c14n: _Canonicalization
    signature_value: bytes
    key_info: etree._Element | None
    legacy: bool


def _single_signature(root: etree._Element) -> etree._Element:
    """The one Signature of the document, after refusing unsigned splitting nodes.

    C14N without comments drops comments, so anyone can add one without
    breaking the signature; inside a text value (``<DocumentId>A<!---->B``)
    it makes ``.text`` read "A" while "AB" was signed. Such comments, and
    processing instructions or unexpanded entities in the same place, are
    refused; comments between elements stay harmless and allowed.
    """
    found: list[etree._Element] = []
    # Whether each parent holds text, computed once per parent: asking it per
    # comment re-reads every sibling and costs comments x siblings.
    holds_text: dict[etree._Element, bool] = {}
    for node in root.getroottree().getroot().iter(*_SCANNED):
        if isinstance(node.tag, str):
            found.append(node)
        elif node.tag is etree.Entity:
            raise SignatureWrapping("an unexpanded entity reference is not accepted")
        elif (parent := node.getparent()) is not None:
            split = holds_text.get(parent)
            if split is None:
                split = holds_text[parent] = _holds_text(parent)
            if split:
                raise SignatureWrapping(
                    f"a comment or processing instruction splits the text of {parent.tag}"
                )
    if not found:
        raise SignatureMissing("the package carries no Signature")
    if len(found) > 1:
        raise SignatureWrapping(f"the document carries {len(found)} Signature elements, not one")
    return found[0]


def _holds_text(parent: etree._Element) -> bool:
    """True when the element has non-whitespace text of its own (text or a child's tail)."""
    if parent.text and parent.text.strip():
        return True
    return any(child.tail and child.tail.strip() for child in parent)


def _package_header(root: etree._Element) -> etree._Element:
    if root.tag != f"{{{alg.EDXML_NS}}}edXML" or root.getparent() is not None:
        raise SignatureWrapping("the signed document is not an edXML package root")
    envelope = _only_child(root, "edXMLEnvelope")
    return _only_child(envelope, "edXMLHeader")


def _only_child(parent: etree._Element, name: str) -> etree._Element:
    found = parent.findall(f"{{{alg.EDXML_NS}}}{name}")
    if len(found) != 1:
        raise SignatureWrapping(f"expected exactly one {name}, found {len(found)}")
    return found[0]


@dataclass(frozen=True)
class PreparedSignature:
    """A Signature within the profile and its certificates, not yet verified."""

    certificate: x509.Certificate
    chain: tuple[x509.Certificate, ...]
    signature: etree._Element
    parsed: _Parsed
    legacy_namespace: bool

    def verify(
        self,
        *,
        document_size: int | None = None,
        aside: Mapping[str, memoryview] | None = None,
    ) -> VerifiedSignature:
        """Digest over the canonical document, then the value over SignedInfo.

        Text nodes of ``pieces.LARGE_TEXT`` characters or more (a large
        attachment's base64) are hashed in pieces instead of being
        canonicalised whole, so the canonical document is never held at once;
        the digest is the same. ``document_size``, the byte length of the
        document the tree was parsed from, lets a document too small to hold
        such a node skip looking for one. ``aside`` maps the markers the tree
        holds in place of texts left in the document's bytes to those texts
        (``edxml.aside``), hashed in pieces too.
        """
        parsed = self.parsed
        reference_c14n, signed_info_c14n = parsed.reference_c14n, parsed.signed_info_c14n

        def canonical() -> bytes:
            return alg.canonicalize_enveloped(
                self.signature,
                exclusive=reference_c14n.exclusive,
                inclusive_prefixes=reference_c14n.inclusive_prefixes,
            )

        signed_bytes: bytes | None
        if not aside and document_size is not None and document_size < LARGE_TEXT:
            signed_bytes = plain = canonical()
            actual = hashlib.new(parsed.digest.name, plain).digest()
        else:
            root = self.signature.getroottree().getroot()
            actual, signed_bytes = digest_in_pieces(root, parsed.digest.name, canonical, aside)
        if not hmac.compare_digest(actual, parsed.digest_value):
            raise SignatureInvalid("digest mismatch: the signed content was changed")
        signed_info = alg.canonicalize(
            parsed.signed_info,
            exclusive=signed_info_c14n.exclusive,
            inclusive_prefixes=signed_info_c14n.inclusive_prefixes,
            c14n_11=signed_info_c14n.c14n_11,
        )
        alg.verify_signature_value(
            self.certificate, parsed.method, parsed.signature_value, signed_info
        )
        return VerifiedSignature(
            certificate=self.certificate,
            chain=self.chain,
            signature_algorithm=parsed.method.uri,
            digest_algorithm=parsed.digest.uri,
            legacy=self.legacy_namespace or parsed.legacy,
            signed_bytes=signed_bytes,
        )


def _prepare(
    signature: etree._Element, parent: etree._Element, policy: VerificationPolicy
) -> PreparedSignature:
    if signature.getparent() is not parent:
        raise SignatureWrapping(f"the Signature is not a child of {parent.tag}")
    if signature.getnext() is not None:
        raise SignatureWrapping(f"the Signature is not the last child of {parent.tag}")
    legacy_namespace = etree.QName(signature).namespace == alg.EDXML_NS
    if legacy_namespace and not policy.allow_legacy:
        raise SignatureAlgorithm(
            "legacy edXML-namespace signature needs the legacy policy (allow_legacy)"
        )
    parsed = _parse(signature, policy)
    certificate, chain = _signer_certificates(parsed.key_info, _namespace(signature))
    alg.check_key(certificate, parsed.method)
    return PreparedSignature(certificate, chain, signature, parsed, legacy_namespace)


# --- the profile's shape ---------------------------------------------------------


def _namespace(node: etree._Element) -> str:
    return etree.QName(node).namespace or ""


def _children(node: etree._Element, ns: str) -> list[tuple[str, etree._Element]]:
    """(local name, element) of the children, all required to be in ``ns``."""
    result = []
    opening = f"{{{ns}}}"
    for child in node:
        tag = child.tag  # the string, not etree.QName: this runs for every document
        if not isinstance(tag, str) or not tag.startswith(opening):
            raise SignatureWrapping(
                f"unexpected element {tag} inside {etree.QName(node).localname}"
            )
        result.append((tag[len(opening) :], child))
    return result


def _expect(node: etree._Element, ns: str, names: tuple[str, ...]) -> list[etree._Element]:
    children = _children(node, ns)
    found = tuple(name for name, _ in children)
    if found != names:
        local = etree.QName(node).localname
        raise SignatureWrapping(f"{local} holds {', '.join(found) or 'nothing'}; expected {names}")
    return [child for _, child in children]


def _parse(signature: etree._Element, policy: VerificationPolicy) -> _Parsed:
    for node in signature.iter():
        if not isinstance(node.tag, str):  # comments, PIs, unexpanded entities
            raise SignatureWrapping("comments or processing instructions inside the Signature")
    ns = _namespace(signature)
    children = _children(signature, ns)
    names = tuple(name for name, _ in children)
    if names not in (("SignedInfo", "SignatureValue", "KeyInfo"), ("SignedInfo", "SignatureValue")):
        raise SignatureWrapping(f"Signature holds {', '.join(names)}; Object and others refused")
    signed_info, signature_value = children[0][1], children[1][1]
    c14n_node, method_node, reference = _signed_info(signed_info, ns)
    signed_info_c14n = _c14n_method(c14n_node, policy)
    method = _signature_method(method_node, policy)
    transforms, digest_node, digest_value = _expect(
        reference, ns, ("Transforms", "DigestMethod", "DigestValue")
    )
    reference_c14n = _transforms(transforms, ns, policy)
    digest = _digest_method(digest_node, policy)
    value = _decode_base64(signature_value.text, "SignatureValue")
    if not value:
        raise SignatureMissing("the Signature is a placeholder: empty SignatureValue")
    return _Parsed(
        signed_info=signed_info,
        signed_info_c14n=signed_info_c14n,
        method=method,
        digest=digest,
        digest_value=_decode_base64(digest_value.text, "DigestValue"),
        reference_c14n=reference_c14n,
        signature_value=value,
        key_info=children[2][1] if len(children) == 3 else None,
        legacy=method.legacy or digest.legacy or signed_info_c14n.legacy or reference_c14n.legacy,
    )


def _signed_info(
    signed_info: etree._Element, ns: str
) -> tuple[etree._Element, etree._Element, etree._Element]:
    children = _children(signed_info, ns)
    names = [name for name, _ in children]
    if names.count("Reference") > 1:
        raise SignatureWrapping(f"SignedInfo holds {names.count('Reference')} References, not one")
    if names != ["CanonicalizationMethod", "SignatureMethod", "Reference"]:
        raise SignatureWrapping(f"SignedInfo holds {', '.join(names)}")
    reference = children[2][1]
    if reference.get("URI") != "":
        raise SignatureWrapping(
            f'Reference URI {reference.get("URI")!r}: only URI="" (the whole package) is accepted'
        )
    return children[0][1], children[1][1], reference


def _algorithm(node: etree._Element) -> str:
    if len(node):
        raise SignatureAlgorithm(f"{etree.QName(node).localname} parameters are not accepted")
    return node.get("Algorithm") or ""


def _c14n_method(node: etree._Element, policy: VerificationPolicy) -> _Canonicalization:
    found = _canonicalization(node, policy, SignatureAlgorithm)
    if found is None:
        uri = node.get("Algorithm") or ""
        raise SignatureAlgorithm(f"canonicalization {uri!r} is not accepted")
    return found


def _canonicalization(
    node: etree._Element,
    policy: VerificationPolicy,
    error: type[SignatureAlgorithm] | type[SignatureWrapping],
) -> _Canonicalization | None:
    """The canonicalization ``node`` names, or None when its URI is not one we accept.

    Only exclusive C14N takes a parameter, its InclusiveNamespaces prefix list:
    it adds namespace declarations to the signed bytes and removes nothing.
    """
    uri = node.get("Algorithm") or ""
    if uri == alg.LEGACY_EXC_C14N and policy.allow_legacy:
        exclusive, legacy = True, True
    elif uri in alg.CANONICALIZATIONS:
        exclusive, legacy = alg.CANONICALIZATIONS[uri], False
    else:
        return None
    local = etree.QName(node).localname
    if (node.text or "").strip() or len(node) > 1 or (len(node) and not exclusive):
        raise error(f"{local} {uri}: parameters are not accepted")
    if not len(node):
        return _Canonicalization(exclusive, (), legacy, c14n_11=uri == alg.C14N_11)
    parameter = node[0]
    if (
        parameter.tag != _INCLUSIVE_NAMESPACES
        or len(parameter)
        or (parameter.text or "").strip()
        or set(parameter.attrib) != {"PrefixList"}
    ):
        raise error(f"{local} {uri}: only an InclusiveNamespaces PrefixList parameter is accepted")
    prefixes = tuple(parameter.get("PrefixList", "").split())
    if "#default" in prefixes:
        # lxml passes libxml2 only prefixes the document's names contain, so it
        # would silently drop the token and every such signature would fail.
        raise SignatureAlgorithm(
            "InclusiveNamespaces PrefixList '#default' is not supported; list named prefixes"
        )
    if not all(_PREFIX.fullmatch(prefix) for prefix in prefixes):
        raise error(
            f"InclusiveNamespaces PrefixList {parameter.get('PrefixList')!r} is not a prefix list"
        )
    return _Canonicalization(exclusive, prefixes, legacy)


def _signature_method(node: etree._Element, policy: VerificationPolicy) -> alg.SignatureMethod:
    uri = _algorithm(node)
    method = alg.SIGNATURE_METHODS.get(uri)
    if method is None:
        raise SignatureAlgorithm(f"signature method {uri!r} is not accepted")
    if method.legacy and not policy.allow_legacy:
        raise SignatureAlgorithm(f"signature method {uri} is SHA-1; needs the legacy policy")
    return method


def _digest_method(node: etree._Element, policy: VerificationPolicy) -> alg.DigestAlgorithm:
    uri = _algorithm(node)
    digest = alg.DIGESTS.get(uri)
    if digest is None:
        raise SignatureAlgorithm(f"digest method {uri!r} is not accepted")
    if digest.legacy and not policy.allow_legacy:
        raise SignatureAlgorithm(f"digest method {uri} is SHA-1; needs the legacy policy")
    return digest


def _transforms(
    transforms: etree._Element, ns: str, policy: VerificationPolicy
) -> _Canonicalization:
    """The canonicalization of the Reference, for enveloped-signature [then one C14N].

    Every accepted chain yields the whole package minus this Signature; any
    other transform (XPath, XSLT, filter 2.0, base64, a second enveloped, the
    with-comments variants) could make the signed bytes differ from what is
    processed, so it is refused.
    """
    nodes = [node for name, node in _children(transforms, ns) if name == "Transform"]
    uris = [node.get("Algorithm") for node in nodes]
    if len(nodes) != len(transforms):
        raise SignatureWrapping("Transforms may hold only Transform elements")
    if 1 <= len(nodes) <= 2 and uris[0] == alg.ENVELOPED:
        if len(nodes[0]) or (nodes[0].text or "").strip():
            raise SignatureWrapping("the enveloped-signature Transform takes no parameters")
        if len(nodes) == 1:
            return _IMPLICIT_C14N
        found = _canonicalization(nodes[1], policy, SignatureWrapping)
        if found is not None:
            return found
    raise SignatureWrapping(
        f"transforms {uris}: only enveloped-signature, alone or then C14N 1.0, C14N 1.1 or"
        " exclusive C14N, without comments"
    )


def _signer_certificates(
    key_info: etree._Element | None, ns: str
) -> tuple[x509.Certificate, tuple[x509.Certificate, ...]]:
    if key_info is None:
        raise SignatureInvalid("no KeyInfo: the signer certificate is missing")
    data = [node for name, node in _children(key_info, ns) if name not in _IGNORED_KEY_INFO]
    if len(data) != 1 or etree.QName(data[0]).localname != "X509Data":
        raise SignatureWrapping(
            "KeyInfo must hold one X509Data (RetrievalMethod and others refused)"
        )
    children = [(name, node) for name, node in _children(data[0], ns)]
    texts = [node.text for name, node in children if name == "X509Certificate"]
    if any(name not in _IGNORED_X509_DATA | {"X509Certificate"} for name, _ in children):
        raise SignatureWrapping("X509Data holds elements outside the profile")
    if not texts:
        raise SignatureInvalid("X509Data carries no X509Certificate")
    if not (texts[0] or "").strip():
        raise SignatureMissing("the Signature is a placeholder: empty X509Certificate")
    certificates = [_load_certificate(text) for text in texts]
    for extra in certificates[1:]:
        if not _is_ca(extra):
            raise SignatureWrapping("KeyInfo carries more than one end-entity certificate")
    return certificates[0], tuple(certificates[1:])


def _load_certificate(text: str | None) -> x509.Certificate:
    return _certificate_from_base64("".join((text or "").split()))


# An agency signs thousands of documents with one certificate: parsing it once
# instead of per document saves ~0.2 ms each (issue 15). Refusals raise, and
# lru_cache keeps no exception, so a bad certificate is examined every time.
@functools.lru_cache(maxsize=1024)
def _certificate_from_base64(text: str) -> x509.Certificate:
    der = _decode_base64(text, "X509Certificate")
    try:
        certificate = x509.load_der_x509_certificate(der)
    except (ValueError, x509.InvalidVersion) as exc:  # InvalidVersion is no ValueError
        raise SignatureInvalid("X509Certificate is not a DER certificate") from exc
    # cryptography parses most fields only when first asked: ask now for every
    # one the checks read, so that a certificate with an unknown key type or a
    # malformed name or extension is a refusal here and not an exception in a
    # later check (found by fuzzing: tests/fuzz/regressions/).
    try:
        certificate.public_key()
        _ = (certificate.subject, certificate.issuer, certificate.extensions)
        _ = (certificate.serial_number, certificate.not_valid_before_utc)
        _ = certificate.not_valid_after_utc
    # DuplicateExtension and UnsupportedGeneralNameType are no ValueError either
    # (the first found by fuzzing, the second raised by the same extension parse).
    except (
        ValueError,
        UnsupportedAlgorithm,
        x509.DuplicateExtension,
        x509.UnsupportedGeneralNameType,
    ) as exc:
        raise SignatureInvalid(f"X509Certificate cannot be used: {exc}") from exc
    return certificate


def _is_ca(certificate: x509.Certificate) -> bool:
    try:
        constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints)
    except x509.ExtensionNotFound:
        return False
    return constraints.value.ca


def _decode_base64(text: str | None, what: str) -> bytes:
    compact = "".join((text or "").split())  # XML-DSig base64 may be wrapped in lines
    try:
        return base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SignatureInvalid(f"{what} is not valid base64") from exc
