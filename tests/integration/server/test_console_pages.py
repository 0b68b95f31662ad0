"""The console at /console over a real axis: login, sessions, CSRF, every page,
escaping, dead-letter actions in the audit chain, languages, breakers."""

from __future__ import annotations

import contextlib
import re
import secrets
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from structlog.testing import capture_logs
from yarl import URL

from edoc_axis.config import load_config
from edoc_axis.home import init_home
from edoc_axis.runtime import AxisRuntime
from edoc_axis.store import Store
from edoc_axis.store.factory import open_store
from edoc_axis.tls import client_context
from tests.integration.server.conftest import AgencyKit, ConfigTweak, RunningAxis, serve_axis
from tests.integration.server.test_operator_api import _dead_letter
from tests.ports import held_port
from tests.waiting import eventually

G22, H49 = "000.00.00.G22", "000.00.00.H49"
PAGES = (
    "/console",
    "/console/endpoints",
    "/console/peers",
    "/console/dead-letters",
    "/console/refusals",
    "/console/trace",
    "/console/trace?q=nothing",
)
ACTIONS = (
    "/console/logout",
    "/console/dead-letters/1/retry",
    "/console/dead-letters/1/discard",
    "/console/audit/verify",
)
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass
class Browser:
    """A cookie-keeping HTTP client, like a browser without the scripts."""

    axis: RunningAxis
    http: aiohttp.ClientSession

    async def get(self, path: str) -> tuple[int, str, aiohttp.ClientResponse]:
        async with self.http.get(self.axis.url + path, allow_redirects=False) as response:
            return response.status, await response.text(), response

    async def post(
        self, path: str, form: dict[str, str]
    ) -> tuple[int, str, aiohttp.ClientResponse]:
        async with self.http.post(
            self.axis.url + path, data=form, allow_redirects=False
        ) as response:
            return response.status, await response.text(), response

    def session_id(self) -> str:
        return self.http.cookie_jar.filter_cookies(URL(self.axis.url + "/console"))[
            "edoc_console"
        ].value

    async def csrf(self, path: str = "/console/login") -> str:
        status, text, _ = await self.get(path)
        assert status == 200, text
        found = _CSRF.search(text)
        assert found, text
        return found.group(1)

    async def login(self, token: str) -> int:
        status, _, _ = await self.post(
            "/console/login", {"csrf": await self.csrf(), "token": token}
        )
        return status


@asynccontextmanager
async def browser(axis: RunningAxis) -> AsyncIterator[Browser]:
    # unsafe=True: keep cookies of an IP-address host (127.0.0.1), as browsers do.
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        yield Browser(axis, http)


async def test_anonymous_visitors_are_sent_to_the_login_form(axis: RunningAxis) -> None:
    async with browser(axis) as b:
        for path in PAGES:
            status, _, response = await b.get(path)
            assert (status, response.headers["Location"]) == (303, "/console/login"), path
        for path in ACTIONS:
            status, _, response = await b.post(path, {"csrf": "x"})
            assert (status, response.headers["Location"]) == (303, "/console/login"), path
        status, text, response = await b.get("/console/login")
        assert status == 200 and 'name="token"' in text
        assert response.headers["X-Frame-Options"] == "DENY"
        assert "script-src 'self'" in response.headers["Content-Security-Policy"]
        assert "'unsafe-inline'" not in response.headers["Content-Security-Policy"]


async def test_a_wrong_or_an_agency_token_does_not_log_in(axis: RunningAxis) -> None:
    sender = await axis.register(G22)
    async with browser(axis) as b:
        with capture_logs() as logs:
            for token in ("", "not-the-token", sender.token, axis.operator_token + "x"):
                assert await b.login(token) == 401, token
                status, _, _ = await b.get("/console")
                assert status == 303
        refused = [e for e in logs if e["event"] == "console.login_refused"]
        assert len(refused) == 4 and sender.token not in repr(logs)
        # An agency token is no bearer for /admin either; the console takes no header instead.
        async with b.http.get(
            axis.url + "/console",
            headers={"Authorization": f"Bearer {axis.operator_token}"},
            allow_redirects=False,
        ) as response:
            assert response.status == 303


async def test_login_needs_the_forms_csrf_token_and_gives_a_strict_cookie(
    axis: RunningAxis,
) -> None:
    async with browser(axis) as b:
        async with b.http.get(axis.url + "/console/login") as response:
            form_csrf = _CSRF.search(await response.text()).group(1)  # type: ignore[union-attr]
            login_cookie = response.headers["Set-Cookie"]
        # Before login the form's token is double-submitted: in the form and in a cookie
        # of its own, HttpOnly and Strict; there is no session yet.
        assert f"edoc_console_login={form_csrf}" in login_cookie
        assert "HttpOnly" in login_cookie and "SameSite=Strict" in login_cookie
        assert "Path=/console/login" in login_cookie
        status, text, _ = await b.post(
            "/console/login", {"csrf": "forged", "token": axis.operator_token}
        )
        assert status == 403 and 'id="refused"' in text
        # A token read off the attacker's own form is worth nothing without its cookie.
        async with (
            aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as other,
            other.post(
                axis.url + "/console/login",
                data={"csrf": form_csrf, "token": axis.operator_token},
                allow_redirects=False,
            ) as response,
        ):
            assert response.status == 403
        # An id planted in the browser beforehand is never promoted to a session.
        planted = "p" * 43
        b.http.cookie_jar.update_cookies({"edoc_console": planted}, URL(axis.url + "/console"))
        async with b.http.post(
            axis.url + "/console/login",
            data={"csrf": await b.csrf(), "token": axis.operator_token},
            allow_redirects=False,
        ) as response:
            assert response.status == 303 and response.headers["Location"] == "/console"
            cookie = response.headers.getall("Set-Cookie")[0]
        assert cookie.startswith("edoc_console=")
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/console" in cookie
        assert "Secure" not in cookie  # plain HTTP here; over TLS the cookie is Secure
        fresh = b.session_id()
        assert fresh != planted and len(fresh) >= 43
        assert (await b.get("/console"))[0] == 200


async def test_anonymous_visits_cost_no_store_write(axis: RunningAxis) -> None:
    # A session per visit to the login form would let anyone who can reach the port
    # queue a store write per request; only a logged-in operator makes a row.
    def sessions_stored() -> int:
        with contextlib.closing(sqlite3.connect(axis.config.store_path)) as db:
            return int(db.execute("SELECT count(*) FROM console_sessions").fetchone()[0])

    async with browser(axis) as b:
        for _ in range(30):
            assert (await b.get("/console/login"))[0] == 200
            assert await b.login("not-the-token") == 401
            assert (await b.get("/console"))[0] == 303
    assert sessions_stored() == 0
    async with browser(axis) as b:
        assert await b.login(axis.operator_token) == 303
    assert sessions_stored() == 1


async def test_every_page_answers_an_operator(axis: RunningAxis) -> None:
    sender = await axis.register(G22)
    await axis.register(H49, mode="push", endpoint="https://h49.example.test/edoc")
    await _dead_letter(axis, sender, H49)
    async with browser(axis) as b:
        assert await b.login(axis.operator_token) == 303
        for path in PAGES:
            status, text, response = await b.get(path)
            assert status == 200, (path, text)
            assert response.headers["Cache-Control"] == "no-store"
            assert "<script>" not in text and "onclick" not in text  # scripts are files only
        async with b.http.get(axis.url + "/console/static/uPlot.iife.min.js") as response:
            assert response.status == 200 and b"uPlot" in await response.read()


async def test_hostile_agency_names_are_escaped(axis: RunningAxis) -> None:
    hostile = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    response = await axis.call(
        "POST",
        "/admin/v1/agencies",
        token=axis.operator_token,
        json_body={
            "code": G22,
            "name": hostile,
            "delivery_mode": "push",
            "endpoint_url": "https://g22.example.test/<b>",
            "certificates": [],
        },
    )
    assert response.status == 201, response.body
    async with browser(axis) as b:
        await b.login(axis.operator_token)
        for path in ("/console", "/console/endpoints"):
            _, text, _ = await b.get(path)
            assert hostile not in text and "<img src=x" not in text, path
        _, text, _ = await b.get("/console/endpoints")
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in text
        _, text, _ = await b.get("/console/trace?q=" + "%3Cscript%3E")
        assert 'value="&lt;script&gt;"' in text


async def _operator_actions(axis: RunningAxis) -> list[tuple[str, str, int]]:
    return [
        (e.detail["action"], e.detail["actor"], e.detail["delivery"])
        async for e in axis.store.iter_audit()
        if e.event == "operator.action" and "delivery" in e.detail
    ]


async def test_dead_letters_retried_and_discarded_with_the_operator_named(
    axis: RunningAxis,
) -> None:
    sender = await axis.register(G22)
    await axis.register(H49, mode="push", endpoint="https://h49.example.test/edoc")
    first = await _dead_letter(axis, sender, H49)
    second = await _dead_letter(axis, sender, H49)
    async with browser(axis) as b:
        await b.login(axis.operator_token)
        _, text, _ = await b.get("/console/dead-letters")
        assert f'id="dead-letter-{first}"' in text and f'id="dead-letter-{second}"' in text
        csrf = _CSRF.search(text).group(1)  # type: ignore[union-attr]

        status, _, _ = await b.post(f"/console/dead-letters/{first}/retry", {"csrf": "forged"})
        assert status == 403
        status, _, _ = await b.post(f"/console/dead-letters/{first}/retry", {})
        assert status == 403
        assert (await axis.store.get_delivery(first)).state == "dead"  # type: ignore[union-attr]

        status, _, response = await b.post(f"/console/dead-letters/{first}/retry", {"csrf": csrf})
        assert (status, response.headers["Location"]) == (303, "/console/dead-letters")
        assert (await axis.store.get_delivery(first)).state == "pending"  # type: ignore[union-attr]
        await b.post(f"/console/dead-letters/{second}/discard", {"csrf": csrf})
        assert (await axis.store.get_delivery(second)).state == "discarded"  # type: ignore[union-attr]
        _, text, _ = await b.get("/console/dead-letters")
        assert "Đã bỏ." in text  # the flash of the last action, once
        await b.post(f"/console/dead-letters/{second}/discard", {"csrf": csrf})
        _, text, _ = await b.get("/console/dead-letters")
        assert "not-found: " in text
    assert await _operator_actions(axis) == [
        ("deadletter.retry", "operator", first),
        ("deadletter.discard", "operator", second),
    ]


async def test_a_named_operator_logs_in_and_its_actions_carry_its_name(
    axis: RunningAxis,
) -> None:
    sender = await axis.register(G22)
    await axis.register(H49, mode="push", endpoint="https://h49.example.test/edoc")
    dead = await _dead_letter(axis, sender, H49)
    tokens = {}
    for name in ("lan", "minh"):
        made = await axis.call(
            "POST", "/admin/v1/operators", token=axis.operator_token, json_body={"name": name}
        )
        assert made.status == 201, made.body
        tokens[name] = made.json()["token"]
    gone = await axis.call("DELETE", "/admin/v1/operators/minh", token=axis.operator_token)
    assert gone.status < 300, gone.body
    lan_token, gone_token = tokens["lan"], tokens["minh"]
    async with browser(axis) as b:
        assert await b.login(gone_token) == 401  # a removed operator is refused
        assert await b.login(lan_token) == 303
        csrf = await b.csrf("/console/dead-letters")
        await b.post(f"/console/dead-letters/{dead}/retry", {"csrf": csrf})
    assert await _operator_actions(axis) == [("deadletter.retry", "lan", dead)]


async def test_logout_ends_the_session(axis: RunningAxis) -> None:
    async with browser(axis) as b:
        await b.login(axis.operator_token)
        cookie = b.session_id()
        _, text, _ = await b.get("/console")
        csrf = _CSRF.search(text).group(1)  # type: ignore[union-attr]
        status, _, response = await b.post("/console/logout", {"csrf": csrf})
        assert (status, response.headers["Location"]) == (303, "/console/login")
    async with (
        aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http,
        http.get(
            axis.url + "/console", cookies={"edoc_console": cookie}, allow_redirects=False
        ) as response,
    ):
        assert response.status == 303  # the old id is gone server-side


async def test_languages_switch_and_stick(axis: RunningAxis) -> None:
    async with browser(axis) as b:
        await b.login(axis.operator_token)
        _, text, _ = await b.get("/console")
        assert 'lang="vi"' in text and "Tổng quan" in text
        _, text, _ = await b.get("/console/refusals?lang=en")
        assert 'lang="en"' in text and "Recent refusals" in text
        _, text, _ = await b.get("/console/dead-letters")
        assert 'lang="en"' in text and "Dead letters" in text
        _, text, _ = await b.get("/console?lang=fr")  # unknown: the kept one
        assert 'lang="en"' in text


async def test_trace_search_by_document_id(axis: RunningAxis) -> None:
    sender = await axis.register(G22)
    await axis.register(H49)
    raw = axis.signed(sender, [H49], code_number="4242")
    submitted = await axis.submit(raw, sender)
    axis_id = submitted.headers["Edoc-Axis-Id"]
    document = await axis.store.get_document(axis_id)
    assert document is not None
    async with browser(axis) as b:
        await b.login(axis.operator_token)
        for query in (document.document_id, axis_id):
            _, text, _ = await b.get(f"/console/trace?q={query}")
            assert f'id="trace-{axis_id}"' in text, query
            assert "trace-queued" in text and H49 in text
        _, text, _ = await b.get("/console/trace?q=no-such-document")
        assert 'id="trace-none"' in text


async def test_failing_endpoints_show_their_breaker(axis: RunningAxis) -> None:
    sender = await axis.register(G22)
    with held_port() as port:  # bound, not listening: every push is refused
        await axis.register(H49, mode="push", endpoint=f"http://127.0.0.1:{port}/edoc")
        await axis.submit(axis.signed(sender, [H49]), sender)
        async with browser(axis) as b:
            await b.login(axis.operator_token)

            async def failing() -> str | None:
                _, text, _ = await b.get("/console/endpoints")
                row = re.search(r'<tr class="failing">(.*?)</tr>', text, re.S)
                return row.group(1) if row and "breaker-" in row.group(1) else None

            row = await eventually(failing, what="the endpoint's failure on the console")
    assert H49 in row and f"127.0.0.1:{port}" in row


async def test_a_peer_axis_that_does_not_answer_shows_with_its_waiting_relays(
    axis: RunningAxis,
) -> None:
    sender = await axis.register(G22)
    with held_port() as port:  # bound, not listening: every relay is refused
        status_answer = await axis.call(
            "POST",
            "/admin/v1/peers",
            token=axis.operator_token,
            json_body={
                "name": "LGSP-H31",
                "url": f"http://127.0.0.1:{port}",
                "axis_cert_pem": axis.config.axis_cert.read_text(),
                "serves": ["*.H31"],
            },
        )
        assert status_answer.status == 201, status_answer.body
        accepted = await axis.submit(axis.signed(sender, ["000.00.00.H31"]), sender)
        assert accepted.status == 202, accepted.body
        async with browser(axis) as b:
            await b.login(axis.operator_token)

            async def failing() -> str | None:
                _, text, _ = await b.get("/console/peers")
                row = re.search(r'<tr class="failing">(.*?)</tr>', text, re.S)
                return row.group(1) if row and "breaker-" in row.group(1) else None

            row = await eventually(failing, what="the peer's failing relays on the console")
    assert "LGSP-H31" in row and f"127.0.0.1:{port}" in row and "*.H31" in row
    assert re.search(r'<td class="num">1 / 0</td>', row)  # its one remote agency


async def test_no_agency_token_reaches_a_console_page(axis: RunningAxis) -> None:
    kit: AgencyKit = await axis.register(G22)
    async with aiohttp.ClientSession() as http:
        for path in PAGES:
            async with http.get(
                axis.url + path,
                headers={"Authorization": f"Bearer {kit.token}"},
                allow_redirects=False,
            ) as response:
                assert response.status == 303, path


async def test_over_tls_the_session_cookie_is_secure(tmp_path: Path) -> None:
    home = init_home(tmp_path / "home", tls=True)
    config = load_config(home.config)
    store = await open_store(config)
    runtime = AxisRuntime(config, store, push=False)
    url = await runtime.start("127.0.0.1", 0)
    try:
        connector = aiohttp.TCPConnector(ssl=client_context(home.root / "pki" / "ca.cert.pem"))
        async with (
            aiohttp.ClientSession(connector=connector) as http,
            http.get(url + "/console/login", allow_redirects=False) as response,
        ):
            assert url.startswith("https://") and response.status == 200
            cookie = response.headers["Set-Cookie"]
        assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    finally:
        await runtime.stop()
        await store.close()


async def test_a_big_or_unmeasured_form_is_not_read(axis: RunningAxis) -> None:
    async with browser(axis) as b:
        csrf = await b.csrf()
        status, _, _ = await b.post("/console/login", {"csrf": csrf, "token": "x" * 20_000})
        assert status == 413

        async def chunks() -> AsyncIterator[bytes]:
            yield b"csrf=" + csrf.encode()

        async with b.http.post(
            axis.url + "/console/login",
            data=chunks(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            allow_redirects=False,
        ) as response:
            assert response.status == 413  # chunked: no length to check first
        assert await b.login(axis.operator_token) == 303  # the session survived both


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_the_console_reads_either_store(
    request: pytest.FixtureRequest, tmp_path: Path, config_tweak: ConfigTweak, backend: str
) -> None:
    store: Store | None = None
    if backend == "postgresql":
        from edoc_axis.store.postgresql import PostgresStore

        dsn = request.getfixturevalue("postgres_dsn")
        schema = f"c_{secrets.token_hex(6)}"
        store = PostgresStore(dsn, migrate=True, schema=schema, min_size=1, max_size=5)
    async with serve_axis(tmp_path, config_tweak, store) as axis:
        sender = await axis.register(G22)
        await axis.register(H49, mode="push", endpoint="https://h49.example.test/edoc")
        dead = await _dead_letter(axis, sender, H49)
        refused = await axis.submit(axis.document(sender, [H49]), sender)  # unsigned
        delivery = await axis.store.get_delivery(dead)
        assert delivery is not None and refused.code is not None
        document = await axis.store.get_document(delivery.axis_id)
        assert document is not None
        async with browser(axis) as b:
            await b.login(axis.operator_token)
            _, text, _ = await b.get("/console/dead-letters")
            assert f'id="dead-letter-{dead}"' in text
            _, text, _ = await b.get("/console/refusals")
            assert text.count(f"<code>{refused.code}</code>") == 2  # by code, and the latest
            _, text, _ = await b.get(f"/console/trace?q={document.document_id}")
            assert f'id="trace-{document.axis_id}"' in text
            _, text, _ = await b.get("/console")
            assert 'id="chart-data"' in text and G22 in text


async def test_the_audit_chain_verified_from_the_overview(axis: RunningAxis) -> None:
    await axis.register(G22)
    async with browser(axis) as b:
        await b.login(axis.operator_token)
        _, text, _ = await b.get("/console")
        assert "Chưa kiểm tra từ khi khởi động." in text
        csrf = _CSRF.search(text).group(1)  # type: ignore[union-attr]
        assert (await b.post("/console/audit/verify", {"csrf": "forged"}))[0] == 403
        status, _, response = await b.post("/console/audit/verify", {"csrf": csrf})
        assert (status, response.headers["Location"]) == (303, "/console")
        _, text, _ = await b.get("/console?lang=en")
        head = await axis.store.audit_head()
        assert re.search(rf'id="audit-result" class="ok">\s*Intact — {head.seq} entries', text)
        assert f"<strong>#{head.seq}</strong>" in text
