"""The warnings pages in a real browser: Debian's chromium (selenium) against uvicorn on
127.0.0.1; screenshots saved under the test's folder, and no request leaves the loopback."""

from __future__ import annotations

import shutil

import pytest

AT = "2026-07-20T20:30:00+08:00"


@pytest.fixture
def server(web_app, browser):
    with browser.serve(web_app("2026-12-07T12:00:00+08:00")) as root:
        yield root


@pytest.mark.slow
def test_warnings_and_detail_pages_in_chromium(server, chromium, browser, tmp_path):
    from selenium.webdriver.common.by import By

    driver = chromium
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
        assert browser.non_white_share(png) > 0.05, f"{png} looks blank"
    urls = browser.requested_urls(driver)
    assert urls
    outside = browser.outside_loopback(urls)
    assert outside == [], f"requests left 127.0.0.1: {outside}"
