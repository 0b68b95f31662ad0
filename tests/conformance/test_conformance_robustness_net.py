"""The ROBUST-1xx cases catch what they name: an axis that takes unsigned statuses fails them."""

from __future__ import annotations

from pathlib import Path

from edoc_axis.config import load_config
from edoc_axis.conformance import RunContext, run_cases, set_up
from edoc_axis.conformance.runner import axis_catalogue, select
from edoc_axis.runtime import AxisRuntime
from edoc_axis.store.factory import open_store
from tests.conformance import explain, failed_ids, small_limit_home


async def test_an_axis_taking_unsigned_final_statuses_fails_exactly_those_cases(
    tmp_path: Path,
) -> None:
    path = small_limit_home(tmp_path / "home")
    text = path.read_text(encoding="utf-8")
    policy = 'require_signed_statuses = ["02", "06", "13", "15", "16"]'
    assert policy in text
    path.write_text(text.replace(policy, "require_signed_statuses = false"), encoding="utf-8")
    config = load_config(path)
    store = await open_store(config)
    runtime = AxisRuntime(config, store)
    try:
        url = await runtime.start(port=0)
        target = await set_up(url, config)
        async with RunContext(target) as ctx:
            results = await run_cases(select(axis_catalogue(), ["ROBUST-1*"]), ctx, timeout_s=30)
    finally:
        await runtime.stop()
        await store.close()
    assert len(results) == 9
    assert failed_ids(results) == {"ROBUST-107", "ROBUST-108", "ROBUST-109"}, explain(results)
