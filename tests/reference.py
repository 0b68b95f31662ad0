"""Where the tests find the reference material copied into ``tests/data`` (see its README).

The samples and the spec table live in the repository, so a fresh clone runs the
whole suite with nothing skipped.
"""

from __future__ import annotations

from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"
SDK_SAMPLES = DATA / "reference-sdk"
API_SPEC = DATA / "spec" / "API.md"
