"""The VDXP shared secrets, sealed at rest.

A VDXP client proves itself with HMAC-SHA256 under a secret the axis must
know, so a one-way hash (as for bearer tokens) cannot be stored. Each secret
is sealed with AES-256-GCM under a key kept in its own file (``[vdxp]
secret_key_file``, created 0600 next to axis.toml), with the system id as
associated data: a copy of the database alone reveals no secret, and a sealed
secret moved to another system's row does not open.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_KEY_BYTES = 32
_NONCE_BYTES = 12
_VERSION = b"\x01"


class SecretKeyMissing(RuntimeError):
    """The VDXP secret key file does not exist (no system was ever registered)."""


def new_secret() -> str:
    """A fresh shared secret: 256 random bits, URL-safe text the integrator pastes."""
    return secrets.token_urlsafe(32)


def create_key_file(path: Path) -> bytes:
    """Make the key file (0600) unless it exists; return the key either way."""
    if path.exists():
        return read_key_file(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    key = AESGCM.generate_key(bit_length=_KEY_BYTES * 8)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key.hex().encode() + b"\n")
    return key


def read_key_file(path: Path) -> bytes:
    if not path.exists():
        raise SecretKeyMissing(f"no VDXP secret key file at {path}")
    key = bytes.fromhex(path.read_text(encoding="ascii").strip())
    if len(key) != _KEY_BYTES:
        raise ValueError(f"{path}: a VDXP secret key is {_KEY_BYTES} bytes of hex")
    return key


class SecretBox:
    """Seals and opens system secrets under one key."""

    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    def seal(self, system_id: str, secret: str) -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, secret.encode(), system_id.encode())
        return _VERSION + nonce + sealed

    def open(self, system_id: str, sealed: bytes) -> str | None:
        """The secret, or None if it was not sealed for this system under this key."""
        if len(sealed) <= 1 + _NONCE_BYTES or sealed[:1] != _VERSION:
            return None
        nonce, body = sealed[1 : 1 + _NONCE_BYTES], sealed[1 + _NONCE_BYTES :]
        try:
            return self._aead.decrypt(nonce, body, system_id.encode()).decode()
        except InvalidTag:
            return None
