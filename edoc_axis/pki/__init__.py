"""Development PKI: a local CA, agency and axis certificates, CRLs, PEM files."""

# The PEM helpers live in keyfiles; re-exported for dev tooling that already imports pki.
from edoc_axis.keyfiles import (
    cert_to_pem,
    crl_to_pem,
    key_to_pem,
    load_cert,
    load_certs,
    load_crl,
    load_key,
)
from edoc_axis.pki.authority import (
    Issued,
    KeyType,
    create_ca,
    issue_axis_certificate,
    issue_certificate,
    issue_server_certificate,
    make_crl,
)
from edoc_axis.pki.files import save_issued

__all__ = [
    "Issued",
    "KeyType",
    "cert_to_pem",
    "create_ca",
    "crl_to_pem",
    "issue_axis_certificate",
    "issue_certificate",
    "issue_server_certificate",
    "key_to_pem",
    "load_cert",
    "load_certs",
    "load_crl",
    "load_key",
    "make_crl",
    "save_issued",
]
