"""Conformance tests: the catalogue against our own axis and endpoint, a broken axis, the CLI.

Helpers: ``running_axis(root)`` starts the whole axis in-process (``AxisRuntime``
on a fresh ``init_home`` home, port 0, a small body limit so the size case is
quick) and yields its URL and configuration; ``run_catalogue(url, config)``
registers the suite's agencies with ``--setup``'s code and runs every axis case.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from edoc_axis.config import AxisConfig, load_config
from edoc_axis.conformance import (
    Outcome,
    Result,
    RunContext,
    axis_catalogue,
    run_cases,
    set_up,
)
from edoc_axis.home import init_home
from edoc_axis.runtime import AxisRuntime
from edoc_axis.store.factory import open_store

SMALL_BODY_LIMIT = 256 * 1024
CONFORMANCE_AXIS_NAME = "edoc-axis-conformance"


def small_limit_home(root: Path) -> Path:
    """An ``init_home`` home with a small body limit (the 413 case streams limit+1 bytes)."""
    # A name a relay path can carry (FED-002 puts it on one); the default
    # "edoc-axis (development)" cannot be.
    home = init_home(root, axis_name=CONFORMANCE_AXIS_NAME)
    text = home.config.read_text(encoding="utf-8")
    text = text.replace("max_body_bytes = 67108864", f"max_body_bytes = {SMALL_BODY_LIMIT}")
    # Short connection timeouts, so that ROBUST-103/104 see them act within seconds.
    text = text.replace("header_timeout_s = 10.0", "header_timeout_s = 1.0")
    text = text.replace("body_idle_timeout_s = 15.0", "body_idle_timeout_s = 1.0")
    home.config.write_text(text, encoding="utf-8")
    return home.config


@asynccontextmanager
async def running_axis(root: Path) -> AsyncIterator[tuple[str, AxisConfig]]:
    """Our axis, in-process on port 0, over a real SQLite file."""
    config = load_config(small_limit_home(root))
    store = await open_store(config)
    runtime = AxisRuntime(config, store)
    try:
        url = await runtime.start(port=0)
        yield url, config
    finally:
        await runtime.stop()
        await store.close()


async def run_catalogue(url: str, config: AxisConfig) -> list[Result]:
    target = await set_up(url, config)
    async with RunContext(target) as ctx:
        return await run_cases(axis_catalogue(), ctx, timeout_s=30)


def failed_ids(results: list[Result]) -> set[str]:
    return {r.case.id for r in results if r.outcome is Outcome.FAIL}


def explain(results: list[Result]) -> str:
    """The non-passing results, for assertion messages."""
    return "\n".join(
        f"{r.case.id} {r.outcome}: {r.detail}" for r in results if r.outcome is not Outcome.PASS
    )


async def run_vdxp_catalogue(url: str, config: AxisConfig) -> list[Result]:
    """--vdxp --setup: the suite's agencies, a VDXP system for two of them, every VDXP case."""
    from edoc_axis.conformance.runner import vdxp_catalogue
    from edoc_axis.conformance.vdxp_context import VdxpRunContext, register_systems

    target = await set_up(url, config)
    systems = await register_systems(url, config.operator_token(), target)
    async with VdxpRunContext(target, systems, prefix=config.vdxp.path_prefix) as ctx:
        return await run_cases(vdxp_catalogue(), ctx, timeout_s=30)
