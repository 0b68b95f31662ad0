"""Registering VDXP systems: a fresh secret, sealed before it reaches the store."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from edoc_axis.store import Store, VdxpSystem
from edoc_axis.system_secrets import SecretBox, create_key_file, new_secret

# Tenant ids (vxp.saas.03) and agency codes (000.00.00.G22) alike; nothing that
# would need quoting in a header or a log line.
_SYSTEM_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,127}$")


def check_system_id(system_id: str) -> None:
    if not _SYSTEM_ID.match(system_id):
        raise ValueError(f"system id {system_id!r} must be 1-128 letters, digits, '.', '_' or '-'")


async def register_system(
    store: Store, key_file: Path, system_id: str, agencies: Sequence[str], at: datetime
) -> tuple[VdxpSystem, str]:
    """Register a system bound to ``agencies``; returns it and its secret (shown once)."""
    check_system_id(system_id)
    secret = new_secret()
    box = SecretBox(create_key_file(key_file))
    system = await store.create_system(system_id, agencies, box.seal(system_id, secret), at)
    return system, secret


async def rotate_system_secret(
    store: Store, key_file: Path, system_id: str, at: datetime
) -> tuple[VdxpSystem, str]:
    """Give the system a new secret; the old one stops working at once."""
    secret = new_secret()
    box = SecretBox(create_key_file(key_file))
    system = await store.set_system_secret(system_id, box.seal(system_id, secret), at)
    return system, secret


def system_json(system: VdxpSystem) -> dict[str, Any]:
    """A system as the operator sees it: never its secret, sealed or not."""
    return {
        "system_id": system.system_id,
        "state": system.state,
        "agencies": list(system.agencies),
        "created_at": system.created_at.isoformat(),
        "secret_set_at": system.secret_set_at.isoformat(),
    }
