"""Debian's headless Chromium as a page reader: the DOM after the page rendered
(--dump-dom), a screenshot, and a small parsed tree of that DOM to assert on. Every run has
its own temporary profile (--user-data-dir) and a bound on time; as root Chromium needs
--no-sandbox."""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pytest

from .proc import run

# Elements without an end tag in HTML.
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}


def chromium() -> str | None:
    return shutil.which("chromium")


def need_chromium() -> str:
    """Chromium's path. Missing: the test is skipped, unless STEK_REQUIRE_PEERS is set (CI
    that installed the peers), where a missing peer is a failure."""
    path = chromium()
    if path is None:
        message = "chromium not installed (scripts/setup.sh peers)"
        if os.environ.get("STEK_REQUIRE_PEERS"):
            pytest.fail(message + " and STEK_REQUIRE_PEERS is set")
        pytest.skip(message)
    return path


def _chromium_run(url: str, *args: str, timeout: float) -> bytes:
    with tempfile.TemporaryDirectory(prefix="stek-chromium-") as profile:
        proc = run([need_chromium(), "--headless", "--no-sandbox", "--disable-gpu",
                    f"--user-data-dir={profile}", "--no-first-run", "--disable-extensions",
                    "--disable-background-networking", "--disable-component-update", *args, url],
                   timeout=timeout, env=dict(os.environ, DBUS_SESSION_BUS_ADDRESS="disabled:"))
    return proc.stdout


def dump_dom(url: str, timeout: float = 120) -> str:
    """The document as Chromium built it from `url`, serialised (--dump-dom)."""
    return _chromium_run(url, "--dump-dom", timeout=timeout).decode()


def screenshot(url: str, png: Path, width: int = 1200, height: int = 900,
               timeout: float = 120) -> Path:
    """A PNG of `url` rendered in a width x height window."""
    _chromium_run(url, f"--screenshot={png}", f"--window-size={width},{height}",
                  "--hide-scrollbars", timeout=timeout)
    return png


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    children: list[Element] = field(default_factory=list)
    parts: list[str | Element] = field(default_factory=list)  # text and children, in order

    @property
    def text(self) -> str:
        """The text content, as a browser's textContent (tags dropped)."""
        return "".join(p if isinstance(p, str) else p.text for p in self.parts)

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    def walk(self):
        yield self
        for c in self.children:
            yield from c.walk()

    def find_all(self, tag: str | None = None, cls: str | None = None, **attrs) -> list[Element]:
        """Descendants (and self) with this tag, class and attribute values (data_x = data-x)."""
        want = {k.replace("_", "-"): v for k, v in attrs.items()}
        return [e for e in self.walk()
                if (tag is None or e.tag == tag) and (cls is None or cls in e.classes)
                and all(e.attrs.get(k) == v for k, v in want.items())]

    def one(self, tag: str | None = None, cls: str | None = None, **attrs) -> Element:
        found = self.find_all(tag, cls, **attrs)
        assert len(found) == 1, f"{len(found)} elements match {tag} {cls} {attrs}"
        return found[0]


class _TreeBuilder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Element("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag, attrs):
        e = Element(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(e)
        self.stack[-1].parts.append(e)
        if tag not in VOID:
            self.stack.append(e)

    def handle_startendtag(self, tag, attrs):
        e = Element(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(e)
        self.stack[-1].parts.append(e)

    def handle_endtag(self, tag):
        for i in range(len(self.stack) - 1, 0, -1):
            if self.stack[i].tag == tag:
                del self.stack[i:]
                return

    def handle_data(self, data):
        self.stack[-1].parts.append(data)


def parse(html: str) -> Element:
    """The tree of a serialised DOM (Chromium's --dump-dom output is well formed)."""
    builder = _TreeBuilder()
    builder.feed(html)
    builder.close()
    return builder.root
