"""Rate buckets shared by the processes of one serve: one file, any process, one bucket."""

from __future__ import annotations

from pathlib import Path

import pytest
from structlog.testing import capture_logs

from edoc_axis.core.ratelimit import RateLimiter
from edoc_axis.server.run_dir import RUN_DIR
from edoc_axis.server.shared_rates import SharedRateLimiter, rate_limiter

T0 = 1_800_000_000.0


def test_two_processes_draw_on_one_bucket(tmp_path: Path) -> None:
    # Two mappings of one file, as two worker processes have (each its own descriptor).
    first = SharedRateLimiter(tmp_path / "rates", rate_per_s=0.5, burst=3)
    second = SharedRateLimiter(tmp_path / "rates", rate_per_s=0.5, burst=3)
    taken = [first.take("G22", T0), second.take("G22", T0), first.take("G22", T0)]
    assert [d.allowed for d in taken] == [True, True, True]
    refused = second.take("G22", T0)
    assert not refused.allowed and refused.retry_after_s == 2  # one token at 0.5/s
    assert not first.take("G22", T0 + 1).allowed  # half a token so far
    assert second.take("G22", T0 + 2).allowed
    assert first.take("H49", T0 + 2).allowed  # another agency, another bucket
    first.close()
    second.close()


def test_many_agencies_each_have_their_own_bucket(tmp_path: Path) -> None:
    limiter = SharedRateLimiter(tmp_path / "rates", rate_per_s=0.001, burst=1)
    codes = [f"000.00.{n // 100:02d}.G{n % 100:02d}" for n in range(3000)]
    assert all(limiter.take(code, T0).allowed for code in codes)
    assert not any(limiter.take(code, T0).allowed for code in codes)
    limiter.close()


def test_a_full_table_limits_further_agencies_in_this_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(SharedRateLimiter, "SLOTS", 4)
    limiter = SharedRateLimiter(tmp_path / "rates", rate_per_s=0.001, burst=1)
    for code in "ABCD":
        assert limiter.take(code, T0).allowed
    with capture_logs() as logs:
        assert limiter.take("E", T0).allowed
        assert not limiter.take("E", T0).allowed  # still limited, by this process's bucket
    assert [e["event"] for e in logs] == ["ratelimit.table_full"] * 2
    limiter.close()


def test_no_limit_when_the_rate_is_zero(tmp_path: Path) -> None:
    limiter = SharedRateLimiter(tmp_path / "rates", rate_per_s=0.0, burst=0)
    assert all(limiter.take("G22", T0).allowed for _ in range(100))
    limiter.close()


def test_one_process_keeps_its_buckets_in_memory_and_several_share_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(RUN_DIR, raising=False)
    assert isinstance(rate_limiter(50.0, 200.0, "agency-rates"), RateLimiter)
    monkeypatch.setenv(RUN_DIR, str(tmp_path))
    shared = rate_limiter(50.0, 200.0, "agency-rates")
    assert isinstance(shared, SharedRateLimiter)
    assert (tmp_path / "agency-rates").stat().st_size == SharedRateLimiter.SLOTS * 32
    assert (tmp_path / "agency-rates").stat().st_mode & 0o777 == 0o600
    shared.close()
