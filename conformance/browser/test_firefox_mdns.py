"""Firefox ESR as it ships: host candidates hidden behind mDNS ``.local`` names (RFC 8828,
``media.peerconnection.ice.obfuscate_host_addresses`` left on). pywebrtc resolves them in the
background (setRemoteDescription does not wait) and also learns Firefox's address as a
peer-reflexive candidate from its checks; both offer directions open a channel and echo.

Firefox, its page server and our peer run in a network namespace of their own
(conformance/netns.py): the mDNS queries and Firefox's multicast answers stay off the machine's
real interfaces."""

from __future__ import annotations

import functools
from collections.abc import Iterator

import pytest

from conformance.browser.driver import BrowserSession, launch_firefox
from conformance.browser.scenario import connect, echo_both_ways
from conformance.netns import HOST_ADDRESS, isolated_network
from pywebrtc.ice import gather

HIDDEN: dict[str, bool | str] = {"media.peerconnection.ice.obfuscate_host_addresses": True}


@pytest.fixture(scope="module")
def firefox_mdns() -> Iterator[BrowserSession]:
    with isolated_network():
        gather._enumerated.clear()  # host addresses seen outside the namespace are not ours now
        yield from BrowserSession.open(functools.partial(launch_firefox, prefs=HIDDEN))
    gather._enumerated.clear()


@pytest.mark.parametrize("we_offer", [True, False], ids=["pywebrtc-offers", "firefox-offers"])
def test_firefox_with_mdns_candidates(firefox_mdns: BrowserSession, we_offer: bool) -> None:
    async def body() -> None:
        link = await connect(
            firefox_mdns.page, we_offer, {"ordered": {}, "unordered": {"ordered": False}}
        )
        try:
            remote = link.pc.remoteDescription
            assert remote is not None and ".local" in remote.sdp
            assert HOST_ADDRESS not in remote.sdp  # hidden behind its name
            await echo_both_ways(link, "ordered")
            await echo_both_ways(link, "unordered")
        finally:
            await link.close()

    firefox_mdns.run(body())
