"""Examination slots: an agency's bodies wait only for its own, at N and N+1."""

from __future__ import annotations

import asyncio

import pytest

from edoc_axis.server.fairness import ExaminationSlots


async def test_an_agency_gets_n_slots_and_its_next_request_waits() -> None:
    slots = ExaminationSlots(2)
    release = asyncio.Event()
    entered: list[str] = []

    async def examine(agency: str, tag: str) -> None:
        async with slots.slot(agency):
            entered.append(tag)
            await release.wait()

    tasks = [asyncio.create_task(examine("A", f"a{i}")) for i in range(3)]
    await asyncio.sleep(0.01)
    assert entered == ["a0", "a1"]  # N run, N+1 waits
    other = asyncio.create_task(examine("B", "b0"))
    await asyncio.sleep(0.01)
    assert entered == ["a0", "a1", "b0"]  # another agency does not wait for A
    assert slots.busy("A") == 3 and slots.busy("B") == 1
    release.set()
    await asyncio.gather(*tasks, other)
    assert sorted(entered) == ["a0", "a1", "a2", "b0"]
    assert slots.busy("A") == 0 and slots._gates == {}  # idle agencies are forgotten


async def test_a_failed_examination_frees_its_slot() -> None:
    slots = ExaminationSlots(1)
    with pytest.raises(RuntimeError):
        async with slots.slot("A"):
            raise RuntimeError("refused")
    async with asyncio.timeout(1):
        async with slots.slot("A"):
            pass


def test_at_least_one_slot() -> None:
    with pytest.raises(ValueError):
        ExaminationSlots(0)
