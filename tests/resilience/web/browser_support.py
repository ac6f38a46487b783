"""Shared helpers of the browser tests: Debian's chromium (selenium) and uvicorn on 127.0.0.1.

``chromium_or_skip()`` starts headless chromium with Chrome's performance log on (skipping,
with the reason printed, when ``/usr/bin/chromium`` or ``/usr/bin/chromedriver`` is
missing); ``serve(app)`` runs an app on a free loopback port for a ``with`` block;
``requested_urls`` and ``outside_loopback`` read the performance log; ``non_white_share``
says how much of a screenshot is not blank.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import uvicorn

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")


def chromium_or_skip(width: int = 1280, height: int = 1000) -> Any:
    """Return a headless chromium WebDriver, or skip the test when the browser is missing."""
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if missing:
        print(f"skipped: {', '.join(missing)} missing")
        pytest.skip(f"no browser: {', '.join(missing)} missing")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(flag)
    options.add_argument(f"--window-size={width},{height}")
    options.add_argument("--no-first-run")
    options.add_argument("--disable-background-networking")
    options.add_argument("--disable-component-update")
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    return webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))


def non_white_share(path: Path) -> float:
    """Return the share of a screenshot's pixels darker than near-white (0 = blank)."""
    from PIL import Image

    counts = Image.open(path).convert("L").histogram()  # 256 grey levels
    return sum(counts[:240]) / sum(counts)


def requested_urls(driver: Any) -> list[str]:
    """Return every URL the browser requested since the log was last read."""
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


def outside_loopback(urls: list[str]) -> list[str]:
    """Return the URLs whose host is not 127.0.0.1 (data: URLs have none and pass)."""
    return [u for u in urls if urlparse(u).hostname not in ("127.0.0.1", None)]


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """Run ``app`` with uvicorn on a free port of 127.0.0.1; yield its root URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started, "uvicorn did not start within 10 s"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
