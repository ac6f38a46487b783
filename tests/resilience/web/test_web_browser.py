"""The warnings pages in a real browser: Debian's chromium (selenium) against uvicorn on
127.0.0.1; screenshots saved under the test's folder, and no request leaves the loopback."""

from __future__ import annotations

import json
import shutil
import socket
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest
import uvicorn

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
AT = "2026-07-20T20:30:00+08:00"


def _browser_or_skip():
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
    options.add_argument("--window-size=1280,1000")
    options.add_argument("--no-first-run")
    options.add_argument("--disable-background-networking")
    options.add_argument("--disable-component-update")
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    return webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))


def _non_white_share(path: Path) -> float:
    from PIL import Image

    counts = Image.open(path).convert("L").histogram()  # 256 grey levels
    return sum(counts[:240]) / sum(counts)


def _requested_urls(driver) -> list[str]:
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls


@pytest.fixture
def server(web_app):
    app = web_app("2026-12-07T12:00:00+08:00")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    uv = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=uv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not uv.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert uv.started
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        uv.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.mark.slow
def test_warnings_and_detail_pages_in_chromium(server, tmp_path):
    from selenium.webdriver.common.by import By

    driver = _browser_or_skip()
    try:
        driver.get(f"{server}/?at={AT.replace('+', '%2B')}")
        assert "2026-07-20 20:30 (北京时间)" in driver.find_element(By.TAG_NAME, "h1").text
        coloured = driver.find_elements(By.CSS_SELECTOR, "path[data-level='orange']")
        assert coloured, "no district coloured orange at the exercise time"
        fill = coloured[0].value_of_css_property("fill")
        assert fill.replace(" ", "") in {"rgb(255,127,0)", "#ff7f00"}
        items = driver.find_elements(By.CSS_SELECTOR, "li.warning a")
        assert len(items) >= 10
        shutil.rmtree(tmp_path / "shots", ignore_errors=True)
        (tmp_path / "shots").mkdir()
        index_png = tmp_path / "shots" / "warnings.png"
        driver.save_screenshot(str(index_png))
        detail_href = next(a.get_attribute("href") for a in items if "暴雨" in a.text)
        driver.get(detail_href)
        zh = driver.find_element(By.CSS_SELECTOR, "article[lang='zh-CN']").text
        en = driver.find_element(By.CSS_SELECTOR, "article[lang='en']").text
        assert "暴雨" in zh and "防御指南" in zh
        assert "Rainstorm" in en and "Instruction" in en
        detail_png = tmp_path / "shots" / "detail.png"
        driver.save_screenshot(str(detail_png))
        for png in (index_png, detail_png):
            assert _non_white_share(png) > 0.05, f"{png} looks blank"
        urls = _requested_urls(driver)
        assert urls
        outside = [u for u in urls if urlparse(u).hostname not in ("127.0.0.1", None)]
        assert outside == [], f"requests left 127.0.0.1: {outside}"
    finally:
        driver.quit()
