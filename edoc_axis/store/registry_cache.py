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

- a registry write made through this store object has that agency read
  again and patched in before the next answer, so this process sees its own
  changes at once (the whole registry is reloaded at the next version check);
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
    """The registry at one version: everything the registry reads answer from.

    ``patch`` replaces one agency's entries in place (after this process's own
    write); the snapshot's ``version`` then stays the older one, so the next
    version check reloads it whole.
    """

    version: int
    agencies: dict[str, Agency]  # by canonical code
    codes: dict[str, str]  # every code and alias (upper case) -> canonical code
    tokens: dict[str, str]  # live token hash -> canonical code
    certificates: dict[str, str]  # fingerprint -> canonical code
    tokens_of: dict[str, list[str]]  # canonical code -> its live token hashes

    @classmethod
    def build(
        cls,
        version: int,
        agencies: Iterable[Agency],
        tokens: Iterable[tuple[str, str]],
    ) -> RegistrySnapshot:
        snapshot = cls(version, {}, {}, {}, {}, {})
        for agency in agencies:
            snapshot._add(agency, ())
        for token_hash, code in tokens:
            snapshot.tokens[token_hash] = code
            snapshot.tokens_of.setdefault(code, []).append(token_hash)
        return snapshot

    def patch(self, code_or_alias: str, agency: Agency | None, tokens: Iterable[str]) -> None:
        """Replace what is known of ``code_or_alias`` with ``agency`` (None: it is gone)."""
        known = self.codes.get(code_or_alias.upper())
        if known is not None:
            self._remove(known)
        if agency is not None:
            self._remove(agency.code)
            self._add(agency, tokens)

    def _add(self, agency: Agency, tokens: Iterable[str]) -> None:
        code = agency.code
        self.agencies[code] = agency
        for each in (code, *agency.alias_codes):
            self.codes[each] = code
        for fingerprint in agency.certificate_fingerprints:
            self.certificates[fingerprint] = code
        for token_hash in tokens:
            self.tokens[token_hash] = code
            self.tokens_of.setdefault(code, []).append(token_hash)

    def _remove(self, code: str) -> None:
        old = self.agencies.pop(code, None)
        if old is not None:
            for each in (code, *old.alias_codes):
                if self.codes.get(each) == code:
                    del self.codes[each]
            for fingerprint in old.certificate_fingerprints:
                if self.certificates.get(fingerprint) == code:
                    del self.certificates[fingerprint]
        for token_hash in self.tokens_of.pop(code, ()):
            if self.tokens.get(token_hash) == code:
                del self.tokens[token_hash]

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
        load_one: Callable[[str], Awaitable[tuple[Agency | None, list[str]]]],
        *,
        max_age_s: float = REGISTRY_MAX_AGE_S,
    ) -> None:
        self._version = version
        self._load = load
        self._load_one = load_one
        self._max_age_s = max_age_s
        self._snapshot: RegistrySnapshot | None = None
        self._checked = 0.0  # monotonic time the snapshot's version was last confirmed
        self._stale = True
        self._dirty: set[str] = set()  # agencies this process changed since
        self._lock: asyncio.Lock | None = None
        self.loads = 0  # how many times the registry was read whole (for tests and benches)

    def invalidate(self, code: str | None = None) -> None:
        """This process changed agency ``code`` (None: anything): the next read sees it.

        The one agency is read again and patched in; the whole registry is
        reloaded at the next version check (so a burst of changes, an import,
        costs one whole reload per ``max_age_s``, not one per change).
        """
        if code is None:
            self._stale = True
        else:
            self._dirty.add(code)

    def _fresh(self) -> RegistrySnapshot | None:
        snapshot = self._snapshot
        if snapshot is None or self._stale or self._dirty:
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
            return await self._update(force_check)

    async def _update(self, force_check: bool) -> RegistrySnapshot:
        stale, self._stale = self._stale, False
        dirty, self._dirty = self._dirty, set()
        try:
            snapshot = self._snapshot
            if snapshot is None or stale:
                return await self._reload()
            for code in sorted(dirty):
                snapshot.patch(code, *await self._load_one(code))
            if force_check or time.monotonic() - self._checked >= self._max_age_s:
                checked = time.monotonic()
                if await self._version() != snapshot.version:
                    return await self._reload()
                self._checked = checked
            return snapshot
        except BaseException:
            self._stale = self._stale or stale
            self._dirty |= dirty
            raise

    async def _reload(self) -> RegistrySnapshot:
        checked = time.monotonic()
        # the version is read before the rows: the rows are at least that new
        snapshot = await self._load()
        self.loads += 1
        self._snapshot, self._checked = snapshot, checked
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
