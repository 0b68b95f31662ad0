"""Independent XML-DSig implementations as the interop tests drive them.

``xmlsec1`` (the C library behind most XML-DSig tooling) signs from templates
and verifies; the JDK's ``javax.xml.crypto.dsig`` signs and validates through
``tests/data/interop/EdxmlDsig.java``, compiled here with javac; signxml signs
with its defaults. None of them shares code with edoc-axis's signer or
verifier: they are the other parties of the matrix.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from edoc_axis.pki import Issued, cert_to_pem, key_to_pem

DSIG = "http://www.w3.org/2000/09/xmldsig#"
EDXML = "http://www.mic.gov.vn/TBT/QCVN_102_2016"
ENVELOPED = DSIG + "enveloped-signature"
C14N = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315"
C14N_COMMENTS = C14N + "#WithComments"
C14N_11 = "http://www.w3.org/2006/12/xml-c14n11"
EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
EXC_C14N_COMMENTS = EXC_C14N + "WithComments"
XPATH = "http://www.w3.org/TR/1999/REC-xpath-19991116"
RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
ECDSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"
SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
JAVA_SOURCE = Path(__file__).resolve().parents[2] / "data" / "interop" / "EdxmlDsig.java"
TIMEOUT_S = 120


@dataclass(frozen=True)
class Transform:
    uri: str
    prefixes: str | None = None  # exclusive C14N's InclusiveNamespaces PrefixList
    xpath: str | None = None  # an XPath filter expression


@dataclass(frozen=True)
class Form:
    """One way of writing "an enveloped signature": SignedInfo C14N and Reference transforms."""

    c14n: str
    transforms: tuple[Transform, ...]
    c14n_prefixes: str | None = None
    unprefixed: bool = False  # Signature in the default namespace, as .NET's SignedXml writes it


# Every accepted form, as a signer's template states it.
ACCEPTED_FORMS = {
    "enveloped": Form(C14N, (Transform(ENVELOPED),)),
    "enveloped-c14n": Form(C14N, (Transform(ENVELOPED), Transform(C14N))),
    "enveloped-c14n11": Form(C14N_11, (Transform(ENVELOPED), Transform(C14N_11))),
    "enveloped-exc": Form(EXC_C14N, (Transform(ENVELOPED), Transform(EXC_C14N))),
    "enveloped-exc-prefixes": Form(
        EXC_C14N, (Transform(ENVELOPED), Transform(EXC_C14N, prefixes="edXML")), "edXML"
    ),
    # The shape of .NET SignedXml with XmlDsigEnvelopedSignatureTransform and an
    # exclusive SignedInfo (the README's snippet): no prefix, enveloped only.
    "dotnet-shape": Form(EXC_C14N, (Transform(ENVELOPED),), unprefixed=True),
}
# The forms tests/data/interop/EdxmlDsig.java writes (the JDK always uses a prefix).
JDK_ACCEPTED_FORMS = [name for name, form in ACCEPTED_FORMS.items() if not form.unprefixed]
# Valid signatures that cover less than (or other than) what a reader sees: each
# refused with its code.
REFUSED_FORMS = {
    "enveloped-c14n-comments": (
        Form(C14N, (Transform(ENVELOPED), Transform(C14N_COMMENTS))),
        "signature.wrapping",
    ),
    "signed-info-exc-comments": (
        Form(EXC_C14N_COMMENTS, (Transform(ENVELOPED), Transform(EXC_C14N))),
        "signature.algorithm",
    ),
    "enveloped-xpath": (
        Form(
            C14N,
            (
                Transform(ENVELOPED),
                Transform(XPATH, xpath="not(ancestor-or-self::edXML:Subject)"),
                Transform(C14N),
            ),
        ),
        "signature.wrapping",
    ),
}


def write_credentials(issued: Issued, directory: Path) -> tuple[Path, Path]:
    """(key.pem, cert.pem) of ``issued`` in ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    key, cert = directory / "key.pem", directory / "cert.pem"
    key.write_bytes(key_to_pem(issued.key))
    cert.write_bytes(cert_to_pem(issued.cert))
    return key, cert


def _run(*argv: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(arg) for arg in argv], capture_output=True, text=True, timeout=TIMEOUT_S, check=False
    )


# --- xmlsec1 -----------------------------------------------------------------------


def _ds(name: str) -> str:
    return f"{{{DSIG}}}{name}"


def xmlsec_template(form: Form, method: str) -> etree._Element:
    """An xmlsec1 signing template: the Signature with empty values, X509Data to fill."""
    signature = etree.Element(_ds("Signature"), nsmap={None if form.unprefixed else "ds": DSIG})
    signed_info = etree.SubElement(signature, _ds("SignedInfo"))
    c14n = etree.SubElement(signed_info, _ds("CanonicalizationMethod"), Algorithm=form.c14n)
    if form.c14n_prefixes is not None:
        _inclusive_namespaces(c14n, form.c14n_prefixes)
    etree.SubElement(signed_info, _ds("SignatureMethod"), Algorithm=method)
    reference = etree.SubElement(signed_info, _ds("Reference"), URI="")
    transforms = etree.SubElement(reference, _ds("Transforms"))
    for transform in form.transforms:
        node = etree.SubElement(transforms, _ds("Transform"), Algorithm=transform.uri)
        if transform.prefixes is not None:
            _inclusive_namespaces(node, transform.prefixes)
        if transform.xpath is not None:
            xpath = etree.SubElement(node, _ds("XPath"), nsmap={"edXML": EDXML})
            xpath.text = transform.xpath
    etree.SubElement(reference, _ds("DigestMethod"), Algorithm=SHA256)
    etree.SubElement(reference, _ds("DigestValue"))
    etree.SubElement(signature, _ds("SignatureValue"))
    key_info = etree.SubElement(signature, _ds("KeyInfo"))
    etree.SubElement(etree.SubElement(key_info, _ds("X509Data")), _ds("X509Certificate"))
    return signature


def _inclusive_namespaces(parent: etree._Element, prefixes: str) -> None:
    etree.SubElement(
        parent, f"{{{EXC_C14N}}}InclusiveNamespaces", PrefixList=prefixes, nsmap={"ec": EXC_C14N}
    )


def with_template(package: bytes, template: etree._Element) -> bytes:
    """The package with ``template`` appended as the last child of edXMLHeader."""
    root = etree.fromstring(package)
    header = root.find(f"{{{EDXML}}}edXMLEnvelope/{{{EDXML}}}edXMLHeader")
    assert header is not None
    header.append(template)
    return etree.tostring(root.getroottree(), xml_declaration=True, encoding="UTF-8")


def xmlsec_sign(
    xmlsec1: str, package: bytes, form: Form, method: str, key: Path, cert: Path, work: Path
) -> bytes:
    work.mkdir(parents=True, exist_ok=True)
    template, output = work / "template.xml", work / "signed.xml"
    template.write_bytes(with_template(package, xmlsec_template(form, method)))
    result = _run(xmlsec1, "--sign", "--privkey-pem", f"{key},{cert}", "--output", output, template)
    assert result.returncode == 0, result.stderr
    return output.read_bytes()


def xmlsec_verify_trusting(
    xmlsec1: str, path: Path, ca_cert: Path
) -> subprocess.CompletedProcess[str]:
    """Verify with the signer certificate from KeyInfo, which must chain to ``ca_cert``."""
    return _run(xmlsec1, "--verify", "--trusted-pem", ca_cert, path)


def xmlsec_verify_pinned(xmlsec1: str, path: Path, cert: Path) -> subprocess.CompletedProcess[str]:
    """Verify with exactly the key of ``cert``, ignoring KeyInfo (how a receipt is checked)."""
    return _run(
        xmlsec1, "--verify", "--pubkey-cert-pem", cert, "--enabled-key-data", "key-name", path
    )


# --- the JDK -----------------------------------------------------------------------


@dataclass(frozen=True)
class Jdk:
    java: str
    classes: Path

    def sign(self, key: Path, cert: Path, out: Path, packages: dict[str, Path]) -> dict[str, bytes]:
        """form -> the package signed by the JDK in that form (see EdxmlDsig.java)."""
        out.mkdir(parents=True, exist_ok=True)
        jobs = [f"{form}={path}" for form, path in packages.items()]
        result = _run(self.java, "-cp", self.classes, "EdxmlDsig", "sign", key, cert, out, *jobs)
        assert result.returncode == 0, result.stderr
        return {form: (out / f"{form}.xml").read_bytes() for form in packages}

    def verify(self, cert: Path, *paths: Path) -> dict[str, str]:
        """file name -> "valid" or "INVALID <reason>", as the JDK validator said."""
        result = _run(self.java, "-cp", self.classes, "EdxmlDsig", "verify", cert, *paths)
        verdicts = {}
        for line in result.stdout.splitlines():
            name, _, verdict = line.partition(" ")
            verdicts[Path(name).name] = verdict
        assert len(verdicts) == len(paths), result.stdout + result.stderr
        return verdicts


def compile_jdk_tool(javac: str, java: str, classes: Path) -> Jdk:
    result = _run(javac, "-d", classes, JAVA_SOURCE)
    assert result.returncode == 0, result.stderr
    return Jdk(java, classes)
