"""Contract: the agency registry (codes, aliases, certificates, tokens)."""

from __future__ import annotations

import pytest

from edoc_axis.errors import EdocError, NotFound
from edoc_axis.store import AgencyExists, NewAgency, Store
from tests.integration.store.conftest import ENDPOINT, PULL, PUSH, SENDER, T0, at, register


async def test_agency_is_found_by_code_and_every_alias(agencies: Store) -> None:
    for code in (SENDER, "G01.00.00", "28.22.H17"):
        agency = await agencies.get_agency(code)
        assert agency is not None
        assert agency.code == SENDER
    agency = await agencies.get_agency(SENDER)
    assert agency is not None
    assert agency.alias_codes == ("28.22.H17", "G01.00.00")
    assert agency.state == "active"
    assert agency.delivery_mode == "pull"
    assert agency.created_at == T0
    assert agency.certificate_fingerprints == (f"fp-{SENDER}",)
    assert await agencies.get_agency("000.00.00.X99") is None


async def test_list_agencies_by_code(agencies: Store) -> None:
    listed = await agencies.list_agencies()
    assert [a.code for a in listed] == [SENDER, PULL, PUSH]
    assert listed[2].endpoint_url == ENDPOINT


@pytest.mark.parametrize(
    ("code", "aliases", "fingerprint"),
    [
        (SENDER, (), "fp-new"),  # canonical code taken
        ("000.00.00.G77", ("28.22.H17",), "fp-new"),  # alias taken
        ("28.22.H17", (), "fp-new"),  # code is someone's alias
        ("000.00.00.G77", (), f"fp-{PULL}"),  # certificate taken
    ],
)
async def test_taken_code_alias_or_certificate_is_refused_whole(
    agencies: Store, code: str, aliases: tuple[str, ...], fingerprint: str
) -> None:
    new = NewAgency(code, "Clash", aliases, "pull", None)
    with pytest.raises(AgencyExists) as caught:
        await agencies.create_agency(new, "token-hash-clash", [(fingerprint, b"PEM")], T0)
    assert isinstance(caught.value, ValueError)
    assert isinstance(caught.value, EdocError)
    assert (caught.value.code, caught.value.http_status) == ("agency.exists", 409)
    assert await agencies.get_agency("000.00.00.G77") is None
    assert await agencies.agency_for_token("token-hash-clash") is None
    assert len(await agencies.list_agencies()) == 3


async def test_push_agency_needs_an_endpoint(store: Store) -> None:
    with pytest.raises(ValueError, match="endpoint"):
        await store.create_agency(NewAgency("000.00.00.G09", "P", (), "push", None), "h", [], T0)
    assert await store.get_agency("000.00.00.G09") is None


async def test_disable_keeps_token_lookup_for_the_caller_to_judge(agencies: Store) -> None:
    disabled = await agencies.set_agency_state("28.22.H17", "disabled", at=at(1))
    assert (disabled.code, disabled.state) == (SENDER, "disabled")
    found = await agencies.agency_for_token(f"token-hash-{SENDER}")
    assert found is not None
    assert found.state == "disabled"
    again = await agencies.set_agency_state(SENDER, "active", at=at(2))
    assert again.state == "active"
    with pytest.raises(NotFound):
        await agencies.set_agency_state("000.00.00.X99", "disabled", at=at(3))


async def test_update_endpoint(agencies: Store) -> None:
    changed = await agencies.update_endpoint(PULL, "push", "https://g02.test/in", at=at(1))
    assert (changed.delivery_mode, changed.endpoint_url) == ("push", "https://g02.test/in")
    back = await agencies.update_endpoint(PULL, "pull", None, at=at(2))
    assert (back.delivery_mode, back.endpoint_url) == ("pull", None)
    with pytest.raises(ValueError, match="endpoint"):
        await agencies.update_endpoint(PULL, "push", None, at=at(3))


async def test_certificates_map_to_one_agency(agencies: Store) -> None:
    await agencies.add_certificate("G01.00.00", "fp-second", b"PEM2", at=at(1))
    owner = await agencies.agency_for_certificate("fp-second")
    assert owner is not None
    assert owner.code == SENDER
    assert owner.certificate_fingerprints == (f"fp-{SENDER}", "fp-second")
    assert await agencies.certificate_pem("fp-second") == b"PEM2"
    with pytest.raises(AgencyExists):
        await agencies.add_certificate(PULL, "fp-second", b"PEM2", at=at(2))
    with pytest.raises(NotFound):
        await agencies.remove_certificate(PULL, "fp-second", at=at(3))
    await agencies.remove_certificate(SENDER, "fp-second", at=at(4))
    assert await agencies.agency_for_certificate("fp-second") is None
    assert await agencies.certificate_pem("fp-second") is None


async def test_rotate_revokes_every_earlier_token(store: Store) -> None:
    await register(store, SENDER)
    await store.rotate_token(SENDER, "hash-2", at(1))
    await store.rotate_token(SENDER, "hash-3", at(2))
    assert await store.agency_for_token(f"token-hash-{SENDER}") is None
    assert await store.agency_for_token("hash-2") is None
    found = await store.agency_for_token("hash-3")
    assert found is not None
    assert found.code == SENDER
    with pytest.raises(ValueError):
        await store.rotate_token(SENDER, "hash-2", at(3))  # a revoked hash is not reissued
    assert await store.agency_for_token("hash-3") is not None  # the failed rotation left no trace
    await store.revoke_tokens(SENDER, at(4))
    assert await store.agency_for_token("hash-3") is None
    with pytest.raises(NotFound):
        await store.revoke_tokens("000.00.00.X99", at(5))
