"""Open the store a configuration names: SQLite (the default) or PostgreSQL."""

from __future__ import annotations

from edoc_axis.config import DSN_ENV, AxisConfig
from edoc_axis.errors import EdocError
from edoc_axis.files import make_private_folder
from edoc_axis.store.base import Store
from edoc_axis.store.sqlite import SqliteStore


class StoreConfigInvalid(EdocError, ValueError):
    """The [store] section names no usable store (a one-line CLI error, not a traceback)."""

    code, http_status, title = "config.invalid", 500, "Invalid store configuration"


def make_store(config: AxisConfig, *, migrate: bool = False) -> Store:
    """The configured store, not yet opened.

    ``migrate=False`` (serve, operator commands) refuses a store whose schema
    is behind; a new SQLite file is still created whole, so `init` and the
    demo need no extra step.
    """
    if config.store_backend == "postgresql":
        if not config.store_dsn:
            raise StoreConfigInvalid(
                f'[store] backend = "postgresql" needs dsn = "..." in the config or {DSN_ENV}'
            )
        from edoc_axis.store.postgresql import PostgresStore  # asyncpg: the postgres extra

        return PostgresStore(
            config.store_dsn,
            min_size=config.store_pool_min,
            max_size=config.store_pool_max,
            migrate=migrate,
        )
    if config.store_backend != "sqlite":
        raise StoreConfigInvalid(
            f"unknown store backend {config.store_backend!r} (supported: sqlite, postgresql)"
        )
    make_private_folder(config.store_path.parent)
    return SqliteStore(config.store_path, migrate=migrate)


async def open_store(config: AxisConfig, *, migrate: bool = False) -> Store:
    """An opened store for the configured backend; the caller closes it."""
    store = make_store(config, migrate=migrate)
    await store.open()
    return store
