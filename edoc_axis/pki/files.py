"""PEM encoding and the only place the development CA touches the disk."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes

from edoc_axis.files import make_private_folder
from edoc_axis.pki.authority import Issued

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


def save_issued(issued: Issued, key_path: Path | str, cert_path: Path | str) -> None:
    """Write the key (mode 0600, never readable by others at any moment) and the cert."""
    _write_private(Path(key_path), key_to_pem(issued.key))
    Path(cert_path).write_bytes(cert_to_pem(issued.cert))


def _write_private(path: Path, data: bytes) -> None:
    # mkstemp creates the file 0600, so the key is never briefly world-readable;
    # the rename makes the write atomic.
    make_private_folder(path.parent)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
