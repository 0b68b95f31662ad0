"""Small bodies are examined on the event loop, larger ones on the worker pool.

Both ways run the same examination: the same acceptances, the same refusals.
``[limits] inline_examination_bytes`` sets the size; 0 sends every body to the
workers. The pool is a real ThreadPoolExecutor that counts what it is given.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from edoc_axis.config import load_config
from edoc_axis.edxml import Attachment
from edoc_axis.home import init_home
from tests.integration.server.conftest import ConfigTweak, RunningAxis, with_limits

G22, H49 = "000.00.00.G22", "000.00.00.H49"
THRESHOLD = 30_000


class CountingPool(ThreadPoolExecutor):
    """A worker pool that counts the examinations handed to it."""

    def __init__(self) -> None:
        super().__init__(max_workers=2, thread_name_prefix="verify-test")
        self.submitted = 0

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        self.submitted += 1
        return super().submit(fn, *args, **kwargs)


@pytest.fixture
def config_tweak() -> ConfigTweak:
    return with_limits(inline_examination_bytes=THRESHOLD, rate_per_s=0)


@pytest.fixture
def pool(axis: RunningAxis) -> Iterator[CountingPool]:
    counting = CountingPool()
    original, axis.services.executor = axis.services.executor, counting
    yield counting
    axis.services.executor = original
    counting.shutdown(wait=True)


def _big_attachment() -> list[Attachment]:
    return [Attachment.from_bytes("cid:1", "big.bin", b"\x01" * THRESHOLD)]


async def test_a_small_body_is_examined_without_the_pool_a_large_one_with_it(
    axis: RunningAxis, pool: CountingPool
) -> None:
    sender = await axis.register(G22)
    await axis.register(H49)
    small = axis.signed(sender, [H49])
    assert len(small) <= THRESHOLD
    accepted = await axis.submit(small, sender)
    assert accepted.status == 202, accepted.body
    assert pool.submitted == 0

    large = axis.signed(sender, [H49], attachments=_big_attachment())
    assert len(large) > THRESHOLD
    accepted = await axis.submit(large, sender)
    assert accepted.status == 202, accepted.body
    assert pool.submitted == 1
    inbox = await axis.store.inbox(H49, limit=5)
    assert len(inbox.items) == 2


async def test_refusals_are_the_same_either_way(axis: RunningAxis, pool: CountingPool) -> None:
    sender = await axis.register(G22)
    await axis.register(H49)
    small_unsigned = axis.document(sender, [H49])
    large_unsigned = axis.document(sender, [H49], attachments=_big_attachment())
    tampered = axis.signed(sender, [H49]).replace(b"V/v th", b"V/v TH", 1)
    answers = [await axis.submit(raw, sender) for raw in (small_unsigned, large_unsigned, tampered)]
    assert [(a.status, a.code) for a in answers] == [
        (422, "signature.missing"),
        (422, "signature.missing"),
        (422, "signature.invalid"),
    ]
    assert pool.submitted == 1  # only the large one
    assert (await axis.store.inbox(H49, limit=5)).items == ()


def test_the_setting_is_read_and_checked(tmp_path: Path) -> None:
    home = init_home(tmp_path / "home")
    assert load_config(home.config).limits.inline_examination_bytes == 16384
    text = home.config.read_text(encoding="utf-8")
    home.config.write_text(
        text.replace("inline_examination_bytes = 16384", "inline_examination_bytes = 0"),
        encoding="utf-8",
    )
    assert load_config(home.config).limits.inline_examination_bytes == 0
    home.config.write_text(
        text.replace("inline_examination_bytes = 16384", "inline_examination_bytes = -1"),
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match="inline_examination_bytes"):
        load_config(home.config)
