"""The console's logged-in sessions, kept in the store.

Why in the store and not in process memory: with ``serve --processes N`` the
kernel hands each new connection to any worker, and with several nodes on one
PostgreSQL a balancer does the same; a session held in one process's memory
then lasted only as long as the browser kept the connection it logged in on.
Why server-side and not a signed cookie: logging out and expiry end a session
for real (a stolen cookie is worth nothing afterwards), and there is no signing
key to create, keep secret and rotate in the axis home.

Only a logged-in operator costs a row (the login form's CSRF token lives in a
cookie, see server/console_session.py), so anonymous visits write nothing. The
cookie carries a random id; the store keeps its SHA-256, so a copy of the
database gives no session away. Logging in always makes a new id.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from edoc_axis.store import Store
from edoc_axis.store.records import ConsoleSessionRow

IDLE = timedelta(minutes=30)  # a session ends after 30 minutes without a request
MAX_AGE = timedelta(hours=8)  # and after 8 hours whatever happens
# "Last seen" is written at most this often: a page view is then a read, not a
# commit, while the idle limit stays exact to within a minute.
SEEN_EVERY = timedelta(minutes=1)
MAX_NOTES = 20  # messages kept for the next page; older ones are dropped


@dataclass
class ConsoleSession:
    id: str  # the cookie's value; only its hash is stored
    csrf: str
    actor: str
    created_at: datetime
    seen_at: datetime
    flash: list[tuple[str, str]] = field(default_factory=list)  # (kind, message key or text)
    verification: dict[str, Any] | None = None  # the session's last audit-chain check

    def expired(self, now: datetime) -> bool:
        return now - self.seen_at > IDLE or now - self.created_at > MAX_AGE

    def csrf_ok(self, presented: str) -> bool:
        return bool(presented) and hmac.compare_digest(self.csrf.encode(), presented.encode())

    def notes(self) -> str:
        return json.dumps(
            {"flash": self.flash[-MAX_NOTES:], "verification": self.verification},
            separators=(",", ":"),
        )


def id_hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


async def open_session(store: Store, actor: str, now: datetime) -> ConsoleSession:
    """A new session for ``actor``; expired sessions of anyone go in the same commit."""
    session = ConsoleSession(
        id=secrets.token_urlsafe(32),
        csrf=secrets.token_urlsafe(32),
        actor=actor,
        created_at=now,
        seen_at=now,
    )
    row = ConsoleSessionRow(id_hash(session.id), actor, session.csrf, now, now, session.notes())
    await store.create_console_session(row, now - MAX_AGE, now - IDLE)
    return session


async def find_session(
    store: Store, session_id: str | None, now: datetime
) -> ConsoleSession | None:
    """The live session with this id (None when unknown, ended or expired)."""
    if not session_id or len(session_id) > 128:
        return None
    key = id_hash(session_id)
    row = await store.console_session(key)
    if row is None:
        return None
    notes = json.loads(row.notes)
    session = ConsoleSession(
        id=session_id,
        csrf=row.csrf,
        actor=row.actor,
        created_at=row.created_at,
        seen_at=row.seen_at,
        flash=[(kind, text) for kind, text in notes.get("flash", [])],
        verification=notes.get("verification"),
    )
    if session.expired(now):
        await store.delete_console_session(key)
        return None
    if now - session.seen_at >= SEEN_EVERY:
        session.seen_at = now
        await store.update_console_session(key, now, session.notes())
    return session


async def save_session(store: Store, session: ConsoleSession) -> None:
    """Keep the session's messages and last check for its next request, in any process."""
    await store.update_console_session(id_hash(session.id), session.seen_at, session.notes())


async def close_session(store: Store, session: ConsoleSession) -> None:
    await store.delete_console_session(id_hash(session.id))
