"""Store contract: named operators, their token hashes and the audit of their changes."""

from __future__ import annotations

import pytest

from edoc_axis.errors import NotFound
from edoc_axis.store import OperatorExists, Store
from tests.integration.store.conftest import at, sha


async def _events(store: Store) -> list[tuple[str, object]]:
    return [
        (e.event, e.detail.get("name"))
        async for e in store.iter_audit()
        if e.event.startswith("operator.")
    ]


async def test_operators_are_added_found_by_token_listed_and_removed(store: Store) -> None:
    lan = await store.create_operator("lan", sha(b"lan-token"), at(0))
    assert lan.name == "lan" and lan.created_at == at(0)
    await store.create_operator("an.nguyen@monitor", sha(b"an-token"), at(1))
    assert [o.name for o in await store.list_operators()] == ["an.nguyen@monitor", "lan"]
    assert await store.operator_for_token(sha(b"lan-token")) == lan
    assert await store.operator_for_token(sha(b"nobody")) is None

    await store.remove_operator("lan", at(2))
    assert await store.operator_for_token(sha(b"lan-token")) is None
    assert [o.name for o in await store.list_operators()] == ["an.nguyen@monitor"]
    with pytest.raises(NotFound):
        await store.remove_operator("lan", at(3))
    assert await _events(store) == [
        ("operator.added", "lan"),
        ("operator.added", "an.nguyen@monitor"),
        ("operator.removed", "lan"),
    ]
    assert (await store.verify_audit()).ok


async def test_a_taken_name_or_token_hash_is_refused_and_nothing_is_written(store: Store) -> None:
    await store.create_operator("lan", sha(b"one"), at(0))
    with pytest.raises(OperatorExists):
        await store.create_operator("lan", sha(b"two"), at(1))
    with pytest.raises(OperatorExists):
        await store.create_operator("mai", sha(b"one"), at(1))
    assert [o.name for o in await store.list_operators()] == ["lan"]
    assert await store.operator_for_token(sha(b"two")) is None
    assert await _events(store) == [("operator.added", "lan")]
    # a name may be used again once its operator is gone, with a new token
    await store.remove_operator("lan", at(2))
    await store.create_operator("lan", sha(b"three"), at(3))
    assert (await store.operator_for_token(sha(b"three"))) is not None
