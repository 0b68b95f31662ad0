"""Test helper: an independent signer that can write any signature shape.

It builds the Signature from a text template and computes the Reference over
a copy of the document, so tests of the verifier do not rely on the code under
test to produce their inputs (signxml covers the native profile separately).
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
ENVELOPED = DSIG + "enveloped-signature"
SHA1 = DSIG + "sha1"
SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
RSA_SHA1 = DSIG + "rsa-sha1"
RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
ECDSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"
HEADER_END = b"</edXML:edXMLHeader>"

_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha1": hashes.SHA1,
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}


def _hash_name(uri: str) -> str:
    for name in ("sha512", "sha384", "sha256", "sha1"):
        if uri.endswith(name):
            return name
    return "sha256"  # unknown URIs: any value, the verifier must refuse the URI first


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
        subject_name=True,
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
    extra_certs: Sequence[x509.Certificate] = (),
    subject_name: bool = False,
    key_info_extra: str = "",
    signature_extra: str = "",
    inclusive_prefixes: str | None = None,
) -> bytes:
    """Insert a Signature of the given shape as the last child of edXMLHeader and sign it.

    ``prefix=None`` writes the Signature unprefixed, i.e. in the document's default
    (edXML) namespace as the reference SDK does; otherwise in XML-DSig with that prefix.
    ``inclusive_prefixes`` adds an InclusiveNamespaces PrefixList to the last transform
    and to the CanonicalizationMethod (both are expected to be exclusive C14N then).
    """
    if method is None:
        method = RSA_SHA256 if isinstance(key, rsa.RSAPrivateKey) else ECDSA_SHA256
    template = _template(
        prefix, c14n, method, digest, transforms, reference_uri, [cert, *extra_certs], subject_name
    )
    template = template.replace("<!--KEYINFO-->", key_info_extra)
    template = template.replace("<!--SIGNATURE-->", signature_extra)
    assert raw.count(HEADER_END) == 1
    raw = raw.replace(HEADER_END, template.encode() + b"\n    " + HEADER_END)
    root = etree.fromstring(raw)
    signature = root.find(f".//{{{DSIG if prefix else EDXML}}}Signature")
    assert signature is not None
    ns = {"s": DSIG if prefix else EDXML}
    prefixes = None
    if inclusive_prefixes is not None:
        prefixes = inclusive_prefixes.split() or None
        parameter = f"{{{EXC_C14N}}}InclusiveNamespaces"
        for node in (
            signature.find(".//s:CanonicalizationMethod", ns),
            *signature.findall(".//s:Transform", ns)[-1:],
        ):
            etree.SubElement(node, parameter, PrefixList=inclusive_prefixes, nsmap={"ec": EXC_C14N})
    exclusive_reference = transforms[-1] in (EXC_C14N, SDK_EXC_C14N)
    reference_bytes = _enveloped_c14n(
        root, exclusive=exclusive_reference, prefixes=prefixes if exclusive_reference else None
    )
    value = hashlib.new(_hash_name(digest), reference_bytes).digest()
    signature.find(".//s:DigestValue", ns).text = base64.b64encode(value).decode()  # type: ignore[union-attr]
    signed_info = signature.find("s:SignedInfo", ns)
    assert signed_info is not None
    exclusive_signed_info = c14n in (EXC_C14N, SDK_EXC_C14N)
    data = etree.tostring(
        signed_info,
        method="c14n",
        exclusive=exclusive_signed_info,
        with_comments=False,
        inclusive_ns_prefixes=prefixes if exclusive_signed_info else None,
    )
    signature_value = _sign(key, data, _HASHES[_hash_name(method)]())
    signature.find("s:SignatureValue", ns).text = base64.b64encode(signature_value).decode()  # type: ignore[union-attr]
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + etree.tostring(root, encoding="UTF-8")


def _template(
    prefix: str | None,
    c14n: str,
    method: str,
    digest: str,
    transforms: Sequence[str],
    reference_uri: str,
    certs: Sequence[x509.Certificate],
    subject_name: bool,
) -> str:
    p = f"{prefix}:" if prefix else ""
    declaration = f' xmlns:{prefix}="{DSIG}"' if prefix else ""
    transform_xml = "".join(
        f'\n            <{p}Transform Algorithm="{uri}" />' for uri in transforms
    )
    certs_xml = "".join(
        f"\n            <{p}X509Certificate>{_b64(cert)}</{p}X509Certificate>" for cert in certs
    )
    name = certs[0].subject.rfc4514_string()
    subject = (
        f"\n            <{p}X509SubjectName>{name}</{p}X509SubjectName>" if subject_name else ""
    )
    return f"""  <{p}Signature{declaration}>
        <{p}SignedInfo>
          <{p}CanonicalizationMethod Algorithm="{c14n}" />
          <{p}SignatureMethod Algorithm="{method}" />
          <{p}Reference URI="{reference_uri}">
            <{p}Transforms>{transform_xml}
            </{p}Transforms>
            <{p}DigestMethod Algorithm="{digest}" />
            <{p}DigestValue></{p}DigestValue>
          </{p}Reference>
        </{p}SignedInfo>
        <{p}SignatureValue></{p}SignatureValue>
        <{p}KeyInfo>
          <{p}X509Data>{subject}{certs_xml}
          </{p}X509Data><!--KEYINFO-->
        </{p}KeyInfo><!--SIGNATURE-->
      </{p}Signature>"""


def _b64(cert: x509.Certificate) -> str:
    return base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()


def _enveloped_c14n(
    root: etree._Element, *, exclusive: bool, prefixes: list[str] | None = None
) -> bytes:
    document = copy.deepcopy(root.getroottree())
    for signature in document.getroot().iter(f"{{{DSIG}}}Signature", f"{{{EDXML}}}Signature"):
        parent = signature.getparent()
        assert parent is not None
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
        inclusive_ns_prefixes=prefixes,
    )


def _sign(
    key: CertificateIssuerPrivateKeyTypes, data: bytes, algorithm: hashes.HashAlgorithm
) -> bytes:
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(data, padding.PKCS1v15(), algorithm)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    r, s = decode_dss_signature(key.sign(data, ec.ECDSA(algorithm)))
    size = (key.curve.key_size + 7) // 8
    return r.to_bytes(size, "big") + s.to_bytes(size, "big")
