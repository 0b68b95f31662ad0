"""The operator's console at /console: server-rendered pages over the service layer.

Login takes the operator token (the same check as /admin/v1) and gives a
session cookie; the session lives in the store (service/console_sessions.py
says why), so every process and node serves it. Every POST carries a CSRF
token: the session's, or before login the login form's (console_session.py).
Pages are Jinja2 templates with autoescape on; the only scripts are files
under /console/static (uPlot and console.js), which the
Content-Security-Policy enforces. Dead-letter actions go through the same
service functions as the operator API and land in the audit chain as
``operator.action`` with the operator's identity.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp_jinja2
import jinja2
import structlog
from aiohttp import web
from multidict import MultiDictProxy

from edoc_axis.core.health import EndpointHealth
from edoc_axis.errors import EdocError, NotFound, PayloadTooLarge
from edoc_axis.server import console_pages as pages
from edoc_axis.server.auth import OPERATOR, operator_named_by
from edoc_axis.server.console_i18n import LANG_COOKIE, language, translator
from edoc_axis.server.console_session import (
    LOGIN_PATH,
    clear_login_cookie,
    clear_session_cookie,
    login_csrf_ok,
    login_token,
    session_of,
    set_login_cookie,
    set_session_cookie,
)
from edoc_axis.server.context import SERVICES, AxisServices
from edoc_axis.server.operator_api import operator_identity
from edoc_axis.server.operator_metrics import OPERATOR_METRICS
from edoc_axis.server.run_dir import shared_run_dir
from edoc_axis.server.shared_health import gather
from edoc_axis.service import operator as ops
from edoc_axis.service import watch
from edoc_axis.service.console_sessions import (
    ConsoleSession,
    close_session,
    open_session,
    save_session,
)
from edoc_axis.service.context import wake
from edoc_axis.service.trace import document_trace

log = structlog.get_logger("edoc_axis.console")
HERE = Path(__file__).parent
LOGIN = LOGIN_PATH
PAGE_SIZE = 50
YEAR_S = 365 * 86400
MAX_FORM_BYTES = 16 * 1024  # a console form is a token and a CSRF token, no more
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
PageData = Callable[[web.Request, ConsoleSession], Awaitable[dict[str, Any]]]
Action = Callable[[web.Request, ConsoleSession, MultiDictProxy[Any]], Awaitable[str]]


@web.middleware
async def console_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    """No framing, no inline script, nothing cached but the static files."""
    response = await handler(request)
    if request.path == "/console" or request.path.startswith("/console/"):
        response.headers.update(SECURITY_HEADERS)
        if not request.path.startswith("/console/static/"):
            response.headers["Cache-Control"] = "no-store"
    return response


def redirect(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location})


def render(
    request: web.Request,
    template: str,
    session: ConsoleSession | None,
    context: dict[str, Any],
    status: int = 200,
    csrf: str | None = None,
) -> web.Response:
    """A page; the session's messages are shown once (the caller saves the emptied list)."""
    lang, chosen = language(request)
    flash = [] if session is None else session.flash
    base = {
        "t": translator(lang),
        "lang": lang,
        "lang_links": {code: str(request.rel_url.update_query(lang=code)) for code in ("vi", "en")},
        "csrf": csrf if session is None else session.csrf,
        "actor": None if session is None else session.actor,
        "path": request.path,
        "flash": list(flash),
        "when": pages.when,
        "age": pages.age,
    }
    flash.clear()
    response = aiohttp_jinja2.render_template(template, request, base | context, status=status)
    if chosen:
        response.set_cookie(
            LANG_COOKIE,
            lang,
            path="/console",
            max_age=365 * 86400,
            httponly=True,
            samesite="Strict",
        )
    return response


def page(template: str) -> Callable[[PageData], Handler]:
    """A GET page for a logged-in operator; anyone else goes to the login form."""

    def wrap(data: PageData) -> Handler:
        async def handler(request: web.Request) -> web.StreamResponse:
            session = await session_of(request)
            if session is None:
                return redirect(LOGIN)
            shown = bool(session.flash)
            response = render(request, template, session, await data(request, session))
            if shown:  # shown once: the next page, in whatever process, must not show them
                await save_session(request.app[SERVICES].store, session)
            return response

        return handler

    return wrap


async def read_form(request: web.Request) -> MultiDictProxy[Any]:
    """The posted form, when it says its length and it is small (before reading any of it)."""
    length = request.content_length
    if length is None or length > MAX_FORM_BYTES:
        raise PayloadTooLarge(f"a console form is at most {MAX_FORM_BYTES} bytes, with a length")
    return await request.post()


def csrf_refused(request: web.Request) -> web.Response:
    return render(request, "refused.html", None, {"reason": "csrf.refused"}, status=403)


def action(act: Action) -> Handler:
    """A POST from a console form: a logged-in operator and the session's CSRF token."""

    async def handler(request: web.Request) -> web.StreamResponse:
        session = await session_of(request)
        if session is None:
            return redirect(LOGIN)
        form = await read_form(request)
        if not session.csrf_ok(str(form.get("csrf", ""))):
            return csrf_refused(request)
        return redirect(await act(request, session, form))

    return handler


# -- logging in and out -------------------------------------------------------------
async def login_form(request: web.Request) -> web.StreamResponse:
    """The form, with a CSRF token in a cookie of its own: no store write before login."""
    if await session_of(request) is not None:
        return redirect("/console")
    token = login_token(request)
    response = render(request, "login.html", None, {"error": None}, csrf=token)
    set_login_cookie(request, response, token)
    return response


async def login(request: web.Request) -> web.StreamResponse:
    form = await read_form(request)
    presented = str(form.get("csrf", ""))
    if not login_csrf_ok(request, presented):
        return csrf_refused(request)
    name = await operator_named_by(request, str(form.get("token", "")))
    if name is None:
        log.warning("console.login_refused", peer=request.remote)
        context = {"error": "login.refused"}
        return render(request, "login.html", None, context, status=401, csrf=presented)
    request[OPERATOR] = name
    services = request.app[SERVICES]
    # Always a new id: an id planted in the browser beforehand is never promoted.
    session = await open_session(services.store, operator_identity(request), services.clock.now())
    log.info("console.login", actor=session.actor, peer=request.remote)
    response = redirect("/console")
    set_session_cookie(request, response, session)
    clear_login_cookie(response)
    return response


@action
async def logout(request: web.Request, session: ConsoleSession, _form: MultiDictProxy[Any]) -> str:
    await close_session(request.app[SERVICES].store, session)
    log.info("console.logout", actor=session.actor)
    return LOGIN


async def logout_handler(request: web.Request) -> web.StreamResponse:
    response = await logout(request)
    if response.status == 303 and response.headers.get("Location") == LOGIN:
        clear_session_cookie(response)
    return response


# -- pages ----------------------------------------------------------------------------
async def _statistics(request: web.Request) -> dict[str, Any]:
    services = request.app[SERVICES]
    now = services.clock.now()
    since, until = ops.stats_window(None, None, now)
    return await ops.statistics(services.store, since, until, now)


@page("overview.html")
async def overview(request: web.Request, session: ConsoleSession) -> dict[str, Any]:
    stats = await _statistics(request)
    head = await request.app[SERVICES].store.audit_head()
    charts = {"traffic": pages.traffic_chart(stats), "agencies": pages.agency_chart(stats)}
    return {
        "stats": stats,
        "head": head,
        "verification": session.verification,
        "charts": charts,
    }


def _endpoint_health(services: AxisServices) -> list[EndpointHealth]:
    """What push delivery knows of its endpoints: of every process, when there are several."""
    run_dir = shared_run_dir()
    if run_dir is not None:
        return gather(run_dir)
    return [h for hook in services.endpoint_health for h in hook()]


@page("endpoints.html")
async def endpoints(request: web.Request, _session: ConsoleSession) -> dict[str, Any]:
    services = request.app[SERVICES]
    health = _endpoint_health(services)
    agencies = await services.store.list_agencies()
    rows = watch.endpoint_rows(agencies, await _statistics(request), health)
    return {"rows": rows, "tracked": bool(services.endpoint_health)}


@page("peers.html")
async def peers_page(request: web.Request, _session: ConsoleSession) -> dict[str, Any]:
    services = request.app[SERVICES]
    health = _endpoint_health(services)
    rows = watch.peer_rows(
        await services.store.list_peers(),
        await services.store.list_agencies(),
        await _statistics(request),
        health,
    )
    return {"rows": rows, "tracked": bool(services.endpoint_health)}


@page("dead_letters.html")
async def dead_letters(request: web.Request, _session: ConsoleSession) -> dict[str, Any]:
    store = request.app[SERVICES].store
    cursor = request.query.get("cursor") or None
    try:
        found, next_cursor = await ops.dead_letter_page(
            store, ops.DeadLetterFilter(), PAGE_SIZE, cursor
        )
    except ValueError:  # a cursor this store did not hand out: start over
        found, next_cursor = await ops.dead_letter_page(
            store, ops.DeadLetterFilter(), PAGE_SIZE, None
        )
    return {"rows": await pages.dead_letter_rows(store, found), "next_cursor": next_cursor}


@page("refusals.html")
async def refusals(request: web.Request, _session: ConsoleSession) -> dict[str, Any]:
    stats = await _statistics(request)
    recent = await watch.recent_refusals(request.app[SERVICES].store)
    return {"by_code": watch.refusals_by_code(stats["agencies"]), "recent": recent}


@page("trace.html")
async def trace(request: web.Request, _session: ConsoleSession) -> dict[str, Any]:
    store = request.app[SERVICES].store
    query = request.query.get("q", "").strip()[: watch.MAX_QUERY]
    traces = []
    for document in await watch.find_documents(store, query) if query else []:
        found = await document_trace(store, document, None)
        traces.append({"trace": found, "timeline": pages.timeline(found)})
    return {"query": query, "traces": traces}


# -- actions --------------------------------------------------------------------------
def _delivery_id(request: web.Request) -> int | None:
    text = request.match_info["id"]
    return int(text) if text.isdigit() and len(text) <= 18 else None


async def _dead_letter_action(request: web.Request, session: ConsoleSession, name: str) -> str:
    services = request.app[SERVICES]
    delivery_id = _delivery_id(request)
    try:
        if delivery_id is None:
            raise NotFound(f"no delivery {request.match_info['id']}")
        at = services.clock.now()
        await ops.act_on_dead_letter(services.store, name, delivery_id, at, session.actor)
    except EdocError as error:
        session.flash.append(("error", f"{error.code}: {error.detail}"))
    else:
        wake(services)
        session.flash.append(("ok", "dl.retried" if name == "retry" else "dl.discarded"))
    await save_session(services.store, session)
    return "/console/dead-letters"


@action
async def retry(request: web.Request, session: ConsoleSession, _form: MultiDictProxy[Any]) -> str:
    return await _dead_letter_action(request, session, "retry")


@action
async def discard(request: web.Request, session: ConsoleSession, _form: MultiDictProxy[Any]) -> str:
    return await _dead_letter_action(request, session, "discard")


@action
async def verify_audit(
    request: web.Request, session: ConsoleSession, _f: MultiDictProxy[Any]
) -> str:
    services = request.app[SERVICES]
    report = await services.store.verify_audit()
    now = services.clock.now()
    request.app[OPERATOR_METRICS].audit_verified(report.ok, now)
    session.verification = {
        "ok": report.ok,
        "entries": report.entries,
        "reason": report.reason,
        "at": now.isoformat(),
    }
    await save_session(services.store, session)
    return "/console"


def add_routes(app: web.Application) -> None:
    """The console's pages, its static files, its sessions and its headers."""
    aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(HERE / "console_templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    app.middlewares.append(console_headers)
    r = app.router
    r.add_get("/console", overview)
    r.add_get(LOGIN, login_form)
    r.add_post(LOGIN, login)
    r.add_post("/console/logout", logout_handler)
    r.add_get("/console/endpoints", endpoints)
    r.add_get("/console/peers", peers_page)
    r.add_get("/console/dead-letters", dead_letters)
    r.add_post("/console/dead-letters/{id}/retry", retry)
    r.add_post("/console/dead-letters/{id}/discard", discard)
    r.add_get("/console/refusals", refusals)
    r.add_get("/console/trace", trace)
    r.add_post("/console/audit/verify", verify_audit)
    r.add_static("/console/static", HERE / "console_static", append_version=False)
