import json

import pytest

from resilience.feasibility.check import run_check
from resilience.feasibility.models import CheckResult
from resilience.feasibility.report import format_table, render_html, write_report
from resilience.feasibility.store import load_check, save_check
from resilience.storage.database import make_engine


@pytest.fixture
def result(hot_layers, submission):
    return run_check(submission, hot_layers)


def test_html_has_verdict_hazards_advice_and_caveat(result):
    html = render_html(result)
    assert html.startswith("<!DOCTYPE html>") and "<script" not in html and "http" not in html
    assert {
        "feasible": "Verdict: Feasible<",
        "feasible_with_adaptation": "Verdict: Feasible with adaptation",
        "not_feasible": "Verdict: Not feasible",
    }[result.verdict] in html
    for hazard in ("heat", "rain", "surge"):
        assert f"Hazard: {hazard}" in html
    for advice in result.advice:
        assert advice.message.split("(")[0].strip() in html
    assert "Synthetic data." in html
    assert "Huizinga" in html and "ssp585" in html


def test_html_escapes_user_text(result):
    bad = result.model_copy(
        update={"submission": result.submission.model_copy(update={"project_name": "<b>x</b>"})}
    )
    assert "&lt;b&gt;x&lt;/b&gt;" in render_html(bad)


def test_write_report_writes_html_and_json(result, tmp_path):
    paths = write_report(result, tmp_path / "out")
    assert paths["html"].name == f"check_{result.check_id}.html"
    assert CheckResult.model_validate(json.loads(paths["json"].read_text())) == result
    assert "Hazard: surge" in paths["html"].read_text()
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(
        p.name for p in paths.values()
    )


def test_format_table_has_a_row_per_line(result):
    table = format_table(result)
    assert table.row_count == len(result.rows) == 24
    assert "Not feasible" in str(table.title) or "Feasible" in str(table.title)


def test_save_check_writes_rows_to_sqlite(result, submission, tmp_path):
    from sqlalchemy import text

    engine = make_engine(f"sqlite:///{tmp_path / 'db' / 'resilience.db'}")
    record_id = save_check(engine, submission, result)
    with engine.connect() as connection:
        row = connection.execute(
            text("select verdict, score, submission_id from check_results")
        ).one()
        project = connection.execute(text("select project_name from submissions")).scalar_one()
    assert row.verdict == result.verdict and row.score == result.overall_score
    assert project == "Pudong substation"
    assert load_check(engine, record_id) == result
    with pytest.raises(KeyError, match="no feasibility check"):
        load_check(engine, record_id + 1)


def test_the_report_names_each_layers_inputs_and_which_were_synthetic(hot_layers, submission):
    layers = dict(hot_layers)
    layers["rain"] = layers["rain"].assign_attrs(synthetic="no", inputs_sha256="feedbeef" * 8)
    layers["surge"] = layers["surge"].assign_attrs(synthetic="no")
    result = run_check(submission, layers)
    assert result.synthetic_data is True  # heat says "true"
    assert result.layer_inputs["heat"].synthetic == "yes"
    assert result.layer_inputs["rain"].synthetic == "no"
    assert result.layer_inputs["rain"].inputs_sha256 == "feedbeef" * 8
    html = render_html(result)
    assert "Synthetic data." in html and "used here (heat)" in html
    assert "feedbeef" * 8 in html
    assert "Provenance unknown" not in html
    real = {h: layer.assign_attrs(synthetic="no") for h, layer in layers.items()}
    clean = render_html(run_check(submission, real))
    assert "Synthetic data." not in clean and "Provenance unknown" not in clean
    unsaid = dict(real)
    unsaid["surge"] = real["surge"].assign_attrs(synthetic="")
    html = render_html(run_check(submission, unsaid))
    assert "Provenance unknown" in html and "(surge)" in html
