"""Tests of the station surge report and of ``resilience surge`` through typer's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from hazard_models.extremes.gev import return_level
from resilience.cli.surge import format_surge_report, surge_command
from resilience.coast.surge_inputs import surge_report
from resilience.coast.surge_report import (
    GaugeRecord,
    SurgeOptions,
    SurgeReport,
    build_surge_report,
    to_json,
)

DATA = Path(__file__).resolve().parents[2] / "data" / "sea_level"
runner = CliRunner()


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    """A small app with the command registered as the lead will register it."""
    application = typer.Typer()
    application.command("surge")(surge_command)

    @application.command()
    def version() -> None:  # a second command, so that "surge" is a sub-command
        typer.echo("test")

    return application


@pytest.fixture(scope="module")
def station_json(app) -> dict:
    result = runner.invoke(app, ["surge", "--station", "wusongkou", "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_station_report_json(station_json):
    report = station_json
    assert report["station"] == "wusongkou" and report["datum"] == "Wusong"
    assert report["synthetic"] is True and any("SYNTHETIC" in n for n in report["notes"])
    assert any("UNCONFIRMED" in n for n in report["notes"])  # subsidence placeholder
    assert list(report["baseline"]) == ["10", "100", "200", "1000"]
    assert len(report["projections"]) == 9  # 3 scenarios x 3 horizons
    far = next(
        p for p in report["projections"] if p["scenario"] == "ssp585" and p["horizon"] == "far"
    )
    for level in far["levels"]:
        # The integrated level lies inside the likely band and above the median-rise level
        # (the rise is skewed up and exceedances grow convexly with the rise).
        assert level["likely_low_m"] < level["integrated_m"] < level["likely_high_m"]
        assert level["integrated_m"] > level["median_rise_m"]
        assert level["allowance_m"] > far["rise_median_m"]
    assert far["amplification_factor"] > 1
    rows = {row["label"]: row for row in report["degradation"]}
    assert rows["1000-yr today"]["current_return_period_years"] == pytest.approx(1000, rel=1e-6)
    assert rows["1000-yr today"]["degraded_to_years"] == 100
    assert "1000-yr design 1984" in rows  # Wusongkou's 6.27 m design level


def test_degradation_year_matches_a_hand_check():
    """Certain rise of 1 cm/yr from a flat table: the 100-yr standard becomes a 10-yr event
    when the rise reaches z_100 - z_10 of the report's own fit."""
    rng = np.random.default_rng(5)
    years = list(range(1961, 2021))
    record = GaugeRecord(
        station="test",
        station_name="Test",
        datum="Wusong",
        years=years,
        maxima_m=(4.0 + 0.3 * rng.gumbel(size=len(years))).tolist(),
        subsidence_mm_per_year=0.0,
        source="generated",
    )
    table_years = np.arange(2010, 2301, 10)
    sea_level = pd.DataFrame(
        [
            {
                "scenario": "ssp245",
                "year": y,
                "quantile": q,
                "sea_level_rise_m": 0.01 * (y - 2004.5),
            }
            for y in table_years
            for q in (0.17, 0.5, 0.83)
        ]
    )
    options = SurgeOptions(scenarios=["ssp245"], standards=[100.0], detrend="none")
    report = build_surge_report(record, sea_level, options=options)
    fit = report.fit
    gap = float(np.diff(return_level(fit["loc_m"], fit["scale_m"], fit["shape"], [10, 100]))[0])
    expected = int(np.ceil(2004.5 + gap / 0.01))
    assert report.degradation[0].year_by_scenario["ssp245"] == expected
    # A certain rise: the integrated level is today's plus the rise, allowance = the rise.
    near = report.projections[0]
    assert near.levels[1].allowance_m == pytest.approx(near.rise_median_m, abs=1e-9)
    assert json.loads(to_json(report))["degradation"][0]["label"] == "100-yr today"


def test_gauge_csv_reproduces_the_published_fit(app):
    """New York annual maxima in mm, already detrended: the report's GEV is Wong et al.'s."""
    gauge = DATA / "NewYorkNY_annmax.csv"
    args = ["surge", "--gauge", str(gauge), "--column", "lsl_max", "--units", "mm"]
    result = runner.invoke(app, [*args, "--detrend", "none", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    published = pd.read_csv(DATA / "wong_published_gev_fits.csv").set_index("station")
    nyc = published.loc["NewYorkNY"]
    # Same likelihood maximum (tests/hazard_models/coast/test_surge.py): 1e-6 relative.
    assert report["fit"]["loc_m"] == pytest.approx(nyc["loc_mm"] / 1000, rel=1e-6)
    assert report["fit"]["scale_m"] == pytest.approx(nyc["scale_mm"] / 1000, rel=1e-5)
    assert report["fit"]["shape"] == pytest.approx(nyc["shape"], abs=1e-5)
    assert report["station"] == "NewYorkNY_annmax" and len(report["years"]) == 72


def test_output_datum_and_offset(app, station_json):
    base = ["surge", "--station", "wusongkou", "--json", "--scenarios", "ssp245"]
    national = json.loads(runner.invoke(app, [*base, "--output-datum", "1985"]).output)
    for period, level in station_json["baseline"].items():
        # Wusong -> 1985: -1.717 m (UNCONFIRMED default), exact arithmetic.
        assert national["baseline"][period] == pytest.approx(level - 1.717, abs=1e-9)
    assert national["datum"] == "1985 national"
    assert any("UNCONFIRMED Wusong offset 1.717" in n for n in national["notes"])
    custom = json.loads(
        runner.invoke(
            app, [*base, "--output-datum", "1985", "--wusong-below-1985-m", "1.6587"]
        ).output
    )
    assert custom["baseline"]["100"] == pytest.approx(station_json["baseline"]["100"] - 1.6587)
    assert not any("Wusong offset" in n for n in custom["notes"])


def test_tables_and_plot(app, tmp_path):
    png = tmp_path / "surge.png"
    result = runner.invoke(
        app, ["surge", "--station", "huangpu_park", "--horizons", "far", "--plot", str(png)]
    )
    assert result.exit_code == 0, result.output
    for text in ("still-water return levels", "Allowance", "Year a standard degrades", "note:"):
        assert text in result.output
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_errors_name_file_line_and_field(app, tmp_path):
    bad = tmp_path / "gauge.csv"
    bad.write_text("year,annual_max_m\n" + "".join(f"{1990 + i},4.{i}\n" for i in range(11)))
    bad.write_text(bad.read_text() + "2001,high\n")
    result = runner.invoke(app, ["surge", "--gauge", str(bad)])
    assert result.exit_code == 2
    assert "line 13, field 'annual_max_m': expected a number, found 'high'" in result.output
    result = runner.invoke(app, ["surge", "--gauge", str(bad), "--column", "max_m"])
    assert "missing column(s) max_m" in result.output
    short = tmp_path / "short.csv"
    short.write_text("year,annual_max_m\n2000,4.1\n2001,4.3\n")
    assert (
        "expected at least 10 annual maxima, found 2"
        in runner.invoke(app, ["surge", "--gauge", str(short)]).output
    )
    cases = {
        ("--station", "pudong"): "expected one of ['wusongkou', 'huangpu_park', 'mishidu']",
        ("--station", "mishidu"): "station 'mishidu': expected annual maxima, found none",
        ("--station", "wusongkou", "--gauge", str(bad)): "exactly one of --station and --gauge",
        ("--station", "wusongkou", "--method", "bayes"): "invalid option: method",
        ("--station", "wusongkou", "--horizons", "late"): "unknown horizon 'late'",
        ("--station", "wusongkou", "--output-datum", "WGS84"): "found 'WGS84'",
        ("--gauge", str(bad), "--units", "ft"): "--units: expected one of ['m', 'cm', 'mm']",
    }
    for args, message in cases.items():
        result = runner.invoke(app, ["surge", *args])
        assert result.exit_code == 2 and message in result.output, (args, result.output)
    with pytest.raises(ValueError, match="exactly one"):
        surge_report()


def _hourly_csv(path: Path, *, years: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Write a SYNTHETIC hourly record (cm): 200 +- 10 cm noise and Poisson storms 10 days
    apart whose peaks exceed 280 cm by GPD(25 cm, 0.1) excesses; return times and metres."""
    rng = np.random.default_rng(11)
    times = pd.date_range("2001-01-01", periods=years * 8766, freq="h")
    level = 2.0 + np.clip(0.1 * rng.standard_normal(times.size), -0.4, 0.4)
    starts = rng.choice(np.arange(48, times.size - 48, 240), size=5 * years, replace=False)
    for start in starts:
        peak = 2.8 + 2.5 * ((1.0 - rng.random()) ** -0.1 - 1.0)
        window = start + np.arange(-12, 13)
        level[window] = np.maximum(
            level[window], peak - (peak - 2.0) * np.abs(window - start) / 12.5
        )
    frame = pd.DataFrame({"time": times.strftime("%Y-%m-%dT%H:%M"), "level_cm": level * 100})
    frame.to_csv(path, index=False, float_format="%.3f")
    return times.to_numpy(), np.round(level * 100, 3) / 100


def test_hourly_gauge_uses_the_peaks_over_threshold_fit(app, tmp_path):
    from hazard_models.coast.gauge_extremes import fit_hourly_peaks

    csv = tmp_path / "hourly.csv"
    times, level = _hourly_csv(csv)
    args = ["surge", "--gauge", str(csv), "--hourly", "--column", "level_cm", "--units", "cm"]
    result = runner.invoke(app, [*args, "--threshold-m", "2.8", "--detrend", "none", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    direct = fit_hourly_peaks(times, level, threshold_m=2.8, detrend="none")
    fit = report["fit"]
    assert fit["method"] == "pot_gpd_mle" and fit["storm_peaks"] == direct.n_clusters == 50
    # Same numbers through the CSV (written to 0.01 mm): the GEV equivalent to 1e-9 m.
    for got, expected in zip((fit["loc_m"], fit["scale_m"], fit["shape"]), direct.gev, strict=True):
        assert got == pytest.approx(expected, abs=1e-9)
    assert fit["threshold_m"] == pytest.approx(2.8)
    assert report["years"] == list(range(2001, 2011))  # annual maxima of the hourly record
    assert any("peaks-over-threshold" in note for note in report["notes"])
    # The rest of the report is computed as for annual maxima: today's 100-yr level.
    assert report["baseline"]["100"] == pytest.approx(
        float(return_level(*direct.gev, 100.0)), abs=1e-9
    )
    caption = format_surge_report(SurgeReport.model_validate(report))[0].caption
    assert "GEV equivalent of 50 storm peaks above 2.800 m (5.0/yr)" in caption


def test_hourly_errors_name_file_line_and_field(app, tmp_path):
    csv = tmp_path / "hourly.csv"
    rows = [f"2001-01-01T{h:02d}:00,{200 + h}" for h in range(6)]
    rows[3] = "2001-01-01T03:30,203"
    csv.write_text("time,level_cm\n" + "\n".join(rows) + "\n")
    args = ["surge", "--gauge", str(csv), "--hourly", "--column", "level_cm", "--units", "cm"]
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert "line 5, field 'time': expected whole hours in increasing order" in result.output
    rows[3] = "2001-01-01T03:00,high"
    csv.write_text("time,level_cm\n" + "\n".join(rows) + "\n")
    assert "line 5, field 'level_cm': expected a number" in runner.invoke(app, args).output
    rows[3] = "noon,203"
    csv.write_text("time,level_cm\n" + "\n".join(rows) + "\n")
    assert "line 5, field 'time': expected an ISO time" in runner.invoke(app, args).output
    rows[3] = "2001-01-01T03:00,203"
    csv.write_text("time,level_cm\n" + "\n".join(rows) + "\n")
    short = runner.invoke(app, args)  # 6 hours: no two years to detrend, no storms
    assert short.exit_code == 2 and str(csv) in short.output
    no_gauge = runner.invoke(app, ["surge", "--station", "wusongkou", "--hourly"])
    assert "--hourly needs --gauge" in no_gauge.output


def test_user_sea_level_table_with_the_median_only(app, tmp_path):
    """--sea-level replaces the shipped table; a median-only table is a certain rise."""
    table = tmp_path / "rise.csv"
    rows = [f"ssp245,{year},0.5,{0.01 * (year - 2005):.4f}" for year in range(2010, 2101, 10)]
    table.write_text("scenario,year,quantile,sea_level_rise_m\n" + "\n".join(rows) + "\n")
    args = ["surge", "--station", "wusongkou", "--scenarios", "ssp245", "--horizons", "far"]
    result = runner.invoke(app, [*args, "--sea-level", str(table), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    far = report["projections"][0]
    # 1 cm/yr from 2005 to the far mid year 2090.5 (0.855 m) + 3 mm/yr placeholder
    # subsidence x 86 yr (0.258 m) = 1.113 m, certain: no spread, allowance = the rise.
    assert far["rise_median_m"] == pytest.approx(0.855 + 0.258, abs=1e-9)
    assert far["rise_likely_low_m"] == far["rise_median_m"] == far["rise_likely_high_m"]
    for level in far["levels"]:
        assert level["allowance_m"] == pytest.approx(far["rise_median_m"], abs=1e-9)
    assert str(table) in report["sea_level_source"]


def test_a_record_whose_shape_sits_on_its_bound_gets_a_note():
    years = list(range(1961, 2021))
    maxima = np.full(len(years), 4.0) + np.linspace(0.0, 0.05, len(years))
    maxima[[3, 20]] = [9.0, 14.0]
    record = GaugeRecord(
        station="test",
        station_name="Test",
        datum="Wusong",
        years=years,
        maxima_m=maxima.tolist(),
        subsidence_mm_per_year=0.0,
        source="generated",
    )
    sea_level = pd.DataFrame(
        [
            {"scenario": "ssp245", "year": y, "quantile": q, "sea_level_rise_m": 0.3}
            for y in range(2010, 2301, 10)
            for q in (0.17, 0.5, 0.83)
        ]
    )
    options = SurgeOptions(scenarios=["ssp245"], detrend="none")
    report = build_surge_report(record, sea_level, options=options)
    assert report.fit["shape_at_bound"] == "yes"
    assert any("sits on its bound" in note for note in report.notes)
