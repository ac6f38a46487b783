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
        assert web_client.get(f"/warnings/{identifier}").status_code == 200  # downstream: metro
        web_client.cookies.set(KEY_COOKIE, web_service["keys"]["water_authority"])
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


def _slider(html: str) -> dict[str, int]:
    (tag,) = re.findall(r'<input type="range" id="time-slider"[^>]*>', html)
    return {k: int(v) for k, v in re.findall(r'(min|max|step|value)="(\d+)"', tag)}


def test_slider_spans_the_stored_warnings_and_shows_the_viewed_time(web_client, web_service):
    from datetime import datetime

    from resilience.storage.database import make_engine
    from resilience.web.pages import stored_span

    start, end = stored_span(make_engine(web_service["url"]))  # first onset, last expiry
    html = web_client.get("/", params={"at": AT}).text
    slider = _slider(html)
    assert slider["step"] == 1800  # half an hour
    assert start.timestamp() - 1800 < slider["min"] <= start.timestamp()
    assert end.timestamp() <= slider["max"] < end.timestamp() + 1800
    assert slider["value"] == datetime.fromisoformat(AT).timestamp()
    assert '<script src="/web/static/time-slider.js" defer></script>' in html
    ticks = re.findall(r'<option value="(\d+)" label="([^"]+)">', html)
    assert [label for _, label in ticks][:1] == ["7月21日 21 Jul"]  # Shanghai midnights
    assert all(slider["min"] <= int(s) <= slider["max"] for s, _ in ticks)
    assert all((int(s) + 8 * 3600) % 86400 == 0 for s, _ in ticks)
    # a time before the exercise: the slider sits at its start and the page says so
    early = web_client.get("/", params={"at": "2026-07-01T00:00"}).text
    assert _slider(early)["value"] == slider["min"] and "outside it" in early
    js = web_client.get("/web/static/time-slider.js")
    assert js.status_code == 200 and "field.form.submit()" in js.text


def test_hour_links_step_the_view_and_keep_the_filters(web_client):
    html = web_client.get("/", params={"at": AT, "hazard": "rainstorm"}).text
    previous = re.search(r'<a href="([^"]+)" rel="prev"', html)
    following = re.search(r'<a href="([^"]+)" rel="next"', html)
    assert previous and following
    for link, shown in ((previous, "2026-07-20 19:30"), (following, "2026-07-20 21:30")):
        query = parse_qs(urlparse(link.group(1).replace("&amp;", "&")).query)
        assert query["hazard"] == ["rainstorm"]
        page = web_client.get(link.group(1).replace("&amp;", "&"))
        assert page.status_code == 200 and f"{shown} (北京时间)</time>" in page.text


def test_every_page_has_the_navigation_with_its_section_marked(web_client):
    links = ("/risk", "/checks/new", "/checks", "/docs", "/v1/feeds/public.atom", "/signin")
    for path, current in (
        ("/", "/"),
        (f"/warnings/{_identifiers(web_client.get('/', params={'at': AT}).text)[0]}", "/"),
        ("/warnings/no-such-thing", "/"),
        ("/signin", "/signin"),
    ):
        html = web_client.get(path).text
        nav = html.split('<nav class="site"')[1].split("</header>")[0]
        for href in links:
            assert f'href="{href}"' in nav, (path, href)
        assert 'href="/checks/signin"' in nav
        marked = re.findall(r'<a href="([^"]+)" class="current" aria-current="page">', nav)
        assert marked == [current], (path, marked)


def test_pages_of_other_sections_mark_their_own_link():
    """The engineers' templates are marked by their names alone (no context needed)."""
    from resilience.web.routes import _environment

    env = _environment()
    for template, context, current in (
        ("checks_signin.html", {"error": ""}, "/checks/signin"),
        ("checks_list.html", {"items": []}, "/checks"),
    ):
        html = env.get_template(template).render(agencies={}, viewer=None, **context)
        marked = re.findall(r'<a href="([^"]+)" class="current" aria-current="page">', html)
        assert marked == [current], (template, marked)
    signed_in = env.get_template("checks_list.html").render(agencies={}, viewer=None, items=[])
    assert 'action="/signout"' in signed_in  # only a signed-in engineer reaches the list


def test_slider_widens_to_whole_steps_and_ticks_at_shanghai_midnight():
    from datetime import datetime

    from resilience.web.pages import time_slider

    def epoch(text: str) -> int:
        return int(datetime.fromisoformat(text).timestamp())

    span = (
        datetime.fromisoformat("2026-07-20T14:10:00+08:00"),
        datetime.fromisoformat("2026-07-21T01:20:00+08:00"),
    )
    slider = time_slider(span, datetime.fromisoformat("2026-07-20T16:00:00Z"))  # 00:00 Beijing
    assert (slider.min_s, slider.max_s) == (
        epoch("2026-07-20T14:00:00+08:00"),
        epoch("2026-07-21T01:30:00+08:00"),
    )
    assert slider.value_s == epoch("2026-07-21T00:00:00+08:00") and not slider.outside
    ((tick, left, label),) = slider.ticks
    assert tick == slider.value_s and label == "7月21日 21 Jul"
    assert left == round(100 * 10 / 11.5, 2)  # 10 h into an 11.5 h slider
    late = time_slider(span, datetime.fromisoformat("2026-08-01T00:00:00+08:00"))
    assert late.value_s == late.max_s and late.outside


def test_the_suggested_time_is_the_busiest_onset_by_brute_force(web_service):
    """exercise_span sorts instead of counting every pair: same answer as the pairwise count."""
    from sqlalchemy import select

    from resilience.early_warning.feed import alert_time
    from resilience.storage.database import make_engine, session_scope
    from resilience.storage.tables import AlertRecord
    from resilience.web.pages import exercise_span

    engine = make_engine(web_service["url"])
    with session_scope(engine) as session:
        rows = session.execute(
            select(AlertRecord.onset, AlertRecord.expires).where(AlertRecord.msg_type != "Cancel")
        ).all()
    spans = [(alert_time(a), alert_time(b)) for a, b in rows]
    assert len(spans) > 50
    busiest = max(
        (a for a, _ in spans), key=lambda t: (sum(a <= t < b for a, b in spans), -t.timestamp())
    )
    assert exercise_span(engine)[2] == busiest
