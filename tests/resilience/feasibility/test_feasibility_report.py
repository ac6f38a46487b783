import json
import re

import numpy as np
import pytest

from resilience.feasibility.check import run_check
from resilience.feasibility.models import CheckResult
from resilience.feasibility.report import (
    ReportContext,
    format_table,
    render_html,
    render_pdf,
    site_return_levels,
    write_report,
)
from resilience.feasibility.report_figures import gumbel_line
from resilience.feasibility.report_text import TEXT, metric_label
from resilience.feasibility.store import load_check, save_check
from resilience.storage.database import make_engine

SECTIONS = ("summary", "project", "map", "lc", "adaptation", "method", "provenance")
SECTIONS += ("limitations", "signoff")
VERDICTS = {
    "en": {
        "feasible": "Verdict: Feasible<",
        "feasible_with_adaptation": "Verdict: Feasible with adaptation",
        "not_feasible": "Verdict: Not feasible",
    },
    "zh": {
        "feasible": "论证结论: 可行<",
        "feasible_with_adaptation": "论证结论: 采取适应措施后可行",
        "not_feasible": "论证结论: 不可行",
    },
}


@pytest.fixture
def result(hot_layers, submission):
    return run_check(submission, hot_layers)


def _without_new_fields(result):
    """The same real check as an older engine would have stored it: no spread, no options."""
    spreadless = {
        name: None
        for name in (
            "metric_value_p10",
            "metric_value_p90",
            "annual_exceedance_probability_p10",
            "annual_exceedance_probability_p90",
            "design_life_exceedance_probability_p10",
            "design_life_exceedance_probability_p90",
            "flood_depth_m",
        )
    }
    rows = [row.model_copy(update=spreadless | {"standard_basis": ""}) for row in result.rows]
    return result.model_copy(
        update={
            "rows": rows,
            "governing_hazard": None,
            "tipping_points": [],
            "options": [],
            "domain": None,
            "code_version": "",
            "parameters": {},
            "result_hash": "",
        }
    )


def _visible_text(html):
    """Text outside tags, without the style block and the hashes (hex) in <code>."""
    html = re.sub(r"<style>.*?</style>|<code[^>]*>.*?</code>", "", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", html)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_html_has_every_section_in_both_languages(result, lang):
    html = render_html(result, lang=lang)
    assert html.startswith("<!DOCTYPE html>") and "<script" not in html
    assert f'<html lang="{"zh-CN" if lang == "zh" else "en"}">' in html
    for section in SECTIONS:
        assert f'<section id="{section}">' in html, section
    for hazard in ("heat", "rain", "surge"):
        assert f'id="hazard-{hazard}"' in html
        assert f"{TEXT['hazard'][lang]}: {TEXT[hazard][lang]}" in html
    # the hot layers make the sample metro station not feasible (score 25, heat governs):
    # pinned, so a test that passed for every verdict now checks the one it should print
    assert (result.verdict, result.overall_score) == ("not_feasible", 25)
    assert VERDICTS[lang]["not_feasible"] in html
    assert all(VERDICTS[lang][v] not in html for v in ("feasible", "feasible_with_adaptation"))
    # one map and two figures per hazard, all inline SVG
    assert html.count('<svg class="map"') == 1
    assert html.count('<svg class="figure"') == 6
    assert TEXT["lc_text"][lang][:40] in html
    for role in ("prepared", "reviewed", "approved"):
        assert f"<th>{TEXT[role][lang]}</th>" in html
    assert TEXT["synthetic_title"][lang] in html
    assert "Huizinga" in html and "Haasnoot" in html


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_nothing_is_fetched_and_no_exponent_is_printed(result, lang):
    html = render_html(result, lang=lang)
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", html)
    assert "@import" not in html and "url(http" not in html and "<link" not in html
    assert "<img" not in html and "<iframe" not in html
    text = _visible_text(html)
    assert not re.search(r"\d[eE][-+]?\d", text), re.findall(r"\S*\d[eE][-+]?\d\S*", text)
    assert "mathdefault" not in html and "10^{" not in html  # no 10^3 on an axis


def test_metric_names_are_plain_language_with_units(result):
    html = render_html(result)
    for raw in ("txx_20yr_median", "rx1day_100yr_pooled", "still_water_level_100yr_median"):
        assert raw not in _visible_text(html)
    assert "20-year return level of the annual hottest day (TXx), model median" in html
    assert "°C" in html and "m (Wusong datum)" in html
    assert (
        metric_label("txx_20yr_median", "zh") == "年最高日最高气温（TXx） 20 年一遇值（模式中位数）"
    )
    assert metric_label("tx_days_above_35_median", "en").startswith("days per year with a daily")
    assert metric_label("something_new", "en") == "something_new"


def test_chinese_report_translates_every_fixed_phrase(result):
    html = render_html(result, lang="zh")
    assert "气候可行性论证报告" in html and "设计使用年限" in html and "适应临界点" in html
    for key in ("summary", "map", "lc_title", "adaptation", "limitations", "signoff", "method"):
        assert f"<h2>{TEXT[key]['en']}</h2>" not in html, key
        assert f"<h2>{TEXT[key]['zh']}</h2>" in html, key
    for key, phrases in TEXT.items():
        assert set(phrases) == {"en", "zh"}, key
        assert phrases["zh"], key
        assert phrases["en"] or key == "verdict_rule_text", key


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_fields_a_check_did_not_fill_say_not_available(result, lang):
    html = render_html(_without_new_fields(result), lang=lang)
    na = TEXT["not_available"][lang]
    assert f'<td id="governing">{na}</td>' in html
    assert f'<code id="result-hash">{na}</code>' in html
    assert TEXT["options_none"][lang] in html and TEXT["tipping_none"][lang] in html
    assert "(model spread not available)" in html or "（模式离散度暂无）" in html
    # the advice still gives the one number to change
    change = re.search(r'<td id="change">(.*?)</td>', html, re.S).group(1)
    assert change and na not in change


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_fields_a_check_fills_are_shown(result, lang):
    assert result.governing_hazard and result.options and result.tipping_points
    html = render_html(result, lang=lang)
    governing = re.search(r'<td id="governing">(.*?)</td>', html, re.S).group(1)
    assert governing.startswith(TEXT[result.governing_hazard][lang])
    assert f'<code id="result-hash">{result.result_hash}</code>' in html
    assert TEXT["options_none"][lang] not in html and TEXT["tipping_none"][lang] not in html
    assert html.count('<td class="feasible') + html.count('<td class="not_feasible') >= len(
        result.options
    )
    for point in result.tipping_points:
        if point.year is not None:
            assert f'<td class="num">{point.year}</td>' in html
    if lang == "en":
        for option in result.options:
            assert option.action.replace("'", "&#39;") in html
    depth = next(r.flood_depth_m for r in result.rows if r.hazard == "surge")
    assert f"{depth:.2f} m" in html


def test_html_escapes_user_text(result):
    bad = result.model_copy(
        update={"submission": result.submission.model_copy(update={"project_name": "<b>x</b>"})}
    )
    assert "&lt;b&gt;x&lt;/b&gt;" in render_html(bad)
    assert "<b>x</b>" not in render_html(bad, lang="zh")


def test_unknown_language_is_refused_and_nothing_is_written(result, tmp_path):
    for render in (render_html, render_pdf):
        with pytest.raises(ValueError, match=r"lang 'fr': expected one of \['en', 'zh'\]"):
            render(result, lang="fr")
    with pytest.raises(ValueError, match="expected one of"):
        write_report(result, tmp_path / "out", lang="fr")
    assert not (tmp_path / "out").exists()


def test_site_map_shows_districts_site_assets_and_gauges(result):
    html = render_html(result)
    svg = re.search(r'<svg class="map".*?</svg>', html, re.S).group(0)
    assert svg.count('class="district"') >= 2 * 16  # both panels
    assert 'class="site"' in svg and 'class="coast"' in svg
    assert "Wusongkou 6.27 m" in svg and "Pudong" in svg
    assert re.search(r'class="alabel"[^>]*>[^<]+\(\d+\.\d km\)', svg)
    assert "0</text>" in svg and "20 km" in svg and "°E" in svg  # scale bar, graticule
    zh = render_html(result, lang="zh")
    assert "吴淞口 6.27 m" in zh and "浦东新区" in zh and "区界：高德地图" in zh
    bare = render_html(result, context=ReportContext())
    assert '<svg class="map"' not in bare and TEXT["map_none"]["en"] in bare


def test_gumbel_curve_from_the_rows_recovers_the_layers_scale(result):
    # conftest layers are Gumbel with scale 1 degC, 25 mm/day and 0.25 m: the two points a
    # row carries lie on that line, so the slope matches to rounding (1e-6 relative).
    scales = {"heat": 1.0, "rain": 25.0, "surge": 0.25}
    checked = 0
    for row in result.rows:
        line = gumbel_line(row)
        if line is not None and row.hazard in scales:
            assert line[1] == pytest.approx(scales[row.hazard], rel=1e-6), row
            checked += 1
    assert checked >= 12


def test_return_level_curve_from_the_layers_names_the_cell(result, hot_layers):
    curves = site_return_levels(hot_layers, result.submission)
    assert set(curves) == {"heat", "rain", "surge"}
    assert curves["surge"].where == "tide gauge huangpu, 7.7 km"  # 31.24 N vs wusong 31.39 N
    html = render_html(result, context=ReportContext(curves=curves))
    assert "grid cell 121.375 E, 31.375 N" in html
    rows_note = TEXT["rl_fig_rows"]["en"][:40]  # "Curve through the two points the check"
    gev_note = "pooled GEV behind the check"  # in TEXT["rl_fig_gev"]
    assert rows_note not in html and gev_note not in html
    # a stored result carries each row's GEV: exact curves without the layers
    assert gev_note in render_html(result, context=ReportContext())
    # without it (results stored before the field existed) the two-point approximation
    bare = result.model_copy(
        update={"rows": [r.model_copy(update={"gev": None}) for r in result.rows]}
    )
    assert rows_note in render_html(bare, context=ReportContext())


def test_gev_curve_of_a_row_passes_through_its_standard_at_its_return_period(result):
    from resilience.feasibility.report_figures import _gev_levels

    row = next(r for r in result.rows if r.hazard == "surge" and r.horizon == "far")
    period = 1.0 / row.annual_exceedance_probability
    median, low, high = _gev_levels(row, np.array([period]))
    assert median[0] == pytest.approx(row.standard, rel=1e-9)
    assert low is not None and high is not None and low[0] <= median[0] <= high[0]


def test_write_report_writes_html_pdf_and_json(result, tmp_path):
    paths = write_report(result, tmp_path / "out")
    assert paths["html"].name == f"check_{result.check_id}.html"
    assert paths["pdf"].read_bytes().startswith(b"%PDF-")
    assert CheckResult.model_validate(json.loads(paths["json"].read_text())) == result
    assert 'id="hazard-surge"' in paths["html"].read_text()
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(
        p.name for p in paths.values()
    )
    chinese = write_report(result, tmp_path / "out", lang="zh")
    assert chinese["html"].name == f"check_{result.check_id}_zh.html"
    assert "气候可行性论证报告" in chinese["html"].read_text()


def test_chinese_pdf_without_a_cjk_font_is_refused(result, monkeypatch):
    from resilience.feasibility import report_pdf

    monkeypatch.setattr(report_pdf, "find_cjk_fonts", lambda: ())
    with pytest.raises(report_pdf.MissingFontError, match="apt-get install fonts-noto-cjk"):
        render_pdf(result, lang="zh")
    assert render_pdf(result, lang="en").startswith(b"%PDF-")


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
    assert "用灾害图层（高温）" in render_html(result, lang="zh")
    real = {h: layer.assign_attrs(synthetic="no") for h, layer in layers.items()}
    clean = render_html(run_check(submission, real))
    assert "Synthetic data." not in clean and "Provenance unknown" not in clean
    unsaid = dict(real)
    unsaid["surge"] = real["surge"].assign_attrs(synthetic="")
    html = render_html(run_check(submission, unsaid))
    assert "Provenance unknown" in html and "(surge)" in html


def test_a_hot_day_standard_gets_its_count_and_no_return_level_curve(layer_factory):
    from resilience.feasibility.models import Submission

    layers = layer_factory()
    heat = layers["heat"]
    dims = ("scenario", "horizon", "quantile", "lat", "lon")
    shape = tuple(heat.sizes[d] for d in dims)
    mean = np.array([[5.0, 10.0, 15.0, 25.0], [5.0, 14.0, 22.0, 40.0]])  # days/yr
    counts = mean[:, :, None, None, None] * np.array([0.7, 1.0, 1.3])[None, None, :, None, None]
    attrs = {"units": "days/yr", "long_name": "hot days", "method": "test"}
    layers["heat"] = heat.assign(tx_days_above_35=(dims, np.broadcast_to(counts, shape), attrs))
    hospital = Submission(
        project_name="Ward", asset_type="hospital", lon=121.4665, lat=31.2115, ground_elevation_m=4
    )
    result = run_check(hospital, layers)
    context = ReportContext(curves=site_return_levels(layers, hospital))
    for lang in ("en", "zh"):
        html = render_html(result, lang=lang, context=context)
        section = re.search(r'id="hazard-heat">(.*?)</section>', html, re.S).group(1)
        assert TEXT["rl_none"][lang] in section  # the TXx curve would not match a count
        assert section.count('<svg class="figure"') == 1
        assert metric_label("tx_days_above_35_median", lang) in section


def test_a_spread_that_does_not_bracket_the_median_still_draws(result):
    # the 10 % and 90 % ends come from other quantiles' fits and may lie on one side of the
    # median (seen on the sample layers); whiskers are then one-sided, not an error
    rows = [
        row.model_copy(
            update={
                "design_life_exceedance_probability_p10": 0.999,
                "design_life_exceedance_probability_p90": 0.998,
                "annual_exceedance_probability_p10": 0.5,
            }
        )
        for row in result.rows
    ]
    html = render_html(result.model_copy(update={"rows": rows}), context=ReportContext())
    assert html.count('<svg class="figure"') == 6


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_feasible_project_needs_no_change(mild_layers, submission, lang):
    result = run_check(submission, mild_layers)
    assert result.verdict == "feasible"
    html = render_html(result, lang=lang, context=ReportContext())
    assert VERDICTS[lang]["feasible"] in html
    assert f'<td id="change">{TEXT["no_change"][lang]}</td>' in html
