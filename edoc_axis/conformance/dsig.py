"""An independent signer that writes odd signature shapes for the attack corpus.

It builds the ``Signature`` from a text template and computes the Reference
over a copy of the package, so the corpus does not rely on the signer under
test (adapted from the project's test helper; product code never imports tests).
"""

from __future__ import annotations

import base64
import copy
import hashlib
from collections.abc import Sequence

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from lxml import etree

DSIG = "http://www.w3.org/2000/09/xmldsig#"
EDXML = "http://www.mic.gov.vn/TBT/QCVN_102_2016"
C14N = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
SDK_EXC_C14N = "http://www.w3.org/TR/xml-exc-c14n#"
C14N_11 = "http://www.w3.org/2006/12/xml-c14n11"
_EXCLUSIVE = (EXC_C14N, SDK_EXC_C14N)
XPATH = "http://www.w3.org/TR/1999/REC-xpath-19991116"
ENVELOPED = DSIG + "enveloped-signature"
SHA1 = DSIG + "sha1"
SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
MD5 = "http://www.w3.org/2001/04/xmldsig-more#md5"
RSA_SHA1 = DSIG + "rsa-sha1"
RSA_MD5 = "http://www.w3.org/2001/04/xmldsig-more#rsa-md5"
HMAC_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#hmac-sha256"
RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
ECDSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"
HEADER_END = b"</edXML:edXMLHeader>"

_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "md5": hashes.MD5,
    "sha1": hashes.SHA1,
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}


def _hash_name(uri: str) -> str:
    for name in ("sha512", "sha384", "sha256", "sha1", "md5"):
        if uri.endswith(name):
            return name
    return "sha256"  # unknown URIs: any value, a verifier must refuse the URI first


def legacy_sign(raw: bytes, key: CertificateIssuerPrivateKeyTypes, cert: x509.Certificate) -> bytes:
    """Sign in the reference SDK's shape: edXML-namespace Signature, C14N 1.0, RSA-SHA1."""
    return custom_sign(
        raw,
        key,
        cert,
        prefix=None,
        c14n=C14N,
        method=RSA_SHA1,
        digest=SHA1,
        transforms=(ENVELOPED, SDK_EXC_C14N),
    )


def custom_sign(
    raw: bytes,
    key: CertificateIssuerPrivateKeyTypes,
    cert: x509.Certificate,
    *,
    prefix: str | None = "ds",
    c14n: str = EXC_C14N,
    method: str | None = None,
    digest: str = SHA256,
    transforms: Sequence[str] = (ENVELOPED, EXC_C14N),
    reference_uri: str = "",
    inclusive_prefixes: str | None = None,
) -> bytes:
    """Insert a Signature of the given shape as the last child of edXMLHeader and sign it.

    ``prefix=None`` writes the Signature in the document's default (edXML)
    namespace, as the reference SDK does; otherwise in XML-DSig with that prefix.
    ``inclusive_prefixes`` adds an exclusive C14N InclusiveNamespaces PrefixList
    (named prefixes) to the CanonicalizationMethod and the last Transform.
    C14N 1.1 is computed as C14N 1.0: the same bytes for a whole package whose
    ancestors of SignedInfo carry no xml: attributes, as the suite's do.
    """
    if method is None:
        method = RSA_SHA256 if isinstance(key, rsa.RSAPrivateKey) else ECDSA_SHA256
    template = _template(prefix, c14n, method, digest, transforms, reference_uri, cert)
    if raw.count(HEADER_END) != 1:
        raise ValueError("the package needs exactly one edXMLHeader end tag")
    raw = raw.replace(HEADER_END, template.encode() + b"\n    " + HEADER_END)
    root = etree.fromstring(raw)
    ns = {"s": DSIG if prefix else EDXML}
    signature = root.find(".//s:Signature", ns)
    digest_node = root.find(".//s:Signature/s:SignedInfo/s:Reference/s:DigestValue", ns)
    signed_info = root.find(".//s:Signature/s:SignedInfo", ns)
    value_node = root.find(".//s:Signature/s:SignatureValue", ns)
    if signature is None or digest_node is None or signed_info is None or value_node is None:
        raise ValueError("signature template did not land in the package")
    prefixes = (inclusive_prefixes or "").split()
    if inclusive_prefixes is not None:
        parameters = (signed_info[0], signature.findall(".//s:Transform", ns)[-1])
        for node in parameters:
            etree.SubElement(
                node,
                f"{{{EXC_C14N}}}InclusiveNamespaces",
                PrefixList=inclusive_prefixes,
                nsmap={"ec": EXC_C14N},
            )
    reference_exclusive = transforms[-1] in _EXCLUSIVE
    reference_bytes = _enveloped_c14n(
        root, exclusive=reference_exclusive, prefixes=prefixes if reference_exclusive else []
    )
    digest_node.text = base64.b64encode(
        hashlib.new(_hash_name(digest), reference_bytes).digest()
    ).decode()
    data = etree.tostring(
        signed_info,
        method="c14n",
        exclusive=c14n in _EXCLUSIVE,
        with_comments=False,
        inclusive_ns_prefixes=(prefixes if c14n in _EXCLUSIVE else None) or None,
    )
    value = _sign(key, data, _HASHES[_hash_name(method)]())
    value_node.text = base64.b64encode(value).decode()
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + etree.tostring(root, encoding="UTF-8")


def _template(
    prefix: str | None,
    c14n: str,
    method: str,
    digest: str,
    transforms: Sequence[str],
    reference_uri: str,
    cert: x509.Certificate,
) -> str:
    p = f"{prefix}:" if prefix else ""
    declaration = f' xmlns:{prefix}="{DSIG}"' if prefix else ""
    transform_xml = "".join(f'<{p}Transform Algorithm="{uri}" />' for uri in transforms)
    der = base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()
    return (
        f"  <{p}Signature{declaration}><{p}SignedInfo>"
        f'<{p}CanonicalizationMethod Algorithm="{c14n}" />'
        f'<{p}SignatureMethod Algorithm="{method}" />'
        f'<{p}Reference URI="{reference_uri}"><{p}Transforms>{transform_xml}</{p}Transforms>'
        f'<{p}DigestMethod Algorithm="{digest}" /><{p}DigestValue></{p}DigestValue>'
        f"</{p}Reference></{p}SignedInfo><{p}SignatureValue></{p}SignatureValue>"
        f"<{p}KeyInfo><{p}X509Data><{p}X509Certificate>{der}</{p}X509Certificate>"
        f"</{p}X509Data></{p}KeyInfo></{p}Signature>"
    )


def _enveloped_c14n(root: etree._Element, *, exclusive: bool, prefixes: list[str]) -> bytes:
    document = copy.deepcopy(root.getroottree())
    for signature in document.getroot().iter(f"{{{DSIG}}}Signature", f"{{{EDXML}}}Signature"):
        parent = signature.getparent()
        if parent is None:
            break
        previous = signature.getprevious()
        if previous is None:
            parent.text = (parent.text or "") + (signature.tail or "")
        else:
            previous.tail = (previous.tail or "") + (signature.tail or "")
        parent.remove(signature)
        break
    return etree.tostring(
        document,
        method="c14n",
        exclusive=exclusive,
        with_comments=False,
        inclusive_ns_prefixes=prefixes or None,
    )


def _sign(
    key: CertificateIssuerPrivateKeyTypes, data: bytes, algorithm: hashes.HashAlgorithm
) -> bytes:
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(data, padding.PKCS1v15(), algorithm)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise TypeError(f"unsupported key type {type(key).__name__}")
    r, s = decode_dss_signature(key.sign(data, ec.ECDSA(algorithm)))
    size = (key.curve.key_size + 7) // 8
    return r.to_bytes(size, "big") + s.to_bytes(size, "big")
