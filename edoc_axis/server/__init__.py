"""The HTTP adapter: aiohttp handlers over the service layer and the store."""

from edoc_axis.server.app import make_http_app

__all__ = ["make_http_app"]
