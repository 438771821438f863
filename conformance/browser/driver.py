"""Drive a real browser's RTCPeerConnection from a test: an aiohttp server on 127.0.0.1 serves
a page holding ``conformance/peer_commands.js`` and ``page.js`` and hands it commands (long-poll
``GET /next``, ``POST /result``), so no WebDriver is needed. Chromium is opened through
Playwright, Firefox ESR from the command line with its own throw-away profile; each module
launches its browser once (module fixture) and runs every test in one event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import subprocess
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Generator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from aiohttp import web

if TYPE_CHECKING:
    from playwright.async_api import Page

CHROMIUM = "/usr/bin/chromium"
FIREFOX = "/usr/bin/firefox-esr"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
    # Plain host candidates instead of mDNS names (pywebrtc resolves those too, but a
    # container may have no multicast).
    "--disable-features=WebRtcHideLocalIpsWithMdns",
]
FIREFOX_PREFS = {
    "media.navigator.streams.fake": True,
    "media.navigator.permission.disabled": True,
    "media.peerconnection.ice.obfuscate_host_addresses": False,
    "browser.shell.checkDefaultBrowser": False,
    "browser.startup.homepage_override.mstone": "ignore",
    "browser.aboutwelcome.enabled": False,
    "datareporting.policy.dataSubmissionEnabled": False,
    "datareporting.healthreport.uploadEnabled": False,
    "toolkit.telemetry.enabled": False,
    "app.update.disabledForTesting": True,
    "app.normandy.enabled": False,
    "browser.safebrowsing.malware.enabled": False,
    "browser.safebrowsing.phishing.enabled": False,
    "network.captive-portal-service.enabled": False,
    "network.connectivity-service.enabled": False,
    "extensions.update.enabled": False,
}
# H.264 in Firefox without OpenH264 (its plugin is a download from Cisco at run time, impossible
# offline): `media.webrtc.hw.h264.enabled` offers H.264 when the graphics feature
# WEBRTC_HW_ACCELERATION_H264 is OK, which the blocklist pref below declares (1 =
# FEATURE_STATUS_OK; the downloaded blocklist writes the same pref); Firefox then decodes it with
# the system's libavcodec (Debian's libavcodec59) in its RDD process. OpenH264 is turned off so
# the plugin path is never the one tried.
FIREFOX_H264_PREFS: dict[str, bool | str | int] = {
    "media.webrtc.hw.h264.enabled": True,
    "gfx.blacklist.webrtc.hw.acceleration.h264": 1,
    "media.gmp-gmpopenh264.enabled": False,
}
# Sending H.264 as well: the platform encoder (libavcodec's libx264, in the RDD process) instead
# of the absent plugin. It also needs x264_zerolatency.c preloaded (firefox_h264_sender_env()).
FIREFOX_H264_SEND_PREFS: dict[str, bool | str | int] = {
    **FIREFOX_H264_PREFS,
    "media.ffmpeg.encoder.enabled": True,
    "media.webrtc.encoder_creation_strategy": 1,  # prefer the platform encoder
}
HERE = Path(__file__).parent
BUILD = HERE.parent.parent / "build" / "browser"
PAGE = b"<!doctype html><meta charset=utf-8><title>pywebrtc conformance</title>" + b"".join(
    b"<script>" + script.read_bytes() + b"</script>"
    for script in [
        HERE.parent / "peer_commands.js",  # H, the commands, shared with the libwebrtc peer
        HERE / "page.js",  # runs H's commands as the test server sends them
        HERE / "page_audio.js",  # audio commands added to H
        HERE / "page_video.js",  # video commands added to H
    ]
)
T = TypeVar("T")


class BrowserError(Exception):
    """A command failed inside the page (its JavaScript error text)."""


class RemotePage:
    """The page's command channel: ``await page.call("offer", pc_id)``."""

    def __init__(self) -> None:
        self._commands: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._ids = itertools.count(1)
        self.connected = asyncio.get_running_loop().create_future()
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/", self._index)
        app.router.add_get("/next", self._next)
        app.router.add_post("/result", self._result)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}/"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _index(self, request: web.Request) -> web.Response:
        return web.Response(body=PAGE, content_type="text/html")

    async def _next(self, request: web.Request) -> web.Response:
        if not self.connected.done():
            self.connected.set_result(None)
        command = await self._commands.get()
        return web.json_response(command)

    async def _result(self, request: web.Request) -> web.Response:
        reply = json.loads(await request.text())
        future = self._pending.pop(reply["id"], None)
        if future is not None and not future.done():
            if "error" in reply:
                future.set_exception(BrowserError(reply["error"]))
            else:
                future.set_result(reply.get("result"))
        return web.Response(text="ok")

    async def call(self, op: str, *args: Any, timeout: float = 30.0) -> Any:
        ident = next(self._ids)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[ident] = future
        self._commands.put_nowait({"id": ident, "op": op, "args": list(args)})
        return await asyncio.wait_for(future, timeout)


Closer = Callable[[], Awaitable[None]]


async def launch_chromium(url: str, extra_args: tuple[str, ...] = ()) -> Closer:
    from playwright.async_api import async_playwright

    manager = async_playwright()
    playwright = await manager.start()
    browser = await playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=[*CHROMIUM_ARGS, *extra_args]
    )
    page = await browser.new_page()
    await page.goto(url)

    async def close() -> None:
        await browser.close()
        await manager.__aexit__(None, None, None)

    return close


@contextlib.asynccontextmanager
async def chromium_page(url: str, wav: Path | None = None) -> AsyncIterator[Page]:
    """A page of headless Chromium at ``url``, ``wav`` (if given) as its microphone."""
    from playwright.async_api import async_playwright

    extra = [f"--use-file-for-fake-audio-capture={wav}"] if wav is not None else []
    playwright = await async_playwright().start()
    browser = await playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=[*CHROMIUM_ARGS, *extra]
    )
    try:
        page = await browser.new_page()
        await page.goto(url)
        yield page
    finally:
        await browser.close()
        await playwright.stop()


def firefox_h264_sender_env() -> dict[str, str]:
    """The environment for a Firefox that sends H.264 through libx264 (with
    FIREFOX_H264_SEND_PREFS): x264_zerolatency.c, compiled into build/ when missing or older
    than its source, preloaded."""
    source = HERE / "x264_zerolatency.c"
    library = BUILD / "x264_zerolatency.so"
    if not library.exists() or library.stat().st_mtime < source.stat().st_mtime:
        BUILD.mkdir(parents=True, exist_ok=True)
        partial = library.with_suffix(f".{os.getpid()}.tmp")
        subprocess.run(
            ["gcc", "-shared", "-fPIC", "-O2", "-Wall", "-o", str(partial), str(source), "-ldl"],
            check=True,
        )
        partial.replace(library)  # atomic: a concurrent run never loads half a library
    return {"LD_PRELOAD": str(library)}


async def launch_firefox(
    url: str,
    prefs: Mapping[str, bool | str | int] | None = None,
    env: Mapping[str, str] | None = None,
) -> Closer:
    """Firefox ESR with a throw-away profile holding FIREFOX_PREFS updated by ``prefs``, and
    ``env`` added to its environment."""
    profile = tempfile.TemporaryDirectory(prefix="pywebrtc-firefox-")
    merged = {**FIREFOX_PREFS, **(prefs or {})}
    user_js = "".join(f"user_pref({json.dumps(k)}, {json.dumps(v)});\n" for k, v in merged.items())
    (Path(profile.name) / "user.js").write_text(user_js)
    proc = subprocess.Popen(
        [FIREFOX, "--headless", "--no-remote", "--profile", profile.name, url],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "MOZ_HEADLESS": "1", **(env or {})},
    )

    async def close() -> None:
        proc.kill()
        proc.wait(30)
        profile.cleanup()

    return close


class BrowserSession:
    """One browser, one page, one event loop for a whole test module."""

    def __init__(self, loop: asyncio.AbstractEventLoop, page: RemotePage, close: Closer) -> None:
        self.loop = loop
        self.page = page
        self._close = close

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float = 60.0) -> T:
        return self.loop.run_until_complete(asyncio.wait_for(coroutine, timeout))

    @classmethod
    def open(
        cls, launcher: Callable[[str], Awaitable[Closer]]
    ) -> Generator[BrowserSession, None, None]:
        """For a module fixture: yield a session, then shut the browser down."""
        loop = asyncio.new_event_loop()

        async def start() -> tuple[RemotePage, Closer]:
            page = RemotePage()
            await page.start()
            close = await launcher(page.url)
            try:
                await asyncio.wait_for(page.connected, 60)
            except BaseException:
                await close()
                raise
            return page, close

        page, close = loop.run_until_complete(start())
        session = cls(loop, page, close)
        try:
            yield session
        finally:

            async def stop() -> None:
                page._commands.put_nowait({"id": 0, "op": "quit", "args": []})
                await close()
                await page.stop()

            loop.run_until_complete(stop())
            loop.close()
