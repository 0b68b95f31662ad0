"""Interoperability matrix: signatures by real XML-DSig implementations, and ours by them.

Signers: xmlsec1 (templates, one per transform chain), the JDK's
javax.xml.crypto.dsig (tests/data/interop/EdxmlDsig.java) and signxml with its
defaults; RSA-SHA256 and ECDSA-SHA256. Each package goes through ``edoc verify``
(the CLI's entry point) and through intake on a real axis: every accepted form
is valid for both (202), every refused form is refused by both with its code.
The other direction: our signed packages and the axis's receipts verify with
``xmlsec1 --verify`` and with the JDK's validator.

xmlsec1 and javac are external programs: missing, the tests skip with the reason
(and fail under CI, see tests/external.py).
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterable
from pathlib import Path

import pytest
from lxml import etree
from signxml import SignatureMethod, XMLSigner

from edoc_axis.cli.edoc import main as edoc_main
from edoc_axis.pki import Issued, cert_to_pem
from edoc_axis.signature import verify_package
from tests.conftest import build_package
from tests.external import require_program
from tests.integration.interop.dsig_tools import (
    ACCEPTED_FORMS,
    C14N_11,
    ECDSA_SHA256,
    ENVELOPED,
    JDK_ACCEPTED_FORMS,
    REFUSED_FORMS,
    RSA_SHA256,
    Jdk,
    compile_jdk_tool,
    write_credentials,
    xmlsec_sign,
    xmlsec_verify_pinned,
    xmlsec_verify_trusting,
)
from tests.integration.server.conftest import AgencyKit, RunningAxis

G22, H49, G14 = "000.00.00.G22", "000.00.00.H49", "000.00.00.G14"
ACCEPTED = "accepted"
KEY_TYPES = ["rsa", "ec"]
# The JDK writes every accepted form, and two refused ones.
JDK_REFUSED = {
    "enveloped-c14n-comments": "signature.wrapping",
    "enveloped-xpath": "signature.wrapping",
}


@pytest.fixture(scope="module")
def xmlsec1() -> str:
    return require_program("xmlsec1")


@pytest.fixture(scope="module")
def jdk(tmp_path_factory: pytest.TempPathFactory) -> Jdk:
    javac = require_program("javac")
    java = require_program("java")
    return compile_jdk_tool(javac, java, tmp_path_factory.mktemp("jdk-classes"))


class Parties:
    """A running axis, the CA file, the signing agency and a recipient."""

    def __init__(self, axis: RunningAxis, signer: AgencyKit, key_type: str, work: Path) -> None:
        self.axis, self.signer, self.work = axis, signer, work
        self.method = ECDSA_SHA256 if key_type == "ec" else RSA_SHA256
        self.ca = work / "ca.cert.pem"
        self.ca.write_bytes(cert_to_pem(axis.ca.cert))
        self.key, self.cert = write_credentials(signer.issued, work / "signer")
        self.receipts: list[Path] = []

    def package(self) -> bytes:
        return self.axis.document(self.signer, [H49])

    async def outcome(
        self, name: str, signed: bytes, capsys: pytest.CaptureFixture[str]
    ) -> tuple[str, str]:
        """(what `edoc verify --ca` says, what the axis says): "accepted" or the error code."""
        path = self.work / f"{name}.xml"
        path.write_bytes(signed)
        capsys.readouterr()
        exit_code = edoc_main(["verify", str(path), "--ca", str(self.ca)])
        printed = capsys.readouterr()
        if exit_code == 0:
            assert "valid" in printed.out
            cli = ACCEPTED
        else:
            cli = printed.err.split(":", 1)[0].strip()
        response = await self.axis.submit(signed, self.signer)
        if response.status == 202:
            server = ACCEPTED
            receipt = self.work / f"{name}.receipt.xml"
            receipt.write_bytes(response.body)
            self.receipts.append(receipt)
        else:
            assert response.status == 422, (response.status, response.body)
            server = str(response.code)
        return cli, server


async def _parties(axis: RunningAxis, key_type: str, work: Path) -> Parties:
    await axis.register(H49)
    issued = axis.issue(G22, key_type=key_type)
    signer = await axis.register(G22, issued=issued)
    return Parties(axis, signer, key_type, work)


def _expected(
    refused: dict[str, str], accepted: Iterable[str] = ACCEPTED_FORMS
) -> dict[str, tuple[str, str]]:
    expected = {form: (ACCEPTED, ACCEPTED) for form in accepted}
    expected.update({form: (code, code) for form, code in refused.items()})
    return expected


@pytest.mark.parametrize("key_type", KEY_TYPES)
async def test_xmlsec1_signatures_in_every_form(
    key_type: str,
    axis: RunningAxis,
    xmlsec1: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    parties = await _parties(axis, key_type, tmp_path)
    forms = {**ACCEPTED_FORMS, **{name: form for name, (form, _) in REFUSED_FORMS.items()}}
    matrix = {}
    for name, form in forms.items():
        signed = xmlsec_sign(
            xmlsec1,
            parties.package(),
            form,
            parties.method,
            parties.key,
            parties.cert,
            tmp_path / name,
        )
        # Every one is a valid signature for xmlsec1 itself: a refusal is the axis's policy.
        check = xmlsec_verify_trusting(xmlsec1, tmp_path / name / "signed.xml", parties.ca)
        assert check.returncode == 0, (name, check.stderr)
        matrix[name] = await parties.outcome(name, signed, capsys)
    assert matrix == _expected({name: code for name, (_, code) in REFUSED_FORMS.items()})
    # The receipts of the accepted ones verify with xmlsec1, pinned to the axis certificate.
    for receipt in parties.receipts:
        result = xmlsec_verify_pinned(xmlsec1, receipt, Path(axis.config.axis_cert))
        assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("key_type", KEY_TYPES)
async def test_jdk_signatures_in_every_form(
    key_type: str, axis: RunningAxis, jdk: Jdk, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    parties = await _parties(axis, key_type, tmp_path)
    packages = {}
    for form in [*JDK_ACCEPTED_FORMS, *JDK_REFUSED]:
        packages[form] = tmp_path / f"{form}.unsigned.xml"
        packages[form].write_bytes(parties.package())
    signed = jdk.sign(parties.key, parties.cert, tmp_path / "jdk", packages)
    own = jdk.verify(parties.cert, *(tmp_path / "jdk" / f"{form}.xml" for form in packages))
    assert set(own.values()) == {"valid"}, own
    matrix = {form: await parties.outcome(form, raw, capsys) for form, raw in signed.items()}
    assert matrix == _expected(JDK_REFUSED, JDK_ACCEPTED_FORMS)
    verdicts = jdk.verify(Path(axis.config.axis_cert), *parties.receipts)
    assert set(verdicts.values()) == {"valid"}, verdicts


PLACEHOLDER = '<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#" Id="placeholder"/>'


@pytest.mark.parametrize("key_type", KEY_TYPES)
async def test_signxml_defaults(
    key_type: str, axis: RunningAxis, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    parties = await _parties(axis, key_type, tmp_path)
    root = etree.fromstring(parties.package())
    header = root.find("{http://www.mic.gov.vn/TBT/QCVN_102_2016}edXMLEnvelope/")
    assert header is not None and header.tag.endswith("edXMLHeader")
    header.append(etree.fromstring(PLACEHOLDER))  # where signxml puts an enveloped signature
    # signxml's defaults; only an EC key needs its method named (the default is RSA).
    signer = (
        XMLSigner()
        if key_type == "rsa"
        else XMLSigner(signature_algorithm=SignatureMethod.ECDSA_SHA256)
    )
    issued: Issued = parties.signer.issued
    signed = etree.tostring(
        signer.sign(root, key=issued.key, cert=cert_to_pem(issued.cert).decode())
    )
    transforms = [node.get("Algorithm") for node in etree.fromstring(signed).iter("{*}Transform")]
    assert transforms == [ENVELOPED, C14N_11]  # signxml's default canonicalization is C14N 1.1
    assert await parties.outcome("signxml", signed, capsys) == (ACCEPTED, ACCEPTED)


def _tampered(path: Path, work: Path) -> Path:
    raw = path.read_bytes()
    changed = raw.replace(H49.encode(), b"000.00.00.H50", 1)  # the recipient, in both kinds
    assert changed != raw
    out = work / f"tampered-{path.name}"
    out.write_bytes(changed)
    return out


async def test_our_packages_and_receipts_verify_with_xmlsec1_and_the_jdk(
    axis: RunningAxis, xmlsec1: str, jdk: Jdk, tmp_path: Path
) -> None:
    await axis.register(H49)
    axis_cert = Path(axis.config.axis_cert)
    ca = tmp_path / "ca.cert.pem"
    ca.write_bytes(cert_to_pem(axis.ca.cert))
    packages, receipts, signer_certs = [], [], []
    for code, key_type in ((G22, "rsa"), (G14, "ec")):
        kit = await axis.register(code, issued=axis.issue(code, key_type=key_type))
        _, cert = write_credentials(kit.issued, tmp_path / code)
        package = tmp_path / f"{code}.signed.xml"
        package.write_bytes(axis.signed(kit, [H49]))  # edoc-axis's own signer
        response = await axis.submit(package.read_bytes(), kit)
        assert response.status == 202, response.body
        receipt = tmp_path / f"{code}.receipt.xml"
        receipt.write_bytes(response.body)
        packages.append(package)
        receipts.append(receipt)
        signer_certs.append(cert)

    for package, cert in zip(packages, signer_certs, strict=True):
        trusted = xmlsec_verify_trusting(xmlsec1, package, ca)
        assert trusted.returncode == 0, trusted.stderr
        assert jdk.verify(cert, package) == {package.name: "valid"}
    for receipt in receipts:
        pinned = xmlsec_verify_pinned(xmlsec1, receipt, axis_cert)
        assert pinned.returncode == 0, pinned.stderr
        assert jdk.verify(axis_cert, receipt) == {receipt.name: "valid"}

    # The checks can fail: a changed byte, or a receipt checked against another key.
    forged_receipt = _tampered(receipts[0], tmp_path)
    assert xmlsec_verify_pinned(xmlsec1, forged_receipt, axis_cert).returncode != 0
    assert jdk.verify(axis_cert, forged_receipt)[forged_receipt.name].startswith("INVALID")
    assert xmlsec_verify_pinned(xmlsec1, receipts[0], signer_certs[1]).returncode != 0
    assert jdk.verify(signer_certs[0], receipts[0])[receipts[0].name].startswith("INVALID")
    forged_package = _tampered(packages[1], tmp_path)
    assert xmlsec_verify_trusting(xmlsec1, forged_package, ca).returncode != 0
    assert jdk.verify(signer_certs[1], forged_package)[forged_package.name].startswith("INVALID")


@pytest.mark.parametrize("form", ACCEPTED_FORMS)
def test_xml_attributes_inherited_by_signed_info(
    form: str, xmlsec1: str, agency_g22_ec: Issued, dev_ca: Issued, tmp_path: Path
) -> None:
    # Inclusive C14N of SignedInfo renders the xml:lang / xml:space its ancestors
    # carry (C14N 1.0 and 1.1 section 2.4); exclusive C14N does not. xmlsec1 follows
    # the standard, so this checks our canonicalization against it, form by form.
    key, cert = write_credentials(agency_g22_ec, tmp_path / "signer")
    package = build_package().replace(
        b"<edXML xmlns=", b'<edXML xml:lang="vi" xml:space="default" xmlns=', 1
    )
    signed = xmlsec_sign(
        xmlsec1, package, ACCEPTED_FORMS[form], ECDSA_SHA256, key, cert, tmp_path / form
    )
    assert b'xml:lang="vi"' in signed
    assert verify_package(etree.fromstring(signed)).certificate == agency_g22_ec.cert


REPO = Path(__file__).resolve().parents[3]


def test_the_readme_xmlsec1_recipe_signs_a_package_the_axis_accepts(
    xmlsec1: str, agency_g22: Issued, dev_ca: Issued, tmp_path: Path
) -> None:
    # The README's two commands, run as written (with examples/signing/xmlsec-template.xml).
    bash = require_program("bash")
    require_program("sed")
    template = Path("examples") / "signing" / "xmlsec-template.xml"
    (tmp_path / template).parent.mkdir(parents=True)
    (tmp_path / template).write_bytes((REPO / template).read_bytes())
    write_credentials(agency_g22, tmp_path / "g22")  # g22/key.pem, g22/cert.pem
    (tmp_path / "doc.xml").write_bytes(build_package())
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    commands = [
        line
        for line in readme.splitlines()
        if line.startswith(('sed "s|</edXML:edXMLHeader>', "xmlsec1 --sign --privkey-pem"))
    ]
    assert len(commands) == 2, commands
    # The receipt check the README gives is the one xmlsec_verify_pinned runs.
    receipt_check = "xmlsec1 --verify --pubkey-cert-pem home/pki/axis.cert.pem"
    assert f"{receipt_check} --enabled-key-data key-name receipt.xml" in readme
    result = subprocess.run(
        [bash, "-euc", " && ".join(commands)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    signed = (tmp_path / "doc.signed.xml").read_bytes()
    verified = verify_package(etree.fromstring(signed))
    assert verified.certificate == agency_g22.cert
    assert (
        xmlsec_verify_trusting(
            xmlsec1, tmp_path / "doc.signed.xml", _ca_file(dev_ca, tmp_path)
        ).returncode
        == 0
    )


def _ca_file(ca: Issued, work: Path) -> Path:
    path = work / "ca.cert.pem"
    path.write_bytes(cert_to_pem(ca.cert))
    return path
