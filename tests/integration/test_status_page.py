# ctest-timeout: 420  ctest-cost: 90
"""The status pages (issue 14, item 5) in Debian's headless Chromium: a real stekd with two
domains and a real stek-agent (a json sink that works, a command sink that fails), both pages
loaded on their metrics listeners. The rendered DOM must name the domains with the ring
versions stekd's /metrics gives, list the agent by its certificate's host with the ring it
holds, draw each domain's key timeline in the states the schedule gives (erased,
decrypt-only, encrypting, next, pending), show the agent's ring, epoch, runway end and sink
health, and hold no key byte of any ring served. A screenshot of each page is kept in the
test's directory.

I = 20 s, H = 1, L = 2: the test waits for one boundary after stekd's start, so the epoch
before the current one is held and decrypt-only. One Chromium run takes 2 to 15 s on a loaded
machine; /metrics is read before and after each run, and the page must agree with one of
the two (a boundary may pass in between)."""

from __future__ import annotations

import json
import struct
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from stektest import LOOPBACK, wait_for_port, wait_until
from stektest.agent import ShmDir, start_agent, write_config
from stektest.browser import Element, dump_dom, need_chromium, parse, screenshot
from stektest.metrics import get, labelled
from stektest.ring import assert_no_key_bytes, names_by_epoch, role
from stektest.stekd import Stekd

INTERVAL, HISTORY, LOOKAHEAD = 20, 1, 2
DOMAINS = ("eu-west", "us-east")
PAGE_STATE = {"encrypt": "encrypting", "decrypt": "decrypt-only", "next": "next",
              "pending": "pending", "expired": "erased"}


def utc(t: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


@dataclass
class Load:
    """One page as Chromium rendered it, with the metrics read just before and after."""
    dom: Element
    html: str        # the serialised DOM
    source: str      # the page's bytes as served (read with urllib)
    before: dict[str, float]
    after: dict[str, float]
    seconds: float   # the Chromium run


@dataclass
class Pages:
    dir: Path
    first_epoch: int                 # the epoch stekd started in: nothing older was ever made
    stekd: Load
    agent: Load
    rings: list[dict] = field(default_factory=list)  # every ring stekd and the agent handed out
    sinks: dict[str, str] = field(default_factory=dict)  # "ok" / "failing" sink name -> name
    shots: dict[str, Path] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)


def load(port: int) -> Load:
    url = f"http://{LOOPBACK}:{port}/"
    before = labelled(get(port, "/metrics")[1])
    start = time.monotonic()
    html = dump_dom(url)
    seconds = time.monotonic() - start
    status, source = get(port, "/")
    assert status == 200
    after = labelled(get(port, "/metrics")[1])
    return Load(parse(html), html, source, before, after, seconds)


def stekd_version(m: dict[str, float], domain: str) -> int:
    return int(m[f'stek_ring_version{{domain="{domain}"}}'])


def agent_version(m: dict[str, float]) -> int:
    return int(m['stek_agent_ring_version{domain="eu-west"}'])


@pytest.fixture(scope="module")
def pages(tmp_path_factory) -> Pages:
    need_chromium()
    started = time.monotonic()
    tmp = tmp_path_factory.mktemp("status_page")
    stekd = Stekd(tmp / "stekd", DOMAINS, INTERVAL, HISTORY, LOOKAHEAD, start=False)
    with ShmDir() as shm, stekd:
        stekd.start()
        wait_for_port(stekd.metrics_port, 20, proc=stekd.proc)
        first_epoch = int(labelled(get(stekd.metrics_port, "/metrics")[1])["stek_current_epoch"])
        ring_file, broken_file = shm / "ring.json", shm / "broken.json"
        config = write_config(
            tmp / "agent.toml", servers=[stekd.url], cache_dir=shm / "cache",
            tls={"cert": stekd.pki / "host-web1.crt", "key": stekd.pki / "host-web1.key",
                 "ca": stekd.pki / "ca.crt"},
            sinks=[{"type": "json", "path": ring_file},
                   {"type": "command", "path": broken_file, "format": "json",
                    "command": ["false"], "command_timeout": 5}])
        with start_agent(tmp, config) as agent:
            # One boundary after the start, and the agent on the ring of the new epoch.
            wait_until(lambda: agent.metrics().get("stek_agent_current_epoch", 0) > first_epoch
                       and agent_version(labelled(agent.metrics_text())) ==
                       stekd_version(labelled(get(stekd.metrics_port, "/metrics")[1]),
                                     "eu-west"),
                       3 * INTERVAL, what="the agent on the ring of the epoch after the start")
            def failing_sinks():
                return [k for k, v in labelled(agent.metrics_text()).items()
                        if k.startswith("stek_agent_sink_failing{") and v == 1]
            wait_until(failing_sinks, 30, what="the command sink to fail")
            # The rings of both domains, as stekd serves them (web3's fetch makes it a second,
            # unconnected agent on the page), before and after the pages load.
            rings = [stekd.ring("host-web1")[1], stekd.ring("host-web3")[1]]
            p = Pages(tmp, first_epoch, load(stekd.metrics_port), load(agent.metrics_port))
            p.rings = rings + [stekd.ring("host-web1")[1], stekd.ring("host-web3")[1],
                               json.loads(ring_file.read_text())]
            for key, value in labelled(agent.metrics_text()).items():
                if key.startswith("stek_agent_sink_failing{"):
                    name = key.split('sink="', 1)[1].rsplit('"', 1)[0]
                    p.sinks["failing" if value == 1 else "ok"] = name
            for name, port in (("stekd", stekd.metrics_port), ("agent", agent.metrics_port)):
                t = time.monotonic()
                p.shots[name] = screenshot(f"http://{LOOPBACK}:{port}/", tmp / f"{name}.png")
                p.timings[f"screenshot {name}"] = time.monotonic() - t
    p.timings["dump-dom stekd"] = p.stekd.seconds
    p.timings["dump-dom agent"] = p.agent.seconds
    p.timings["fixture total"] = time.monotonic() - started
    (tmp / "timings.json").write_text(json.dumps(p.timings, indent=1))
    print(f"\nstatus pages: screenshots in {tmp}; timings {p.timings}")
    return p


def page_epoch(dom: Element) -> int:
    return int(dom.one("dd", id="epoch").one("span").attrs["data-epoch"])


# ---- stekd's page

def test_stekd_page_lists_each_domain_with_the_ring_version_metrics_give(pages):
    load = pages.stekd
    epoch = page_epoch(load.dom)
    for domain in DOMAINS:
        row = load.dom.one("tr", "domain", data_domain=domain)
        assert row.one("td", "name").text == domain
        version = int(row.one("td", "ring-version").text)
        assert version in (stekd_version(load.before, domain), stekd_version(load.after, domain))
        assert version >> 20 == epoch  # the version of the epoch the page shows


def test_stekd_page_lists_the_agent_by_its_identity_with_the_ring_it_holds(pages):
    load = pages.stekd
    row = load.dom.one("tr", "agent", data_host="web1")
    assert row.one("td", "host").text == "web1"
    assert row.one("td", "domains").text == "eu-west"
    held = int(row.one("span", "ring-version").text)
    agent = pages.agent
    assert held in (agent_version(agent.before), agent_version(agent.after),
                    stekd_version(load.before, "eu-west"), stekd_version(load.after, "eu-west"))
    assert "fresh" in row.text and "connected" in row.text
    # The runway the agent has: through the last epoch it holds, L epochs ahead.
    assert utc(((held >> 20) + LOOKAHEAD + 1) * INTERVAL) in row.one("td", "runway").text
    assert "agent" in load.dom.one(id="sinks").text  # sink health: on the agent's own page


def test_stekd_page_draws_each_domains_timeline_in_the_schedules_states(pages):
    dom = pages.stekd.dom
    epoch = page_epoch(dom)
    assert epoch > pages.first_epoch
    names = {}
    for ring in pages.rings:
        if ring["keys"] and ring["keys"][0]["domain"] == "eu-west":
            names.update(names_by_epoch(ring))
    for domain in DOMAINS:
        slots = dom.one("div", "timeline", data_domain=domain).find_all("div", "slot")
        epochs = [int(s.attrs["data-epoch"]) for s in slots]
        assert epochs == list(range(epoch - HISTORY - 2, epoch + LOOKAHEAD + 1))
        for slot, k in zip(slots, epochs):
            expected = PAGE_STATE[role(k, epoch, HISTORY)]
            if expected != "erased" and k < pages.first_epoch:
                expected = "not-held"
            assert slot.attrs["data-state"] == expected, (domain, k, epoch)
            assert expected in slot.classes
            if domain == "eu-west" and expected != "erased" and k in names:
                assert f"key {names[k]}" in slot.attrs["title"]
        assert {s.attrs["data-state"] for s in slots} == {
            "erased", "decrypt-only", "encrypting", "next", "pending"}
        assert len(dom.one("div", "timeline", data_domain=domain).find_all("span", "now")) == 1


def test_stekd_page_shows_health_and_runway(pages):
    dom = pages.stekd.dom
    assert "healthy" in dom.one("h1").text and "unhealthy" not in dom.one("h1").text
    epoch = page_epoch(dom)
    assert utc((epoch + LOOKAHEAD + 1) * INTERVAL) in dom.one("dd", id="runway").text


# ---- the agent's page

def test_agent_page_shows_domain_ring_epoch_runway_and_each_sinks_health(pages):
    load = pages.agent
    dom = load.dom
    assert dom.one("dd", id="domain").text == "eu-west"
    assert dom.one("dd", id="host").text == "web1"
    version = int(dom.one("dd", id="ring-version").text)
    assert version in (agent_version(load.before), agent_version(load.after))
    epoch = int(dom.one("dd", id="epoch").text.split()[0])
    assert epoch in (int(load.before['stek_agent_current_epoch{domain="eu-west"}']),
                     int(load.after['stek_agent_current_epoch{domain="eu-west"}']))
    assert utc((epoch + LOOKAHEAD + 1) * INTERVAL) in dom.one("dd", id="runway").text
    ok = dom.one("tr", "sink", data_sink=pages.sinks["ok"])
    failing = dom.one("tr", "sink", data_sink=pages.sinks["failing"])
    assert ok.one("td", "health").text == "ok"
    assert int(ok.one("td", "applied").text) in (agent_version(load.before),
                                                 agent_version(load.after))
    assert failing.one("td", "health").text == "failing"
    assert "unhealthy" in dom.one("h1").text  # the failing sink fails /healthz too


# ---- both

def test_no_key_byte_is_on_either_page(pages):
    assert len(pages.rings) == 5 and all(r["keys"] for r in pages.rings)
    for load in (pages.stekd, pages.agent):
        assert_no_key_bytes(load.html, pages.rings)
        assert_no_key_bytes(load.source, pages.rings)
        assert "<script" not in load.source


def test_screenshots_are_rendered_at_the_window_size(pages):
    for name, png in pages.shots.items():
        data = png.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n", name
        width, height = struct.unpack(">II", data[16:24])
        assert (width, height) == (1200, 900), name
        # A blank 1200 x 900 PNG is about 4 KB; a page with its tables and colours is more.
        assert len(data) > 20_000, f"{name}.png is only {len(data)} bytes"
