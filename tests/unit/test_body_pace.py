"""The body pace and the in-flight budget's arithmetic (no clock, no server)."""

from __future__ import annotations

import pytest

from edoc_axis.errors import Unavailable
from edoc_axis.server.bodies import BodyPace, InflightBudget


def test_a_body_may_pause_up_to_the_idle_timeout_then_must_keep_the_rate() -> None:
    pace = BodyPace(idle_timeout_s=15, min_rate_bytes_per_s=8192)
    assert pace.wait_s(0, 0) == 15
    assert pace.wait_s(0, 14) == pytest.approx(1)  # nothing yet: 15 s in all
    assert pace.wait_s(8192 * 100, 50) == 15  # well ahead of the rate: the idle limit rules
    assert pace.wait_s(8192 * 10, 24) == pytest.approx(1)  # 15 s + 10 s of rate, 24 s used
    assert pace.wait_s(10, 16) <= 0  # behind: already too slow


def test_zero_turns_the_checks_off() -> None:
    assert BodyPace(0, 8192).wait_s(0, 10_000) == float("inf")
    assert BodyPace(5, 0).wait_s(0, 10_000) == 5


def test_the_budget_is_shared_but_no_agency_takes_more_than_its_share() -> None:
    budget = InflightBudget(limit=100, per_agency=60)
    a1, a2, b = budget.lease("A"), budget.lease("A"), budget.lease("B")
    a1.take(70)  # alone for its agency: admitted beyond the share
    with pytest.raises(Unavailable, match="share"):
        a2.take(1)
    b.take(30)  # the rest of the budget is B's
    with pytest.raises(Unavailable, match="budget"):
        b.take(1)
    a1.release()
    assert (budget.used, budget.by_agency) == (30, {"B": 30})
    a2.take(60)
    b.release()
    a2.release()
    assert (budget.used, budget.by_agency) == (0, {})
