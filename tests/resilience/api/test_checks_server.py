"""``/v1/checks`` under a real uvicorn on 127.0.0.1, on SQLite and on a real PostgreSQL."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy.exc import IntegrityError

from resilience.feasibility.models import CheckResult, Submission
from resilience.feasibility.service import check_submission
from resilience.feasibility.store import (
    add_decision,
    list_checks,
    load_check,
    load_stored_check,
    save_check,
    store_check,
)


@pytest.fixture(params=["sqlite", "postgresql"])
def backend_world(request, tmp_path, kit):
    """A world on SQLite, or on a fresh database of the private PostgreSQL cluster."""
    url = None
    if request.param == "postgresql":
        url = request.getfixturevalue("postgres")()
    world = kit.make_world(tmp_path, url)
    yield world
    world["engine"].dispose()


def test_checks_over_a_real_socket(backend_world, kit):
    world = backend_world
    with kit.serve(world["app"]) as base, httpx.Client(base_url=base, timeout=30) as http:
        auth = kit.bearer(world, "alice")
        first = http.post("/v1/checks", json=kit.SUBMISSION, headers=auth)
        assert first.status_code == 201, first.text
        again = http.post("/v1/checks", json=kit.SUBMISSION, headers=auth)
        assert again.status_code == 200 and again.json()["resubmission_of"] == first.json()["id"]

        def one(n: int) -> int:
            body = dict(kit.SUBMISSION, project_name=f"concurrent {n}")
            return http.post("/v1/checks", json=body, headers=auth).status_code

        with ThreadPoolExecutor(4) as pool:
            assert list(pool.map(one, range(8))) == [201] * 8
        listed = http.get("/v1/checks", params={"limit": 100}, headers=auth).json()
        assert listed["total"] == 9 and listed["next_offset"] is None
        other = http.get(f"/v1/checks/{first.json()['id']}", headers=kit.bearer(world, "bob"))
        assert other.status_code == 404
        decided = http.post(
            f"/v1/checks/{first.json()['id']}/decisions",
            json={"decision": "approved", "comment": "fine"},
            headers={"X-API-Key": world["keys"]["rita"]},
        )
        assert decided.status_code == 201, decided.text
        big = b"{" + b" " * 1_000_001 + b"}"
        refused = http.post(
            "/v1/checks", content=big, headers={**auth, "Content-Type": "application/json"}
        )
        assert refused.status_code == 413

        def chunked():  # no Content-Length: counted as it streams in
            for _ in range(20):
                yield b" " * 60_000

        streamed = http.post(
            "/v1/checks", content=chunked(), headers={**auth, "Content-Type": "application/json"}
        )
        assert streamed.status_code == 413
        assert (
            http.get("/openapi.json").json()["components"]["securitySchemes"]["bearer"]["scheme"]
            == "bearer"
        )
    stored = CheckResult.model_validate(first.json()["result"])
    assert load_check(world["engine"], first.json()["id"]) == stored


def test_store_round_trips_and_keeps_one_check_per_owner_and_hash(backend_world, kit):
    world, engine = backend_world, backend_world["engine"]
    submission = Submission.model_validate(kit.SUBMISSION)
    result = check_submission(submission, world["settings"])
    anonymous = [save_check(engine, submission, result) for _ in range(2)]  # CLI: no owner
    assert anonymous[0] != anonymous[1]
    stored, owner = load_stored_check(engine, anonymous[0])
    assert stored.result == result and owner is None and stored.owner is None
    from resilience.api.keys import find_api_key
    from resilience.api.legacy_keys import hash_api_key

    alice = find_api_key(engine, hash_api_key(world["keys"]["alice"]))
    rita = find_api_key(engine, hash_api_key(world["keys"]["rita"]))
    assert alice is not None and rita is not None
    first, again = store_check(engine, submission, result, owner_key_id=alice.id)
    assert again is False
    assert store_check(engine, submission, result, owner_key_id=alice.id) == (first, True)
    with pytest.raises(IntegrityError):  # the database itself refuses the duplicate
        save_check(engine, submission, result, owner_key_id=alice.id)
    add_decision(engine, first, rita.id, decision="returned", comment="raise it")
    page = list_checks(engine, owner_key_id=alice.id)
    assert [(c.id, c.decision, c.owner) for c in page.items] == [(first, "returned", "alice")]
    everything = list_checks(engine, owner_key_id=None, limit=2)
    assert everything.total == 3 and everything.next_offset == 2
    assert load_stored_check(engine, first)[0].decisions[0].reviewer == "rita"
    with pytest.raises(KeyError, match="no feasibility check with id 424242"):
        add_decision(engine, 424242, rita.id, decision="approved", comment="")


def test_checks_in_a_process_pool_give_the_same_answers(tmp_path, kit):
    """``check_processes=1``: the check runs in a spawned process; results and errors cross."""
    from resilience.api.app import create_app

    world = kit.make_world(tmp_path)
    app = create_app(world["settings"], check_processes=1)
    with kit.serve(app) as base, httpx.Client(base_url=base, timeout=60) as http:
        made = http.post("/v1/checks", json=kit.SUBMISSION, headers=world["auth"]("alice"))
        assert made.status_code == 201, made.text
        outside = dict(kit.SUBMISSION, lon=122.05, lat=30.65)
        refused = http.post("/v1/checks", json=outside, headers=world["auth"]("alice"))
        assert refused.status_code == 422 and "outside the surge layer" in refused.text
    here = check_submission(Submission.model_validate(kit.SUBMISSION), world["settings"])
    assert made.json()["result"]["result_hash"] == here.result_hash
