"""The HTTP adapter: aiohttp handlers over the pure core and the store."""

from edoc_axis.server.app import make_app

__all__ = ["make_app"]
