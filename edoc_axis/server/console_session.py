"""The console's cookies: the logged-in session's id, and the login form's CSRF token.

A logged-in session lives in the store (service/console_sessions.py says why),
so that any process and any node serves it. Before login there is no session:
the login form's CSRF token is a random value in its own cookie, repeated in
the form, and the login POST must carry both, equal (a double-submit token).
A page that cannot read the cookie (another site) cannot forge the form, and
SameSite=Strict keeps the cookie off cross-site requests besides. So an
anonymous visit costs no store write, however many come.
"""

from __future__ import annotations

import hmac
import re
import secrets

from aiohttp import web

from edoc_axis.server.context import SERVICES
from edoc_axis.service.console_sessions import ConsoleSession, find_session

COOKIE = "edoc_console"
LOGIN_COOKIE = "edoc_console_login"
LOGIN_PATH = "/console/login"
LOGIN_FORM_S = 15 * 60  # a login form is good for 15 minutes
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{43}$")  # what secrets.token_urlsafe(32) makes


async def session_of(request: web.Request) -> ConsoleSession | None:
    """The logged-in session the request's cookie names, if it is live."""
    services = request.app[SERVICES]
    return await find_session(services.store, request.cookies.get(COOKIE), services.clock.now())


def set_session_cookie(
    request: web.Request, response: web.StreamResponse, session: ConsoleSession
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


def login_token(request: web.Request) -> str:
    """The login form's CSRF token: the browser's own while it is well formed, else a new one."""
    presented = request.cookies.get(LOGIN_COOKIE, "")
    return presented if _TOKEN.match(presented) else secrets.token_urlsafe(32)


def set_login_cookie(request: web.Request, response: web.StreamResponse, token: str) -> None:
    response.set_cookie(
        LOGIN_COOKIE,
        token,
        path=LOGIN_PATH,
        max_age=LOGIN_FORM_S,
        httponly=True,
        samesite="Strict",
        secure=request.secure,
    )


def clear_login_cookie(response: web.StreamResponse) -> None:
    response.del_cookie(LOGIN_COOKIE, path=LOGIN_PATH)


def login_csrf_ok(request: web.Request, presented: str) -> bool:
    """The login form's token came back both in the form and in its cookie, the same."""
    cookie = request.cookies.get(LOGIN_COOKIE, "")
    if not _TOKEN.match(cookie) or not presented:
        return False
    return hmac.compare_digest(cookie.encode(), presented.encode())
