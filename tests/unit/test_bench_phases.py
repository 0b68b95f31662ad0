"""The bench names the phase that lost a connection, and where its logs are."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest

from edoc_axis.bench.phases import PhaseFailed, named


async def test_a_lost_connection_names_its_phase_and_the_logs(tmp_path: Path) -> None:
    async def pull_recipient_cut_off() -> None:
        raise aiohttp.ServerDisconnectedError()

    with pytest.raises(PhaseFailed) as failed:
        await named("axis, half rate", pull_recipient_cut_off(), tmp_path)
    message = str(failed.value)
    assert "bench phase 'axis, half rate' lost a connection" in message
    assert "ServerDisconnectedError" in message and str(tmp_path) in message
    assert isinstance(failed.value.__cause__, aiohttp.ServerDisconnectedError)


async def test_a_phase_that_ends_well_gives_its_result(tmp_path: Path) -> None:
    async def phase() -> int:
        return 7

    assert await named("bare ceiling", phase(), tmp_path) == 7
