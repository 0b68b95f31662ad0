"""The bare ceiling: HTTP + lxml parse + signature verification, nothing else.

``python -m edoc_axis.bench.ceiling --port P`` answers ``POST /`` (any path)
with 200 once the body parses and its signature verifies with the axis's own
verifier, 400/422 otherwise. No authentication, schema, certificate chain,
store, receipt or logging: the most an aiohttp process can do with the same
document, measured by the same load generator. The axis's rate divided by
this one is the figure the benchmark tracks.
"""

from __future__ import annotations

import argparse
import asyncio
import signal

from aiohttp import web
from lxml import etree

from edoc_axis.errors import EdocError
from edoc_axis.signature import verify_package
from edoc_axis.terminal import run_event_loop

_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, huge_tree=True, collect_ids=False
)


async def verify(request: web.Request) -> web.Response:
    raw = await request.read()
    try:
        root = etree.fromstring(raw, parser=_PARSER)
    except etree.XMLSyntaxError:
        return web.Response(status=400, text="not well-formed")
    try:
        verify_package(root, document_size=len(raw))
    except EdocError as error:
        return web.Response(status=422, text=error.code)
    return web.Response(status=200, text="ok")


def make_app() -> web.Application:
    app = web.Application(client_max_size=128 * 1024 * 1024)
    app.router.add_post("/{tail:.*}", verify)
    return app


async def serve(host: str, port: int) -> None:
    runner = web.AppRunner(make_app(), access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = runner.addresses[0]
    print(f"bench ceiling listening on http://{bound[0]}:{bound[1]}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m edoc_axis.bench.ceiling")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    run_event_loop(serve(args.host, args.port))  # uvloop when installed, as the axis


if __name__ == "__main__":
    main()
