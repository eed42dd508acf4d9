"""Headless-Chromium checks of a built site served over loopback HTTP: every local image
loads, math is typeset by the locally served MathJax with no error nodes, internal links
resolve, and no page loads a script from another host. Used by ``make test`` on the built book
(tests/browser_book.py) and tested on planted defects (tests/test_browser.py)."""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import tempfile
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urldefrag, urljoin, urlparse

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--window-size=1200,900"]
MATHJAX_WAIT = """
const done = arguments[arguments.length - 1];
if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
  MathJax.startup.promise.then(() => done("typeset")).catch(e => done("error: " + e));
} else { done("no-mathjax"); }
"""
PAGE_FACTS = """
const math = Array.from(document.querySelectorAll("span.math, div.math"));
return {
  math: math.length,
  typeset: math.filter(m => m.querySelector("mjx-container svg")).length,
  errors: document.querySelectorAll("mjx-merror, [data-mjx-error]").length,
  images: Array.from(document.images).map(i => ({src: i.currentSrc || i.src,
                                                  ok: i.complete && i.naturalWidth > 0})),
  links: Array.from(document.querySelectorAll("a[href]")).map(a => a.href),
  scripts: Array.from(document.scripts).map(s => s.src).filter(s => s),
  ids: Array.from(document.querySelectorAll("[id]")).map(e => e.id),
};
"""


def browser_available() -> bool:
    """True when Debian's chromium and chromedriver are installed."""
    return Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def serve(root: Path) -> Iterator[str]:
    """Serve ``root`` on 127.0.0.1 at a free port; yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def chromium() -> Iterator[object]:
    """A headless Chromium driven by Selenium through Debian's chromedriver (no downloads)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="ztl-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS + [f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_script_timeout(60)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def _status(url: str, cache: dict[str, int]) -> int:
    if url not in cache:
        try:
            with urllib.request.urlopen(url, timeout=10) as resp:
                cache[url] = resp.status
        except urllib.error.HTTPError as exc:
            cache[url] = exc.code
    return cache[url]


def check_site(root: Path, pages: list[str], *, min_images: dict[str, int] | None = None
               ) -> list[str]:
    """Problems found on ``pages`` (paths relative to ``root``); an empty list means all good."""
    problems: list[str] = []
    statuses: dict[str, int] = {}
    ids_of: dict[str, set[str]] = {}
    with serve(root) as base, chromium() as driver:
        host = urlparse(base).netloc
        for page in pages:
            url = urljoin(base, page)
            driver.get(url)
            mathjax = driver.execute_async_script(MATHJAX_WAIT)
            facts = driver.execute_script(PAGE_FACTS)
            ids_of[url] = set(facts["ids"])
            if facts["math"] and mathjax != "typeset":
                problems.append(f"{page}: {facts['math']} math elements but MathJax {mathjax}")
            if facts["typeset"] < facts["math"]:
                problems.append(f"{page}: only {facts['typeset']} of {facts['math']} math "
                                "elements typeset as SVG")
            if facts["errors"]:
                problems.append(f"{page}: {facts['errors']} MathJax error node(s)")
            for src in facts["scripts"]:
                if urlparse(src).netloc != host:
                    problems.append(f"{page}: loads a script from another host: {src}")
            local = [i for i in facts["images"] if urlparse(i["src"]).netloc == host]
            for img in local:
                if not img["ok"]:
                    problems.append(f"{page}: image does not load: {img['src']}")
            want = (min_images or {}).get(page, 0)
            if len(local) < want:
                problems.append(f"{page}: {len(local)} local images, expected at least {want}")
            for href in facts["links"]:
                target, fragment = urldefrag(href)
                if urlparse(target).netloc != host:
                    continue
                if _status(target, statuses) != 200:
                    problems.append(f"{page}: broken link {href}")
                elif fragment and target == url and fragment not in ids_of[url]:
                    problems.append(f"{page}: link to missing anchor #{fragment}")
    return problems


def book_pages(html: Path) -> list[str]:
    """Every content page of a built Jupyter Book: not search, genindex, the root redirect, or
    anything under ``_static``/``_sources``-style folders."""
    pages = []
    for path in html.rglob("*.html"):
        rel = path.relative_to(html)
        if rel.parts[0].startswith("_") or rel.as_posix() in {"genindex.html", "search.html",
                                                              "index.html"}:
            continue
        pages.append(rel.as_posix())
    return sorted(pages)


def require_browser() -> bool:
    """Whether to run browser checks: a missing browser fails under CI=true, else skips."""
    if browser_available():
        return True
    if os.environ.get("CI", "").lower() == "true":
        raise RuntimeError("CI=true but chromium/chromedriver are missing: run `make browser` "
                           "(apt-get install chromium chromium-driver)")
    return False
