"""The VDXP catalogue (`edoc-axis conformance --vdxp`) against our own axis: all of it passes."""

from __future__ import annotations

import re
from pathlib import Path

from edoc_axis.conformance import Outcome
from edoc_axis.conformance.runner import vdxp_catalogue
from tests.conformance import explain, run_vdxp_catalogue, running_axis

DOCS = Path(__file__).resolve().parents[2] / "docs" / "conformance.md"


def test_at_least_twenty_vdxp_cases_documented_with_their_clause() -> None:
    cases = vdxp_catalogue()
    assert len(cases) >= 20
    assert len({c.id for c in cases}) == len(cases)
    text = DOCS.read_text(encoding="utf-8")
    for case in cases:
        assert re.fullmatch(r"VDXP-\d{3}", case.id)
        row = next((line for line in text.splitlines() if f"| {case.id} |" in line), None)
        assert row is not None, case.id
        assert case.clause in row, case.id
        assert ("required" if case.required else "optional") in row, case.id


async def test_every_vdxp_case_passes_against_our_axis(tmp_path: Path) -> None:
    async with running_axis(tmp_path / "home") as (url, config):
        results = await run_vdxp_catalogue(url, config)
    assert len(results) >= 20
    assert all(r.outcome is Outcome.PASS for r in results), explain(results)


async def test_the_vdxp_cases_catch_an_axis_that_skips_the_hmac(tmp_path: Path) -> None:
    """An axis that takes any hash-header as valid fails exactly the secret cases."""
    from unittest import mock

    import edoc_axis.core.vdxp_auth as auth

    real = auth.hmac.compare_digest

    def lenient(a: bytes | str, b: bytes | str) -> bool:
        return True if len(a) == 64 else real(a, b)  # type: ignore[arg-type]

    with mock.patch.object(auth.hmac, "compare_digest", lenient):
        async with running_axis(tmp_path / "home") as (url, config):
            results = await run_vdxp_catalogue(url, config)
    failed = {r.case.id for r in results if r.outcome is Outcome.FAIL}
    assert failed == {"VDXP-016"}, explain(results)
