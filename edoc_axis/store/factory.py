"""Open the store a configuration names (the PostgreSQL backend plugs in here later)."""

from __future__ import annotations

from edoc_axis.config import AxisConfig
from edoc_axis.files import make_private_folder
from edoc_axis.store.base import Store
from edoc_axis.store.sqlite import SqliteStore


async def open_store(config: AxisConfig) -> Store:
    """An opened store for the configured backend; the caller closes it."""
    if config.store_backend != "sqlite":
        raise ValueError(f"unknown store backend {config.store_backend!r} (supported: sqlite)")
    make_private_folder(config.store_path.parent)
    store = SqliteStore(config.store_path)
    await store.open()
    return store
