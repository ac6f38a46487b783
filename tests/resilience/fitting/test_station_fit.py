"""`resilience fit` end to end on Coles (2001) datasets, against the book's published fits."""

import json
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import gumbel_r
from typer.testing import CliRunner

from resilience.cli.main import app

COLES = Path(__file__).parents[2] / "data" / "coles"
runner = CliRunner()


def fit_json(*args):
    result = runner.invoke(app, ["fit", *map(str, args), "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_rain_gpd_reproduces_coles_4_4_1():
    report = fit_json(
        COLES / "rain.csv",
        "--column",
        "rainfall_mm",
        "--dist",
        "gpd",
        "--threshold",
        30,
        "--return-periods",
        "100",
        "--ci",
        "delta",
    )
    assert set(report) >= {"distribution", "method", "n", "nllh", "parameters", "return_levels"}
    assert report["status"] == "ok" and report["bound"]["shape_at_bound"] is False
    # Coles (2001) sec. 4.4.1: sigma 7.44 (se 0.958), xi 0.184 (se 0.101), NLL 485.1
    assert report["parameters"]["scale"]["estimate"] == pytest.approx(7.44, abs=0.005)
    assert report["parameters"]["shape"]["estimate"] == pytest.approx(0.184, abs=0.001)
    assert report["parameters"]["scale"]["se"] == pytest.approx(0.9188**0.5, rel=0.01)
    assert report["nllh"] == pytest.approx(485.1, abs=0.05)
    level = report["return_levels"][0]
    # 106.3 mm (65.6, 147.1); our analytic Hessian widens each end by ~0.14 mm (docs/gpd.md)
    assert level["estimate"] == pytest.approx(106.3, abs=0.05)
    assert level["lower"] == pytest.approx(65.6, abs=0.2)
    assert level["upper"] == pytest.approx(147.1, abs=0.2)


def test_port_pirie_gev_reproduces_coles_3_4_1():
    report = fit_json(
        COLES / "portpirie.csv",
        "--column",
        "SeaLevel",
        "--return-periods",
        "10,100",
        "--ci",
        "delta",
    )
    p = report["parameters"]
    # Coles (2001) sec. 3.4.1: (3.87, 0.198, -0.050), NLL -4.34; z_100 = 4.69 (4.38, 5.00)
    assert (p["loc"]["estimate"], p["scale"]["estimate"], p["shape"]["estimate"]) == pytest.approx(
        (3.87, 0.198, -0.050), abs=0.005
    )
    assert report["nllh"] == pytest.approx(-4.34, abs=0.005)
    z100 = report["return_levels"][1]
    assert (z100["estimate"], z100["lower"], z100["upper"]) == pytest.approx(
        (4.69, 4.38, 5.00), abs=0.01
    )
    assert report["diagnostics"]["ppcc"] > 0.98


def test_fremantle_trend_reproduces_coles_6_3_2():
    report = fit_json(COLES / "fremantle.csv", "--column", "SeaLevel", "--covariate", "Year")
    # Coles (2001) sec. 6.3.2: slope 0.00203 m/yr (se 0.00052), deviance test rejects stationarity
    assert report["parameters"]["loc1"]["estimate"] == pytest.approx(0.00203, abs=0.00001)
    assert report["parameters"]["loc1"]["se"] == pytest.approx(0.00052, abs=0.00001)
    assert report["diagnostics"]["p_value"] < 0.001
    assert report["diagnostics"]["effective_at_covariate"] == 1989.0


def test_gumbel_matches_scipy():
    report = fit_json(COLES / "portpirie.csv", "--column", "SeaLevel", "--dist", "gumbel")
    values = np.loadtxt(COLES / "portpirie.csv", delimiter=",", skiprows=1, usecols=1)
    loc, scale = gumbel_r.fit(values)
    assert report["parameters"]["loc"]["estimate"] == pytest.approx(loc, abs=1e-4)
    assert report["parameters"]["scale"]["estimate"] == pytest.approx(scale, abs=1e-4)
    assert "shape" not in report["parameters"]


def test_lmoments_and_pmle_methods_run(tmp_path):
    for method, interval in (("lmoments", "bootstrap"), ("pmle", "delta method")):
        report = fit_json(COLES / "portpirie.csv", "--column", "SeaLevel", "--method", method)
        assert report["method"] == method and interval in report["interval"]
        assert report["return_levels"][0]["lower"] < report["return_levels"][0]["estimate"]


def test_table_output_and_plot(tmp_path):
    png = tmp_path / "fit.png"
    result = runner.invoke(
        app, ["fit", str(COLES / "portpirie.csv"), "--column", "SeaLevel", "--plot", str(png)]
    )
    assert result.exit_code == 0, result.output
    assert "standard error" in result.output and "Return levels" in result.output
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--column", "Level"], "missing column\\(s\\) Level"),
        (["--column", "SeaLevel", "--dist", "weibull"], "--dist 'weibull': expected one of"),
        (["--column", "SeaLevel", "--dist", "gpd"], "needs --threshold"),
        (
            ["--column", "SeaLevel", "--dist", "gpd", "--threshold", "4", "--method", "pmle"],
            "supports mle and lmoments",
        ),
        (["--column", "SeaLevel", "--return-periods", "1,10"], "greater than 1"),
        (["--column", "SeaLevel", "--return-periods", "ten"], "comma-separated numbers"),
        (["--column", "SeaLevel", "--shape-bound", "wide"], "a positive number or 'none'"),
        (["--column", "SeaLevel", "--shape-bound", "-1"], "a positive number or 'none'"),
        (["--column", "SeaLevel", "--method", "lmoments", "--ci", "delta"], "no likelihood"),
        (["--column", "SeaLevel", "--method", "pmle", "--ci", "profile"], "needs --method mle"),
        (["--column", "SeaLevel", "--method", "lmoments", "--shape-bound", "1"], "applies to"),
    ],
)
def test_bad_input_is_a_clear_error(args, message):
    result = runner.invoke(app, ["fit", str(COLES / "portpirie.csv"), *args])
    assert result.exit_code == 2
    assert __import__("re").search(message, result.output), result.output


def test_text_in_a_number_names_the_line(tmp_path):
    bad = tmp_path / "bad.csv"
    rows = [f"{1950 + i},{4 + 0.01 * i}" for i in range(12)]
    rows[4] = "1954,n/a?"
    bad.write_text("year,level_m\n" + "\n".join(rows) + "\n")
    result = runner.invoke(app, ["fit", str(bad), "--column", "level_m"])
    assert result.exit_code == 2 and "line 6, field 'level_m'" in result.output


def test_threshold_diagnostics_plot(tmp_path):
    png = tmp_path / "threshold.png"
    result = runner.invoke(
        app,
        [
            "fit",
            str(COLES / "rain.csv"),
            "--column",
            "rainfall_mm",
            "--dist",
            "gpd",
            "--threshold",
            "30",
            "--threshold-plot",
            str(png),
        ],
    )
    assert result.exit_code == 0, result.output
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000


def test_bootstrap_intervals_for_gev_and_gpd():
    gev = fit_json(
        COLES / "portpirie.csv",
        "--column",
        "SeaLevel",
        "--ci",
        "bootstrap",
        "--return-periods",
        "100",
    )
    level = gev["return_levels"][0]
    assert "bootstrap" in gev["interval"]
    # close to the delta-method (4.38, 5.00) of Coles sec. 3.4.1; percentile bounds differ a bit
    assert level["lower"] == pytest.approx(4.38, abs=0.06) and level["upper"] == pytest.approx(
        5.0, abs=0.06
    )
    gpd = fit_json(
        COLES / "rain.csv",
        "--column",
        "rainfall_mm",
        "--dist",
        "gpd",
        "--threshold",
        30,
        "--ci",
        "bootstrap",
        "--return-periods",
        "100",
    )
    rain = gpd["return_levels"][0]
    # skewed like Coles' profile-likelihood interval: longer upper arm than the delta method's
    assert rain["upper"] - rain["estimate"] > rain["estimate"] - rain["lower"]
    result = runner.invoke(
        app,
        [
            "fit",
            str(COLES / "portpirie.csv"),
            "--column",
            "SeaLevel",
            "--dist",
            "gumbel",
            "--ci",
            "bootstrap",
        ],
    )
    assert result.exit_code == 2 and "stationary --dist gev and gpd" in result.output
