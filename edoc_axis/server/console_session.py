"""The console's sessions: a random id in a cookie, the session itself in memory.

Why server-side and not a signed cookie: logging out and expiry then end a
session for real (a stolen cookie is worth nothing afterwards), and there is
no signing key to create, keep secret and rotate in the axis home. The price
is that a restart logs operators out and, with several nodes, a session lives
on the node that made it (sticky routing, or log in per node). Every session,
anonymous ones included, carries its CSRF token; logging in makes a new
session (a fixated id is never promoted).
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from aiohttp import web

COOKIE = "edoc_console"
IDLE_S = 30 * 60.0  # an operator session ends after 30 minutes without a request
MAX_AGE_S = 8 * 3600.0  # and after 8 hours whatever happens
ANONYMOUS_S = 15 * 60.0  # a login form is good for 15 minutes
MAX_SESSIONS = 2000  # anonymous sessions beyond this push the oldest out


@dataclass
class Session:
    id: str
    csrf: str
    actor: str | None  # the operator's identity once logged in
    created: float
    seen: float
    flash: list[tuple[str, str]] = field(default_factory=list)  # (kind, message key or text)

    def expired(self, now: float) -> bool:
        if self.actor is None:
            return now - self.created > ANONYMOUS_S
        return now - self.seen > IDLE_S or now - self.created > MAX_AGE_S

    def csrf_ok(self, presented: str) -> bool:
        return hmac.compare_digest(self.csrf.encode(), presented.encode())


class Sessions:
    """Sessions by id, oldest first; bounded so that anonymous visits cannot fill memory."""

    def __init__(self, now: Callable[[], float] = time.monotonic) -> None:
        self._items: OrderedDict[str, Session] = OrderedDict()
        self._now = now

    def __len__(self) -> int:
        return len(self._items)

    def new(self, actor: str | None = None) -> Session:
        now = self._now()
        self._evict(now)
        session = Session(secrets.token_urlsafe(32), secrets.token_urlsafe(32), actor, now, now)
        self._items[session.id] = session
        return session

    def get(self, session_id: str | None) -> Session | None:
        if not session_id:
            return None
        session = self._items.get(session_id)
        now = self._now()
        if session is None or session.expired(now):
            self._items.pop(session_id, None)
            return None
        session.seen = now
        return session

    def drop(self, session_id: str) -> None:
        self._items.pop(session_id, None)

    def _evict(self, now: float) -> None:
        for key in [k for k, s in self._items.items() if s.expired(now)]:
            del self._items[key]
        while len(self._items) >= MAX_SESSIONS:
            oldest = next((k for k, s in self._items.items() if s.actor is None), None)
            if oldest is None:
                oldest = next(iter(self._items))
            del self._items[oldest]


SESSIONS = web.AppKey("console_sessions", Sessions)


def session_of(request: web.Request) -> Session | None:
    return request.app[SESSIONS].get(request.cookies.get(COOKIE))


def set_session_cookie(
    request: web.Request, response: web.StreamResponse, session: Session
) -> None:
    """HttpOnly, SameSite=Strict, scoped to /console; Secure when the axis speaks TLS."""
    response.set_cookie(
        COOKIE,
        session.id,
        path="/console",
        httponly=True,
        samesite="Strict",
        secure=request.secure,
    )


def clear_session_cookie(response: web.StreamResponse) -> None:
    response.del_cookie(COOKIE, path="/console")
