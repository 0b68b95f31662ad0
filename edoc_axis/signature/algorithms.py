"""Algorithm URIs of the one XML-DSig profile the axis signs and verifies.

Everything not listed here is refused with ``signature.algorithm``: MD5, every
HMAC variant (a shared secret proves nothing about an agency), DSA, RSA-PSS and
unknown URIs. SHA-1 is listed separately because only the legacy policy may
accept it.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from lxml import etree

from edoc_axis.errors import SignatureAlgorithm, SignatureInvalid

# Same values as edoc_axis.edxml.namespaces; repeated so that the signature
# package does not depend on the edXML package being importable.
EDXML_NS: Final = "http://www.mic.gov.vn/TBT/QCVN_102_2016"
DSIG_NS: Final = "http://www.w3.org/2000/09/xmldsig#"
XML_NS: Final = "http://www.w3.org/XML/1998/namespace"

C14N: Final = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
C14N_WITH_COMMENTS: Final = C14N + "#WithComments"
EXC_C14N: Final = "http://www.w3.org/2001/10/xml-exc-c14n#"
EXC_C14N_WITH_COMMENTS: Final = EXC_C14N + "WithComments"
C14N_11: Final = "http://www.w3.org/2006/12/xml-c14n11"
C14N_11_WITH_COMMENTS: Final = C14N_11 + "#WithComments"
# The reference SDK writes this non-standard URI for its exclusive C14N
# transform; it is read as EXC_C14N under the legacy policy only.
LEGACY_EXC_C14N: Final = "http://www.w3.org/TR/xml-exc-c14n#"
ENVELOPED: Final = DSIG_NS + "enveloped-signature"

SHA1: Final = DSIG_NS + "sha1"
SHA256: Final = "http://www.w3.org/2001/04/xmlenc#sha256"
SHA384: Final = "http://www.w3.org/2001/04/xmldsig-more#sha384"
SHA512: Final = "http://www.w3.org/2001/04/xmlenc#sha512"

RSA_SHA1: Final = DSIG_NS + "rsa-sha1"
RSA_SHA256: Final = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
RSA_SHA384: Final = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384"
RSA_SHA512: Final = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512"
ECDSA_SHA256: Final = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"
ECDSA_SHA384: Final = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384"
ECDSA_SHA512: Final = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512"

MIN_RSA_BITS: Final = 2048
ALLOWED_CURVES: Final = frozenset({"secp256r1", "secp384r1", "secp521r1"})


@dataclass(frozen=True)
class DigestAlgorithm:
    uri: str
    name: str  # hashlib name
    legacy: bool


@dataclass(frozen=True)
class SignatureMethod:
    uri: str
    key_kind: str  # "rsa" or "ec"
    hash_factory: type[hashes.HashAlgorithm]
    legacy: bool


DIGESTS: Final[dict[str, DigestAlgorithm]] = {
    SHA256: DigestAlgorithm(SHA256, "sha256", legacy=False),
    SHA384: DigestAlgorithm(SHA384, "sha384", legacy=False),
    SHA512: DigestAlgorithm(SHA512, "sha512", legacy=False),
    SHA1: DigestAlgorithm(SHA1, "sha1", legacy=True),
}

SIGNATURE_METHODS: Final[dict[str, SignatureMethod]] = {
    RSA_SHA256: SignatureMethod(RSA_SHA256, "rsa", hashes.SHA256, legacy=False),
    RSA_SHA384: SignatureMethod(RSA_SHA384, "rsa", hashes.SHA384, legacy=False),
    RSA_SHA512: SignatureMethod(RSA_SHA512, "rsa", hashes.SHA512, legacy=False),
    ECDSA_SHA256: SignatureMethod(ECDSA_SHA256, "ec", hashes.SHA256, legacy=False),
    ECDSA_SHA384: SignatureMethod(ECDSA_SHA384, "ec", hashes.SHA384, legacy=False),
    ECDSA_SHA512: SignatureMethod(ECDSA_SHA512, "ec", hashes.SHA512, legacy=False),
    RSA_SHA1: SignatureMethod(RSA_SHA1, "rsa", hashes.SHA1, legacy=True),
}

# Canonicalisations without comments, for SignedInfo and as the last Reference
# transform: URI -> exclusive? C14N 1.1 differs from C14N 1.0 only for document
# subsets whose apex has omitted ancestors carrying xml:id or xml:base (C14N 1.1
# section 2.4); the whole document minus the Signature subtree is no such subset,
# so its output is C14N 1.0's. The with-comments variants are not listed: they
# are refused, since what they sign is not what a reader of the package sees.
CANONICALIZATIONS: Final[dict[str, bool]] = {EXC_C14N: True, C14N: False, C14N_11: False}


# --- canonicalisation -------------------------------------------------------


def canonicalize(
    node: etree._Element,
    *,
    exclusive: bool,
    inclusive_prefixes: Sequence[str] = (),
    c14n_11: bool = False,
) -> bytes:
    """C14N 1.0 / 1.1 (inclusive) or exclusive C14N of a subtree, comments dropped.

    ``inclusive_prefixes`` is exclusive C14N's InclusiveNamespaces PrefixList.
    Inclusive C14N of a subtree renders the ``xml:`` attributes the subtree
    inherits from its ancestors on its apex (C14N 1.0 section 2.4; C14N 1.1
    section 2.4 drops ``xml:id`` and joins ``xml:base``); lxml does not, so they
    are put on the apex while it is canonicalised: the tree is briefly modified.
    """
    inherited = {} if exclusive else _inherited_xml_attributes(node, c14n_11=c14n_11)
    for name, value in inherited.items():
        node.set(name, value)
    try:
        return etree.tostring(
            node,
            method="c14n",
            exclusive=exclusive,
            with_comments=False,
            inclusive_ns_prefixes=list(inclusive_prefixes) or None,
        )
    except etree.C14NError as exc:  # e.g. a relative namespace URI
        raise SignatureInvalid(f"cannot canonicalise {node.tag}: {exc}") from exc
    finally:
        for name in inherited:
            del node.attrib[name]


_XML_ATTRIBUTE = f"{{{XML_NS}}}"


def _inherited_xml_attributes(node: etree._Element, *, c14n_11: bool) -> dict[str, str]:
    """The nearest ancestor's value of each ``xml:`` attribute ``node`` does not carry."""
    inherited: dict[str, str] = {}
    for ancestor in node.iterancestors():
        for name, value in ancestor.attrib.items():
            name = str(name)
            if not name.startswith(_XML_ATTRIBUTE) or name in node.attrib or name in inherited:
                continue
            if c14n_11 and name == f"{_XML_ATTRIBUTE}id":
                continue  # C14N 1.1: xml:id is not inherited
            if c14n_11 and name == f"{_XML_ATTRIBUTE}base":
                raise SignatureAlgorithm(
                    "xml:base above the Signature is not supported with C14N 1.1"
                    " (its value would have to be joined); use C14N 1.0 or exclusive C14N"
                )
            inherited[name] = str(value)
    return inherited


def canonicalize_enveloped(
    signature: etree._Element, *, exclusive: bool, inclusive_prefixes: Sequence[str] = ()
) -> bytes:
    """The document as Reference URI="" sees it after the enveloped-signature transform.

    The transform removes the Signature subtree but keeps the text after it
    (its lxml ``tail``). The caller's tree must look unchanged afterwards. A
    Signature that declares every namespace it uses (ours, signxml's) is
    detached and put back exactly, which costs nothing. Otherwise lxml would
    leave a re-declared namespace on the re-inserted element, so such a
    document (the SDK's edXML-namespace form) is canonicalised from a copy:
    measured, the copy adds 15-25 % to the C14N time and doubles the memory.
    While this runs the tree is briefly modified: do not share it with another
    thread during verification.
    """
    document = signature.getroottree()
    if not _declares_own_namespaces(signature):
        document = copy.deepcopy(document)
        signature = _same_node_in(document, signature)
    parent = signature.getparent()
    if parent is None:
        raise SignatureInvalid("the Signature element cannot be the document root")
    return _without(
        parent,
        signature,
        lambda: canonicalize_document(
            document, exclusive=exclusive, inclusive_prefixes=inclusive_prefixes
        ),
    )


def canonicalize_document(
    document: etree._ElementTree, *, exclusive: bool, inclusive_prefixes: Sequence[str] = ()
) -> bytes:
    """C14N 1.0 of the whole document, comments dropped."""
    # The whole document node, so top-level processing instructions are covered too.
    try:
        return etree.tostring(
            document,
            method="c14n",
            exclusive=exclusive,
            with_comments=False,
            inclusive_ns_prefixes=list(inclusive_prefixes) or None,
        )
    except etree.C14NError as exc:
        raise SignatureInvalid(f"cannot canonicalise the document: {exc}") from exc


def _without(
    parent: etree._Element, signature: etree._Element, action: Callable[[], bytes]
) -> bytes:
    index = parent.index(signature)
    tail = signature.tail
    previous = signature.getprevious()
    saved = parent.text if previous is None else previous.tail
    if tail:
        _set_text_before(parent, previous, (saved or "") + tail)
    parent.remove(signature)
    try:
        return action()
    finally:
        _set_text_before(parent, previous, saved)
        parent.insert(index, signature)
        signature.tail = tail


def _set_text_before(
    parent: etree._Element, previous: etree._Element | None, text: str | None
) -> None:
    if previous is None:
        parent.text = text
    else:
        previous.tail = text


def _declares_own_namespaces(signature: etree._Element) -> bool:
    """True when no element or attribute below relies on an outside declaration."""
    parent = signature.getparent()
    outside = {} if parent is None else parent.nsmap
    own = {p: u for p, u in signature.nsmap.items() if outside.get(p) != u}
    if len(own) == 1:  # the usual: xmlns:ds (or xmlns) on the Signature, used throughout
        (uri,) = own.values()
        # With no prefix outside bound to ``uri``, an element in ``uri`` takes its
        # prefix from a declaration inside; so only the namespaces need a look.
        outside_use = _OUTSIDE_USE.get(uri)
        if outside_use is not None and uri not in outside.values():
            return not outside_use(signature)
    for node in signature.iter():
        tag = node.tag
        if not isinstance(tag, str):
            continue  # comments and processing instructions carry no namespace
        if tag[0] == "{" and own.get(node.prefix) != tag[1 : tag.index("}")]:
            return False
        if any(name[0] == "{" for name in node.attrib):
            return False
    return True


# True when an element below the Signature is outside its namespace, or an
# attribute is in one: run in C, since the walk above costs ~3 us an element
# (lxml makes a proxy and a tag string for each); one expression per namespace
# a Signature may be in, because XPath variables cost more than the walk.
_OUTSIDE_USE = {
    uri: etree.XPath(
        f"boolean(descendant-or-self::*[namespace-uri() != '{uri}']"
        " | descendant-or-self::*/@*[namespace-uri() != ''])"
    )
    for uri in (DSIG_NS, EDXML_NS)
}


def _same_node_in(document: etree._ElementTree, node: etree._Element) -> etree._Element:
    steps: list[int] = []
    current = node
    while (parent := current.getparent()) is not None:
        steps.append(parent.index(current))
        current = parent
    found = document.getroot()
    for index in reversed(steps):
        found = found[index]
    return found


# --- keys and signature values ----------------------------------------------


def check_key(certificate: x509.Certificate, method: SignatureMethod) -> None:
    """Refuse a signer key that does not fit the method or is too weak."""
    key = certificate.public_key()
    if method.key_kind == "rsa":
        if not isinstance(key, rsa.RSAPublicKey):
            raise SignatureAlgorithm(f"{method.uri} needs an RSA key, the certificate has another")
        if key.key_size < MIN_RSA_BITS:
            raise SignatureAlgorithm(f"RSA key of {key.key_size} bits; at least 2048 required")
        return
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise SignatureAlgorithm(f"{method.uri} needs an EC key, the certificate has another")
    if key.curve.name not in ALLOWED_CURVES:
        raise SignatureAlgorithm(f"elliptic curve {key.curve.name} is not accepted")


def verify_signature_value(
    certificate: x509.Certificate, method: SignatureMethod, value: bytes, data: bytes
) -> None:
    """Check SignatureValue over the canonical SignedInfo; ECDSA values are raw r||s."""
    key = certificate.public_key()
    try:
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(value, data, padding.PKCS1v15(), method.hash_factory())
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(
                _raw_to_der(value, key.curve.key_size), data, ec.ECDSA(method.hash_factory())
            )
        else:  # check_key ran first; kept so a new key type cannot slip through
            raise SignatureAlgorithm("unsupported signer key type")
    except InvalidSignature as exc:
        raise SignatureInvalid(
            "signature value does not verify with the signer certificate"
        ) from exc


def signing_method(key: CertificateIssuerPrivateKeyTypes) -> str:
    """The SignatureMethod URI our profile uses for a key: *-SHA256 by key type."""
    if isinstance(key, rsa.RSAPrivateKey):
        if key.key_size < MIN_RSA_BITS:
            raise SignatureAlgorithm(f"RSA key of {key.key_size} bits; at least 2048 required")
        return RSA_SHA256
    if isinstance(key, ec.EllipticCurvePrivateKey):
        if key.curve.name not in ALLOWED_CURVES:
            raise SignatureAlgorithm(f"elliptic curve {key.curve.name} is not accepted")
        return ECDSA_SHA256
    raise SignatureAlgorithm(f"cannot sign with a {type(key).__name__}; use RSA or ECDSA")


def sign_value(key: CertificateIssuerPrivateKeyTypes, data: bytes) -> bytes:
    """SignatureValue bytes for ``signing_method(key)``; ECDSA as raw r||s."""
    signing_method(key)
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    if not isinstance(key, ec.EllipticCurvePrivateKey):  # signing_method refused it already
        raise SignatureAlgorithm("unsupported key type")
    r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
    size = _coordinate_bytes(key.curve.key_size)
    return r.to_bytes(size, "big") + s.to_bytes(size, "big")


def _coordinate_bytes(curve_bits: int) -> int:
    return (curve_bits + 7) // 8


def _raw_to_der(value: bytes, curve_bits: int) -> bytes:
    # XML-DSig carries ECDSA as fixed-width r||s (RFC 4050/6931), not DER.
    size = _coordinate_bytes(curve_bits)
    if len(value) != 2 * size:
        raise SignatureInvalid(f"ECDSA signature value has {len(value)} bytes, expected {2 * size}")
    r = int.from_bytes(value[:size], "big")
    s = int.from_bytes(value[size:], "big")
    return encode_dss_signature(r, s)
