"""External programs and servers some tests need (javac, xmlsec1, PostgreSQL, a browser).

On a user's machine a missing one skips its tests with the reason. Under CI,
``.ci/run`` sets ``EDOC_TEST_REQUIRE_ALL=1`` and a missing one fails them instead,
so CI never turns green on tests that did not run.
"""

from __future__ import annotations

import os
import shutil
from typing import NoReturn

import pytest


def required_by_ci() -> bool:
    return os.environ.get("EDOC_TEST_REQUIRE_ALL") == "1"


def unavailable(reason: str) -> NoReturn:
    """Skip (or, under CI, fail) the calling test because something it needs is missing."""
    if required_by_ci():
        pytest.fail(f"EDOC_TEST_REQUIRE_ALL=1 and {reason}", pytrace=False)
    pytest.skip(reason)


def require_program(name: str) -> str:
    """The path of program ``name``, or skip/fail the test with a clear reason."""
    path = shutil.which(name)
    if path is None:
        unavailable(f"{name} is not installed (not found on PATH)")
    return path
