"""The console in a real headless Chromium (Debian's, driven by playwright):
log in, see a dead letter, make its endpoint reachable and retry it, see it
delivered, find its DocumentId and the timeline, switch language.

Screenshots of the main pages go to ``EDOC_TEST_ARTIFACTS``/console (default
tests/artifacts/console); docs/console/*.png are copies of them.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from edoc_axis.endpoint.app import make_endpoint_app
from edoc_axis.signature import TrustStore
from tests.external import unavailable
from tests.integration.server.conftest import RunningAxis
from tests.integration.server.test_operator_api import _dead_letter
from tests.ports import held_port
from tests.waiting import eventually

G22, H49, K07, K09 = "000.00.00.G22", "000.00.00.H49", "000.00.00.K07", "000.00.00.K09"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium() -> str:
    path = shutil.which("chromium") or (
        "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
    )
    if path is None:
        unavailable("chromium is not installed (apt-get install chromium)")
    return path


def artifacts() -> Path:
    root = os.environ.get("EDOC_TEST_ARTIFACTS")
    base = Path(root) if root else Path(__file__).resolve().parents[2] / "artifacts"
    folder = base / "console"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
async def endpoint(axis: RunningAxis, tmp_path: Path) -> AsyncIterator[str]:
    """A real agency endpoint that verifies what the axis pushes."""
    runner = web.AppRunner(
        make_endpoint_app(
            tmp_path / "endpoint", [axis.services.axis_cert], TrustStore([axis.ca.cert])
        )
    )
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    yield f"http://{host}:{port}/"
    await runner.cleanup()


async def _traffic(axis: RunningAxis, refusing_port: int) -> tuple[int, str]:
    """Documents, a refusal, a dead letter to H49 and an endpoint (K09's) refusing connections."""
    sender = await axis.register(G22)
    other = await axis.register(K07)
    await axis.register(H49, mode="push", endpoint="https://h49.example.test/edoc")
    await axis.register(K09, mode="push", endpoint=f"http://127.0.0.1:{refusing_port}/edoc")
    for _ in range(3):
        await axis.submit(axis.signed(other, [G22]), other)
    await axis.submit(axis.document(sender, [K07]), sender)  # unsigned: refused
    dead = await _dead_letter(axis, sender, H49)
    await axis.submit(axis.signed(sender, [K09]), sender)  # after: _dead_letter claims all due
    delivery = await axis.store.get_delivery(dead)
    assert delivery is not None
    document = await axis.store.get_document(delivery.axis_id)
    assert document is not None
    return dead, document.document_id


async def test_the_console_in_chromium(axis: RunningAxis, endpoint: str) -> None:
    executable = chromium()
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        unavailable("playwright is not installed (pip install -e '.[test]')")
    with held_port() as refusing_port:  # bound, not listening
        dead, document_id = await _traffic(axis, refusing_port)
        await _browse(axis, endpoint, executable, dead, document_id)


async def _browse(
    axis: RunningAxis, endpoint: str, executable: str, dead: int, document_id: str
) -> None:
    from playwright.async_api import async_playwright

    shots = artifacts()
    print(f"console screenshots: {shots}")
    problems: list[str] = []
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.on(
                "response",
                lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None,
            )
            await _walk(page, axis, endpoint, dead, document_id, shots)
        finally:
            await browser.close()
    assert problems == []  # no script error, no Content-Security-Policy violation


async def _walk(
    page: Any, axis: RunningAxis, endpoint: str, dead: int, document_id: str, shots: Path
) -> None:
    await page.goto(axis.url + "/console")
    assert page.url.endswith("/console/login")
    assert await page.get_attribute("html", "lang") == "vi"
    await page.fill("#token", axis.operator_token)
    await page.screenshot(path=str(shots / "login.png"))
    await page.click("#login-button")
    await page.wait_for_url(axis.url + "/console")
    await page.wait_for_selector("#chart-traffic .uplot")  # uPlot ran under the CSP
    await page.wait_for_selector("#chart-agencies .uplot")
    await page.screenshot(path=str(shots / "overview.png"), full_page=True)

    await page.click("a[href='/console/dead-letters']")
    row = page.locator(f"#dead-letter-{dead}")
    await row.wait_for()
    assert "HTTP 410" in await row.inner_text()
    await page.screenshot(path=str(shots / "dead-letters.png"), full_page=True)

    await axis.store.update_endpoint(H49, "push", endpoint)  # the agency fixed its endpoint
    await row.locator("button.retry").click()
    await page.wait_for_selector(".flash.ok")
    assert await page.locator(f"#dead-letter-{dead}").count() == 0

    async def delivered() -> bool:
        delivery = await axis.store.get_delivery(dead)
        return delivery is not None and delivery.state in ("delivered", "acknowledged")

    await eventually(delivered, what="the retried dead letter delivered")

    await page.click("a[href='/console/trace']")
    await page.fill("#q", document_id)
    await page.click("#search-button")
    await page.wait_for_selector(".timeline .trace-delivered")
    (state,) = await page.locator("td.delivery-state").all()
    assert await state.get_attribute("data-state") in ("delivered", "acknowledged")
    assert await state.inner_text() in ("đã chuyển", "đã xác nhận")
    await page.screenshot(path=str(shots / "trace.png"), full_page=True)

    await page.click("#lang-en")
    await page.wait_for_selector("html[lang='en']")
    assert "Timeline" in await page.locator("h3").first.inner_text()
    assert await page.locator(".timeline .trace-delivered").count() == 1
    await page.click("a[href='/console/endpoints']")
    await page.wait_for_selector("#endpoints")
    assert "Failing endpoints" in await page.locator("h1").inner_text()  # the language stuck

    async def breaker_seen() -> bool:
        await page.reload()
        row = page.locator("#endpoints tr", has_text=K09)
        return await row.locator("td[class^='breaker-']").count() == 1

    await eventually(breaker_seen, what="K09's breaker on the console")
    await page.screenshot(path=str(shots / "endpoints.png"), full_page=True)

    await page.click("header form.logout button")
    await page.wait_for_url(axis.url + "/console/login")
    await page.goto(axis.url + "/console/dead-letters")
    assert page.url.endswith("/console/login")
