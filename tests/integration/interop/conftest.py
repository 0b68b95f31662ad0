"""The real axis of the server tests (``axis``), for the interoperability matrix."""

from tests.integration.server.conftest import axis, config_tweak

__all__ = ["axis", "config_tweak"]
