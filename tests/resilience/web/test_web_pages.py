"""The warnings pages on the sample's warnings: list, map, filters, detail, sign-in, empty."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlparse

from resilience.web import KEY_COOKIE

#: The sample's typhoon evening (as conftest.AT; test folders are not packages).
AT = "2026-07-20T20:30:00+08:00"


def _identifiers(html: str) -> list[str]:
    return re.findall(r'href="/warnings/([^"]+)"', html)


def test_exercise_time_lists_and_maps_the_warnings(web_client):
    page = web_client.get("/", params={"at": AT})
    assert page.status_code == 200
    html = page.text
    assert "2026-07-20 20:30 (北京时间)" in html
    for event in ("暴雨", "台风", "黄浦江高潮位"):
        assert event in html
    # Pudong (310115): the orange rainstorm Update is in force, the highest level there
    assert re.search(r'data-district="310115" data-level="orange"', html)
    assert html.count("<path ") == 16  # every district drawn
    assert 'data-level="none"' in html or html.count('data-level="blue"') > 0
    assert "Restricted" not in html  # public view: Public scope only
    assert len(_identifiers(html)) >= 10


def test_filters_by_hazard_level_and_agency(web_client):
    tide = web_client.get("/", params={"at": AT, "hazard": "huangpu_high_tide"}).text
    assert "黄浦江高潮位" in tide and "暴雨预警" not in tide
    orange = web_client.get("/", params={"at": AT, "level": "orange"}).text
    assert 'data-level="orange"' in orange and 'data-level="blue"' not in orange
    health = web_client.get("/", params={"at": AT, "agency": "health"}).text
    assert "高温" in health and "台风" not in health.split('<section class="list"')[1]
    assert web_client.get("/", params={"agency": "police"}).status_code == 422
    assert re.search(r'<option value="rainstorm"[^>]*>暴雨 Rainstorm</option>', tide)


def test_empty_now_suggests_the_exercise_time(web_client):
    html = web_client.get("/").text
    assert "No warnings active at 2026-12-07 12:00 (北京时间)" in html
    assert "The stored exercise runs 2026-07-20" in html
    (link,) = re.findall(r'<a href="(/\?[^"]+)">在其时间查看', html)
    at = parse_qs(urlparse(link.replace("&amp;", "&")).query)["at"][0]
    assert at.startswith("2026-07-2")
    assert _identifiers(web_client.get("/", params={"at": at}).text)


def test_bad_time_is_422_with_a_message(web_client):
    page = web_client.get("/", params={"at": "yesterday"})
    assert page.status_code == 422 and "ISO 8601" in page.text
    plus = web_client.get("/?at=2026-07-20T20:30:00+08:00")  # "+" unescaped: a space
    assert plus.status_code == 200 and "2026-07-20 20:30 (北京时间)" in plus.text
    local = web_client.get("/", params={"at": "2026-07-20T20:30"})  # the form's field
    assert "2026-07-20 20:30 (北京时间)" in local.text and _identifiers(local.text)


def test_detail_page_in_both_languages(web_client):
    listed = web_client.get("/", params={"at": AT, "hazard": "rainstorm", "level": "orange"})
    identifier = _identifiers(listed.text)[0]
    html = web_client.get(f"/warnings/{identifier}").text
    assert 'lang="zh-CN"' in html and 'lang="en"' in html
    assert "暴雨" in html and "Rainstorm" in html
    assert "防御指南" in html and "Instruction" in html
    assert f'href="/v1/alerts/{identifier}.xml"' in html
    xml = web_client.get(f"/warnings/{identifier}.xml")
    assert xml.headers["content-type"] == "application/cap+xml"
    assert f"<identifier>{identifier}</identifier>" in xml.text
    assert "(北京时间)" in html and "Update" in html
    (ref,) = re.findall(r'<dd><a href="/warnings/([^"]+)">', html)[:1]
    assert web_client.get(f"/warnings/{ref}").status_code == 200  # the message it updates
    missing = web_client.get("/warnings/no-such-thing")
    assert missing.status_code == 404 and "No such warning" in missing.text


def test_restricted_alert_needs_its_agency_key(web_client, web_service):
    when = {"at": "2026-07-22T12:00:00+08:00", "hazard": "substation_heat"}
    assert _identifiers(web_client.get("/", params=when).text) == []
    bad = web_client.post("/signin", data={"key": "wrong"})
    assert bad.status_code == 401 and KEY_COOKIE not in web_client.cookies
    signed = web_client.post(
        "/signin", data={"key": web_service["keys"]["power"]}, follow_redirects=False
    )
    assert signed.status_code == 303
    cookie = signed.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    try:
        (identifier,) = _identifiers(web_client.get("/", params=when).text)
        assert "Restricted" in web_client.get(f"/warnings/{identifier}").text
        web_client.cookies.set(KEY_COOKIE, web_service["keys"]["transport"])
        assert web_client.get(f"/warnings/{identifier}").status_code == 404  # not addressed
        web_client.cookies.delete(KEY_COOKIE)
        assert web_client.get(f"/warnings/{identifier}").status_code == 404  # hidden
        assert web_client.get(f"/warnings/{identifier}.xml").status_code == 404
    finally:
        web_client.cookies.clear()


def test_stylesheet_is_served_locally(web_client):
    css = web_client.get("/web/static/web.css")
    assert css.status_code == 200 and "district-map" in css.text
    html = web_client.get("/").text
    assert "http://" not in html.replace("http://www.w3.org/2000/svg", "")
    assert "https://" not in html
