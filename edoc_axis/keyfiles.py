"""Keys, certificates and CRLs to and from PEM files: the production path loads them here.

The development CA (``edoc_axis.pki``) writes files with these helpers, but
loading a key or a certificate is no business of the CA: the server, the CLI's
agency-facing commands and the endpoint import this module, never ``pki``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes

from edoc_axis.signature import TrustStore

_PEM = serialization.Encoding.PEM


def key_to_pem(key: CertificateIssuerPrivateKeyTypes) -> bytes:
    """Unencrypted PKCS#8 PEM; protect the file by its mode (see ``save_issued``)."""
    return key.private_bytes(_PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def cert_to_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(_PEM)


def crl_to_pem(crl: x509.CertificateRevocationList) -> bytes:
    return crl.public_bytes(_PEM)


def load_key(path: Path | str) -> CertificateIssuerPrivateKeyTypes:
    """An RSA or EC private key from an unencrypted PEM file. Load once, keep it."""
    key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise ValueError(f"{path}: only RSA and EC keys are supported")
    return key


def load_certs(path: Path | str) -> list[x509.Certificate]:
    """Every certificate in a PEM file (a bundle may hold several)."""
    return x509.load_pem_x509_certificates(Path(path).read_bytes())


def load_cert(path: Path | str) -> x509.Certificate:
    """The first certificate of a PEM file."""
    return load_certs(path)[0]


def load_crl(path: Path | str) -> x509.CertificateRevocationList:
    """A CRL from a PEM or DER file."""
    data = Path(path).read_bytes()
    if data.lstrip().startswith(b"-----BEGIN"):
        return x509.load_pem_x509_crl(data)
    return x509.load_der_x509_crl(data)


def load_trust_store(
    anchor_pems: Sequence[Path],
    crl_files: Sequence[Path] = (),
    intermediate_pems: Sequence[Path] = (),
) -> TrustStore:
    """A trust store from PEM certificate bundles and PEM or DER CRLs.

    Here, not in ``signature``: the pure core is given certificates, it reads no files.
    """
    anchors = [cert for path in anchor_pems for cert in load_certs(path)]
    intermediates = [cert for path in intermediate_pems for cert in load_certs(path)]
    return TrustStore(anchors, [load_crl(path) for path in crl_files], intermediates)
