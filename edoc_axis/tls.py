"""TLS contexts for the axis, its clients, the reference endpoint and push delivery.

One place builds every ``ssl.SSLContext`` so the same choices hold everywhere:
TLS 1.2 at least, certificates verified against the system store or a given CA
bundle, host names checked. The server asks for a client certificate only when
``tls_client_ca`` is set, and then optionally: bearer tokens keep working, and
a client certificate registered to an agency authenticates that agency.
"""

from __future__ import annotations

import hashlib
import ssl
from pathlib import Path
from typing import Any


class TlsSettingsError(ValueError):
    """A certificate, key or CA file that cannot be used (named in the message)."""


def _load_chain(context: ssl.SSLContext, cert: Path, key: Path, what: str) -> None:
    try:
        context.load_cert_chain(certfile=str(cert), keyfile=str(key))
    except FileNotFoundError as exc:
        raise TlsSettingsError(f"{what}: no such file {exc.filename}") from exc
    except (ssl.SSLError, OSError) as exc:
        raise TlsSettingsError(
            f"{what}: {cert} / {key} do not load as a certificate and its key: {exc}"
        ) from exc


def _load_ca(context: ssl.SSLContext, cafile: Path, what: str) -> None:
    try:
        context.load_verify_locations(cafile=str(cafile))
    except FileNotFoundError as exc:
        raise TlsSettingsError(f"{what}: no such file {cafile}") from exc
    except (ssl.SSLError, OSError) as exc:
        raise TlsSettingsError(
            f"{what}: {cafile} does not load as PEM certificates: {exc}"
        ) from exc


def server_context(cert: Path, key: Path, client_ca: Path | None = None) -> ssl.SSLContext:
    """The axis's (or endpoint's) server context; ``client_ca`` asks for client certificates.

    A client certificate is optional (``CERT_OPTIONAL``): one that is presented
    must chain to ``client_ca``, and the application decides what it means.
    """
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    _load_chain(context, cert, key, "tls_cert/tls_key")
    if client_ca is not None:
        _load_ca(context, client_ca, "tls_client_ca")
        context.verify_mode = ssl.CERT_OPTIONAL
    return context


def client_context(
    cafile: Path | None = None,
    client_cert: Path | None = None,
    client_key: Path | None = None,
) -> ssl.SSLContext:
    """A verifying client context: the system CAs, or only ``cafile`` when given."""
    if (client_cert is None) != (client_key is None):
        raise TlsSettingsError("--client-cert and --client-key go together")
    if cafile is None:
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    else:  # only this bundle: no system CAs loaded
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        _load_ca(context, cafile, "--cacert")
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if client_cert is not None and client_key is not None:
        _load_chain(context, client_cert, client_key, "--client-cert/--client-key")
    return context


def peer_certificate_fingerprint(transport: Any) -> str | None:
    """SHA-256 (hex) of the client certificate the TLS peer presented, if any."""
    if transport is None:
        return None
    ssl_object = transport.get_extra_info("ssl_object")
    if ssl_object is None:
        return None
    der = ssl_object.getpeercert(binary_form=True)
    return None if not der else hashlib.sha256(der).hexdigest()
