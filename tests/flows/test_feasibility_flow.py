"""The feasibility flow on the bundled sample: the sample submissions get their expected
verdicts, and the flow, the CLI, the service function and the REST API give one CheckResult.

The session's one ``resilience demo`` run (tests/flows/conftest.py) builds the layers that
every test in this module checks against.
"""

from __future__ import annotations

import filecmp
import json
import warnings
from types import SimpleNamespace

import pytest
import yaml
from typer.testing import CliRunner

from resilience.feasibility.models import CheckResult, read_submission
from resilience.geodata.geography import data_path

pytestmark = pytest.mark.slow

SHIPPED = data_path("submissions")
EXPECTED: dict[str, dict[str, str]] = yaml.safe_load(
    (SHIPPED / "expected.yaml").read_text(encoding="utf-8")
)
#: Fields that differ by design between two runs of the same check.
PER_RUN = {"check_id", "created"}


@pytest.fixture(scope="module")
def sample(demo_run, tmp_path_factory):
    """The layers, database and sample submissions of the session's ``resilience demo`` run
    (tests/flows/conftest.py); this module's reports go to a folder of its own."""
    out = demo_run[0]
    folder = out / "sample"
    config = out / "feasibility.toml"
    config.write_text(f'data_dir = "{out / "data"}"\nuse_prefect = false\n', encoding="utf-8")
    return SimpleNamespace(
        root=tmp_path_factory.mktemp("feasibility"),
        folder=folder,
        submissions=folder / "submissions",
        config=config,
    )


@pytest.fixture(scope="module")
def flow_run(sample, prefect_harness):
    """The flow under Prefect's test harness, over the sample's submissions folder."""
    from flows.feasibility import feasibility_flow

    return feasibility_flow(sample.submissions, sample.root / "reports", sample.config)


def comparable(result: CheckResult) -> dict:
    """The result as JSON values, without the fields that name one run."""
    return result.model_dump(mode="json", exclude=PER_RUN)


def service_result(sample, name: str) -> CheckResult:
    from resilience.feasibility.service import check_submission
    from resilience.settings import get_settings

    submission = read_submission(sample.submissions / name)
    return check_submission(submission, get_settings(sample.config))


def cli_result(sample, name: str) -> CheckResult:
    from resilience.cli.main import app

    invoked = CliRunner().invoke(
        app, ["check", str(sample.submissions / name), "--json", "--config", str(sample.config)]
    )
    assert invoked.exit_code == 0, invoked.output + repr(invoked.exception)
    text = invoked.stdout
    return CheckResult.model_validate_json(text[text.index("{") :])


def api_result(sample, name: str) -> CheckResult:
    """``POST /v1/checks`` with an engineer's key, through FastAPI's TestClient."""
    from resilience.api.app import create_app
    from resilience.api.keys import add_api_key
    from resilience.settings import get_settings
    from resilience.storage.database import make_engine

    settings = get_settings(sample.config)
    _, key = add_api_key(
        make_engine(settings.resolved_database_url), f"engineer-{name}", role="engineer"
    )
    with warnings.catch_warnings():  # starlette deprecates its httpx-based client; still works
        warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
        from fastapi.testclient import TestClient
    body = (sample.submissions / name).read_text(encoding="utf-8")
    with TestClient(create_app(settings)) as client:
        response = client.post(
            "/v1/checks",
            content=body,
            headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        )
    assert response.status_code in (200, 201), response.text
    return CheckResult.model_validate(response.json()["result"])


def describe(result: CheckResult) -> str:
    """One line per hazard: its highest score and probability, for a failure message."""
    lines = []
    for hazard in ("heat", "rain", "surge"):
        rows = [r for r in result.rows if r.hazard == hazard]
        top = max(rows, key=lambda r: (r.score or 0, r.design_life_exceedance_probability or 0))
        lines.append(
            f"    {hazard}: score {top.score} ({top.scenario} {top.horizon}), metric "
            f"{top.metric_value} {top.metric_units} vs standard {top.standard} "
            f"{top.standard_units}, design-life P {top.design_life_exceedance_probability}"
        )
    return "\n".join(lines)


def test_the_sample_carries_the_shipped_submissions(sample):
    for name in [*EXPECTED, "expected.yaml"]:
        assert filecmp.cmp(SHIPPED / name, sample.submissions / name, shallow=False), name
    assert (sample.submissions / "bund_metro_station.json").is_file()  # the demo's example


def test_sample_submissions_get_their_expected_verdicts(sample):
    """Run the real check on each sample; report every difference at once, with the reason."""
    report, wrong = [], []
    for name, expected in EXPECTED.items():
        result = service_result(sample, name)
        actual = {"verdict": result.verdict, "governing_hazard": result.governing_hazard}
        report.append(
            f"{name}: expected {expected['verdict']} ({expected['governing_hazard']}), "
            f"actual {actual['verdict']} ({actual['governing_hazard']}), score "
            f"{result.overall_score}\n{describe(result)}"
        )
        if actual != expected:
            wrong.append(name)
    assert wrong == [], (
        f"sample verdicts differ from resilience/data/submissions/expected.yaml for {wrong} "
        "(update it and docs/sample_submissions.md only if the new result is right):\n"
        + "\n".join(report)
    )


def test_the_flow_checks_stores_and_reports_every_submission(sample, flow_run):
    from resilience.feasibility.store import load_check
    from resilience.settings import get_settings
    from resilience.storage.database import make_engine

    by_name = {c.file.name: c for c in flow_run.checks}
    assert set(by_name) == {*EXPECTED, "bund_metro_station.json"}  # expected.yaml is no input
    assert flow_run.failed == []
    engine = make_engine(get_settings(sample.config).resolved_database_url)
    for name, expected in EXPECTED.items():
        checked = by_name[name]
        assert checked.verdict == expected["verdict"], name
        assert checked.html is not None and checked.html.is_file()
        assert checked.json_path is not None and checked.json_path.is_file()
        assert checked.record_id is not None
        stored = load_check(engine, checked.record_id)
        assert stored.check_id == checked.check_id
        assert stored.result_hash == checked.result_hash


def test_a_bad_submission_is_reported_and_the_others_still_run(sample, tmp_path):
    from flows.feasibility import run_feasibility_checks

    outside = tmp_path / "outside.json"  # inside the accepted box, ~80 km from every gauge
    body = json.loads((SHIPPED / "substation.json").read_text(encoding="utf-8"))
    outside.write_text(json.dumps(body | {"lon": 122.05, "lat": 30.65}), encoding="utf-8")
    broken = tmp_path / "broken.json"
    broken.write_text('{"project_name": "x"}', encoding="utf-8")
    run = run_feasibility_checks(
        [outside, broken, SHIPPED / "tunnel.json"],
        tmp_path / "reports",
        config=sample.config,
        use_prefect=False,
    )
    assert [c.file.name for c in run.failed] == ["outside.json", "broken.json"]
    assert "surge" in str(run.checks[0].error)
    assert "asset_type" in str(run.checks[1].error)
    assert run.checks[2].verdict == EXPECTED["tunnel.json"]["verdict"]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_cli_flow_service_and_api_give_the_same_result(sample, flow_run, name):
    """Issue 14 item 2: the same submission and layer versions give one CheckResult."""
    checked = {c.file.name: c for c in flow_run.checks}[name]
    assert checked.json_path is not None
    results = {
        "service": service_result(sample, name),
        "cli": cli_result(sample, name),
        "flow": CheckResult.model_validate_json(checked.json_path.read_text(encoding="utf-8")),
        "api": api_result(sample, name),
    }
    reference = comparable(results["service"])
    for where, result in results.items():
        difference = {
            key: (reference[key], value)
            for key, value in comparable(result).items()
            if reference.get(key) != value
        }
        assert difference == {}, f"{name}: {where} differs from the service: {difference}"
    hashes = {where: result.result_hash for where, result in results.items()}
    assert len(set(hashes.values())) == 1, hashes
    assert checked.result_hash == hashes["service"]
    assert hashes["service"], "run_check gives no result_hash yet"
