"""Laying out an axis home (`edoc-axis init`): config, PKI, store, operator token."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from edoc_axis.config import CONFIG_TEMPLATE, DEFAULT_CONFIG_NAME, TLS_OFF, TLS_ON
from edoc_axis.files import PRIVATE_FILE_MODE, make_private_folder
from edoc_axis.pki import (
    create_ca,
    crl_to_pem,
    issue_axis_certificate,
    issue_server_certificate,
    make_crl,
    save_issued,
)


class HomeExists(Exception):
    """`init` never overwrites an existing home."""


@dataclass(frozen=True)
class Home:
    root: Path
    config: Path
    operator_token: str


def _write_private(path: Path, data: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    os.fchmod(fd, PRIVATE_FILE_MODE)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(data)


def init_home(
    root: Path, *, axis_name: str = "edoc-axis (development)", port: int = 8080, tls: bool = False
) -> Home:
    """Create a working axis home in ``root``; refuse if anything is already there.

    With ``tls`` the home also gets a development server certificate for
    127.0.0.1 and localhost from its CA (``pki/tls.*``), and serves HTTPS.
    """
    if root.exists() and any(root.iterdir()):
        raise HomeExists(f"{root} exists and is not empty; refusing to overwrite")
    pki_dir, store_dir = root / "pki", root / "store"
    make_private_folder(pki_dir)  # the home too, when it is new
    make_private_folder(store_dir)
    ca = create_ca()
    save_issued(ca, pki_dir / "ca.key.pem", pki_dir / "ca.cert.pem")
    (pki_dir / "ca.crl.pem").write_bytes(crl_to_pem(make_crl(ca, [])))
    axis = issue_axis_certificate(ca, axis_name)
    save_issued(axis, pki_dir / "axis.key.pem", pki_dir / "axis.cert.pem")
    if tls:
        server = issue_server_certificate(ca)
        save_issued(server, pki_dir / "tls.key.pem", pki_dir / "tls.cert.pem")
    token = "op_" + secrets.token_urlsafe(32)
    _write_private(root / "operator.token", token + "\n")
    config = root / DEFAULT_CONFIG_NAME
    text = CONFIG_TEMPLATE.format(axis_name=axis_name, port=port, tls=TLS_ON if tls else TLS_OFF)
    config.write_text(text, encoding="utf-8")
    return Home(root=root, config=config, operator_token=token)
