"""The agency registry held in memory, refreshed when it changes.

Intake reads the registry three or more times per document (the token, the
sender, each recipient, the signing certificate's owner); answering those
from a store connection costs a thread hop or a round trip each. Both
backends instead answer them from a ``RegistrySnapshot``: every agency with
its codes, aliases, live token hashes and certificate fingerprints.

The snapshot is kept current by the store's registry version, a counter that
migration 0007 bumps by trigger in the same transaction as every change to
agencies, their codes, certificates or tokens, whoever makes it (this
process, another ``serve --processes`` worker, another node, ``edoc-axis``
commands):

- a registry write made through this store object marks the snapshot stale
  at once, so this process sees its own changes immediately;
- otherwise the version is read again when the snapshot was last checked
  more than ``max_age_s`` ago (0.5 s), and the registry reloaded when it
  moved. A disabled agency, a revoked token or a removed certificate stops
  working in every process within that bound;
- a miss (no such token, code or fingerprint) is checked against the version
  before it is answered, so an agency registered elsewhere is known at once.

One version read at a time: concurrent callers wait for the one under way.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from edoc_axis.store import codec
from edoc_axis.store.codec import Decoder, Row
from edoc_axis.store.records import Agency

# How stale an answer may be about a change made by another process or node.
REGISTRY_MAX_AGE_S = 0.5


@dataclass(frozen=True, slots=True)
class RegistrySnapshot:
    """The registry at one version: everything the registry reads answer from."""

    version: int
    agencies: dict[str, Agency]  # by canonical code
    codes: dict[str, str]  # every code and alias (upper case) -> canonical code
    tokens: dict[str, str]  # live token hash -> canonical code
    certificates: dict[str, str]  # fingerprint -> canonical code

    @classmethod
    def build(
        cls,
        version: int,
        agencies: Iterable[Agency],
        tokens: Iterable[tuple[str, str]],
    ) -> RegistrySnapshot:
        by_code: dict[str, Agency] = {}
        codes: dict[str, str] = {}
        certificates: dict[str, str] = {}
        for agency in agencies:
            by_code[agency.code] = agency
            codes[agency.code] = agency.code
            for alias in agency.alias_codes:
                codes[alias] = agency.code
            for fingerprint in agency.certificate_fingerprints:
                certificates[fingerprint] = agency.code
        return cls(version, by_code, codes, dict(tokens), certificates)

    def by_code(self, code_or_alias: str) -> Agency | None:
        code = self.codes.get(code_or_alias.upper())
        return None if code is None else self.agencies.get(code)

    def by_token(self, token_hash: str) -> Agency | None:
        code = self.tokens.get(token_hash)
        return None if code is None else self.agencies.get(code)

    def by_certificate(self, fingerprint: str) -> Agency | None:
        code = self.certificates.get(fingerprint)
        return None if code is None else self.agencies.get(code)


def snapshot_from_rows(
    version: int,
    agencies: Iterable[Row],
    aliases: Iterable[tuple[str, str]],
    fingerprints: Iterable[tuple[str, str]],
    tokens: Iterable[tuple[str, str]],
    d: Decoder,
) -> RegistrySnapshot:
    """A snapshot from the registry's rows; the pairs are (alias|fingerprint|hash, agency)."""
    alias_of: dict[str, list[str]] = {}
    for alias, code in aliases:
        alias_of.setdefault(code, []).append(alias)
    prints_of: dict[str, list[str]] = {}
    for fingerprint, code in fingerprints:
        prints_of.setdefault(code, []).append(fingerprint)
    records = (
        codec.agency_record(row, d, alias_of.get(row["code"], ()), prints_of.get(row["code"], ()))
        for row in agencies
    )
    return RegistrySnapshot.build(version, records, ((t, c) for t, c in tokens))


class RegistryCache:
    """A ``RegistrySnapshot`` kept current; see the module's docstring for the bound."""

    def __init__(
        self,
        version: Callable[[], Awaitable[int]],
        load: Callable[[], Awaitable[RegistrySnapshot]],
        *,
        max_age_s: float = REGISTRY_MAX_AGE_S,
    ) -> None:
        self._version = version
        self._load = load
        self._max_age_s = max_age_s
        self._snapshot: RegistrySnapshot | None = None
        self._checked = 0.0  # monotonic time the snapshot's version was last confirmed
        self._stale = True
        self._lock: asyncio.Lock | None = None
        self.loads = 0  # how many times the registry was read whole (for tests and benches)

    def invalidate(self) -> None:
        """This process changed the registry: the next read reloads it."""
        self._stale = True

    def _fresh(self) -> RegistrySnapshot | None:
        snapshot = self._snapshot
        if snapshot is None or self._stale:
            return None
        if time.monotonic() - self._checked >= self._max_age_s:
            return None
        return snapshot

    async def current(self) -> RegistrySnapshot:
        """The snapshot, confirmed against the store's version within ``max_age_s``."""
        snapshot = self._fresh()
        if snapshot is not None:
            return snapshot
        return await self._refresh(force_check=False)

    async def confirmed(self) -> RegistrySnapshot:
        """The snapshot, its version confirmed now (before a miss is answered)."""
        return await self._refresh(force_check=True)

    async def _refresh(self, *, force_check: bool) -> RegistrySnapshot:
        if self._lock is None:
            self._lock = asyncio.Lock()
        started = time.monotonic()
        async with self._lock:
            snapshot = self._fresh()
            # Someone confirmed it since we asked: that check read after our call began.
            if snapshot is not None and (not force_check or self._checked >= started):
                return snapshot
            return await self._check()

    async def _check(self) -> RegistrySnapshot:
        checked = time.monotonic()
        stale, self._stale = self._stale, False
        snapshot = self._snapshot
        try:
            if snapshot is None or stale or await self._version() != snapshot.version:
                # the version is read before the rows: the rows are at least that new
                snapshot = await self._load()
                self.loads += 1
        except BaseException:
            self._stale = self._stale or stale
            raise
        self._snapshot = snapshot
        self._checked = checked
        return snapshot

    async def get_agency(self, code_or_alias: str) -> Agency | None:
        found = (await self.current()).by_code(code_or_alias)
        if found is None:
            found = (await self.confirmed()).by_code(code_or_alias)
        return found

    async def agency_for_token(self, token_hash: str) -> Agency | None:
        found = (await self.current()).by_token(token_hash)
        if found is None:
            found = (await self.confirmed()).by_token(token_hash)
        return found

    async def agency_for_certificate(self, fingerprint: str) -> Agency | None:
        found = (await self.current()).by_certificate(fingerprint)
        if found is None:
            found = (await self.confirmed()).by_certificate(fingerprint)
        return found
