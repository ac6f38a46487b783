"""``/v1/checks``: roles and visibility, decisions, paging, resubmission, 413/422, reports."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from resilience.api.keys import revoke_api_key
from resilience.api.limits import MAX_BODY_BYTES
from resilience.feasibility.models import CheckResult
from resilience.feasibility.store import load_check
from resilience.storage.database import session_scope
from resilience.storage.tables import CheckDecisionRecord, CheckRecord, SubmissionRecord


def counts(world: dict) -> tuple[int, int, int]:
    """Rows in submissions, check_results and check_decisions."""
    with session_scope(world["engine"]) as session:
        return tuple(  # type: ignore[return-value]
            session.scalar(select(func.count()).select_from(table))
            for table in (SubmissionRecord, CheckRecord, CheckDecisionRecord)
        )


def submit(client, world, name, **changes):  # noqa: ANN001, ANN201
    body = dict(world["submission"], **changes)
    return client.post("/v1/checks", json=body, headers=world["auth"](name))


def test_submit_stores_and_round_trips_the_result(client, world):
    answer = submit(client, world, "alice", project_name="round trip")
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["resubmission_of"] is None
    result = CheckResult.model_validate(body["result"])
    assert result.result_hash and result.submission.project_name == "round trip"
    assert load_check(world["engine"], body["id"]) == result  # stored whole, identical
    read = client.get(f"/v1/checks/{body['id']}", headers=world["auth"]("alice")).json()
    assert CheckResult.model_validate(read["result"]) == result
    assert read["owner"] == "alice" and read["decisions"] == []


def test_resubmission_returns_the_earlier_check_and_stores_nothing(client, world):
    first = submit(client, world, "alice", project_name="again")
    assert first.status_code == 201
    before = counts(world)
    again = submit(client, world, "alice", project_name="again")
    assert again.status_code == 200, again.text
    assert again.json()["id"] == again.json()["resubmission_of"] == first.json()["id"]
    assert again.json()["result"] == first.json()["result"]
    assert counts(world) == before
    other = submit(client, world, "bob", project_name="again")  # another owner: a new check
    assert other.status_code == 201 and other.json()["resubmission_of"] is None
    assert other.json()["result"]["result_hash"] == first.json()["result"]["result_hash"]


def test_engineer_sees_only_own_checks_reviewer_all_agency_none(client, world):
    mine = submit(client, world, "alice", project_name="alice only").json()["id"]
    assert client.get(f"/v1/checks/{mine}", headers=world["auth"]("bob")).status_code == 404
    for path in ("", "/report.html", "/report.pdf"):
        hidden = client.get(f"/v1/checks/{mine}{path}", headers=world["auth"]("bob"))
        assert hidden.status_code == 404 and hidden.json() == {"detail": f"no check {mine}"}
    assert client.get("/v1/checks/999999", headers=world["auth"]("bob")).json() == {
        "detail": "no check 999999"  # the same answer as for another's check
    }
    bobs = client.get("/v1/checks", headers=world["auth"]("bob")).json()["items"]
    assert mine not in {c["id"] for c in bobs} and all(c["owner"] == "bob" for c in bobs)
    everything = client.get("/v1/checks", headers=world["auth"]("rita")).json()
    assert mine in {c["id"] for c in everything["items"]}
    assert {c["owner"] for c in everything["items"]} >= {"alice"}
    assert client.get(f"/v1/checks/{mine}", headers=world["auth"]("rita")).status_code == 200
    for method, path in (("get", "/v1/checks"), ("get", f"/v1/checks/{mine}")):
        refused = getattr(client, method)(path, headers=world["auth"]("tran"))
        assert refused.status_code == 403, refused.text
    assert submit(client, world, "tran").status_code == 403
    assert client.get("/v1/alerts", headers=world["auth"]("tran")).status_code == 200
    assert client.get("/v1/alerts", headers=world["auth"]("alice")).status_code == 403
    assert client.get("/v1/checks").status_code == 401


def test_reviewer_decisions_are_kept_with_the_check(client, world):
    check = submit(client, world, "alice", project_name="to review").json()["id"]
    path = f"/v1/checks/{check}/decisions"
    refused = client.post(path, json={"decision": "approved"}, headers=world["auth"]("alice"))
    assert refused.status_code == 403
    returned = client.post(
        path,
        json={"decision": "returned", "comment": "raise the platform"},
        headers=world["auth"]("rita"),
    )
    assert returned.status_code == 201, returned.text
    approved = client.post(
        path, json={"decision": "approved", "comment": "ok"}, headers=world["auth"]("rita")
    )
    read = client.get(f"/v1/checks/{check}", headers=world["auth"]("alice")).json()
    assert [(d["decision"], d["comment"], d["reviewer"]) for d in read["decisions"]] == [
        ("returned", "raise the platform", "rita"),
        ("approved", "ok", "rita"),
    ]
    assert read["decisions"][1]["id"] == approved.json()["id"]
    listed = client.get("/v1/checks", headers=world["auth"]("alice")).json()["items"]
    assert {c["id"]: c["decision"] for c in listed}[check] == "approved"
    before = counts(world)
    bad = client.post(path, json={"decision": "maybe"}, headers=world["auth"]("rita"))
    assert bad.status_code == 422 and bad.json()["detail"].startswith("decision: ")
    missing = client.post(
        "/v1/checks/999999/decisions", json={"decision": "approved"}, headers=world["auth"]("rita")
    )
    assert missing.status_code == 404
    assert counts(world) == before


def test_listing_is_newest_first_and_paged(tmp_path, kit):
    world = kit.make_world(tmp_path)
    with kit.open_client(world["app"]) as client:
        ids = [submit(client, world, "bob", project_name=f"p{n}").json()["id"] for n in range(5)]
        pages, offset = [], 0
        while offset is not None:
            page = client.get(
                "/v1/checks", params={"limit": 2, "offset": offset}, headers=world["auth"]("bob")
            ).json()
            assert page["total"] == 5 and len(page["items"]) <= 2
            pages.append([c["id"] for c in page["items"]])
            offset = page["next_offset"]
        assert [i for p in pages for i in p] == ids[::-1]  # newest first
        assert len(pages) == 3
        bad = client.get("/v1/checks", params={"limit": 0}, headers=world["auth"]("bob"))
        assert bad.status_code == 422 and bad.json()["detail"].startswith("limit: ")


def test_malformed_bodies_are_422_per_field_and_store_nothing(client, world):
    before = counts(world)
    bad = dict(world["submission"], lat="north", criticality=9, colour="red")
    del bad["project_name"]
    answer = client.post("/v1/checks", json=bad, headers=world["auth"]("alice"))
    assert answer.status_code == 422
    detail = answer.json()["detail"]
    fields = [line.split(":")[0] for line in detail.splitlines()]
    assert sorted(fields) == ["colour", "criticality", "lat", "project_name"], detail
    assert "criticality 9: expected 1 to 5" in detail and "http" not in detail
    broken = client.post(
        "/v1/checks",
        content=b'{"project_name": ',
        headers={**world["auth"]("alice"), "Content-Type": "application/json"},
    )
    assert broken.status_code == 422 and "expected JSON" in broken.json()["detail"]
    assert counts(world) == before


def test_site_outside_the_layers_is_422_with_the_message(client, world):
    before = counts(world)
    answer = submit(client, world, "alice", lon=122.05, lat=30.65)
    assert answer.status_code == 422
    assert "outside the surge layer" in answer.json()["detail"]
    assert counts(world) == before


def test_bodies_over_1_mb_are_413_before_parsing(client, world):
    before = counts(world)
    big = json.dumps(dict(world["submission"], project_name="x" * (MAX_BODY_BYTES + 10)))
    declared = client.post(
        "/v1/checks",
        content=big.encode(),
        headers={**world["auth"]("alice"), "Content-Type": "application/json"},
    )
    assert declared.status_code == 413 and "at most 1000000 bytes" in declared.json()["detail"]

    def chunks():  # no Content-Length: streamed (chunked) and counted as it comes
        for start in range(0, len(big), 64_000):
            yield big[start : start + 64_000].encode()

    streamed = client.post(
        "/v1/checks",
        content=chunks(),
        headers={**world["auth"]("alice"), "Content-Type": "application/json"},
    )
    assert streamed.status_code == 413
    assert counts(world) == before


def test_openapi_declares_the_bearer_scheme(client):
    document = client.get("/openapi.json").json()
    schemes = document["components"]["securitySchemes"]
    assert {"type": "http", "scheme": "bearer"}.items() <= schemes["bearer"].items()
    assert schemes["APIKeyHeader"]["name"] == "X-API-Key"
    post = document["paths"]["/v1/checks"]["post"]
    assert {"bearer": []} in post["security"]
    assert "Submission" in json.dumps(post["requestBody"])


def test_revoked_key_is_refused(tmp_path, kit):
    world = kit.make_world(tmp_path)
    with kit.open_client(world["app"]) as client:
        assert client.get("/v1/checks", headers=world["auth"]("bob")).status_code == 200
        revoke_api_key(world["engine"], "bob")
        gone = client.get("/v1/checks", headers={"X-API-Key": world["keys"]["bob"]})
        assert gone.status_code == 401 and gone.json()["detail"] == "revoked API key"


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_reports_in_both_languages(client, world, lang):
    check = submit(client, world, "alice", project_name=f"report {lang}").json()["id"]
    html = client.get(
        f"/v1/checks/{check}/report.html", params={"lang": lang}, headers=world["auth"]("alice")
    )
    assert html.status_code == 200, html.text
    assert html.headers["content-type"].startswith("text/html")
    assert f"report {lang}" in html.text
    pdf = client.get(
        f"/v1/checks/{check}/report.pdf", params={"lang": lang}, headers=world["auth"]("alice")
    )
    assert pdf.status_code in (200, 503), pdf.text  # 503: no CJK font on this machine
    if pdf.status_code == 200:
        assert pdf.headers["content-type"] == "application/pdf"
        assert pdf.content.startswith(b"%PDF") and len(pdf.content) > 10_000
    else:
        assert lang == "zh" and "font" in pdf.json()["detail"]
    bad = client.get(
        f"/v1/checks/{check}/report.html", params={"lang": "fr"}, headers=world["auth"]("alice")
    )
    assert bad.status_code == 422 and bad.json()["detail"].startswith("lang: ")
