"""`resilience fit` at the edges: a binding shape bound, profile intervals and flags.

References: Coles (2001) published profile interval for Port Pirie, scipy.stats.genextreme
maximum likelihood for the unrestricted fit of a heavy-tailed sample.
"""

import json
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import genextreme
from typer.testing import CliRunner

from resilience.cli.main import app

COLES = Path(__file__).parents[2] / "data" / "coles"
runner = CliRunner()


def fit_json(*args):
    result = runner.invoke(app, ["fit", *map(str, args), "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


@pytest.fixture
def heavy_csv(tmp_path):
    """40 annual maxima drawn from a GEV with xi = 0.9 (seeded): beyond the bound 0.5."""
    values = genextreme.rvs(-0.9, loc=10, scale=2, size=40, random_state=1)
    path = tmp_path / "heavy.csv"
    rows = "".join(f"{1980 + i},{v:.6f}\n" for i, v in enumerate(values))
    path.write_text("year,level_m\n" + rows)
    return path, np.round(values, 6)


def test_profile_is_the_default_and_reproduces_coles():
    report = fit_json(COLES / "portpirie.csv", "--column", "SeaLevel", "--return-periods", "100")
    assert report["interval"] == "95% profile likelihood" and report["status"] == "ok"
    level = report["return_levels"][0]
    # Coles (2001) sec. 3.4.1, fig. 3.4: z_100 profile interval [4.5, 5.27] m (2-3 digits)
    assert (level["lower"], level["upper"]) == pytest.approx((4.5, 5.27), abs=0.015)
    assert level["flags"] == []


def test_bound_binds_says_so(heavy_csv):
    path, values = heavy_csv
    report = fit_json(path, "--column", "level_m", "--return-periods", "100")
    assert report["status"] == "shape_at_bound"
    bound = report["bound"]
    assert bound["shape_at_bound"] is True and bound["shape_bound"] == 0.5
    c, loc, scale = genextreme.fit(values)
    free = bound["unrestricted"]
    assert free["shape"] == pytest.approx(-c, rel=1e-4)  # scipy stops at ~1e-5 relative
    reference_nllh = -genextreme.logpdf(values, c, loc, scale).sum()
    assert bound["deviance"] == pytest.approx(2 * (report["nllh"] - reference_nllh), abs=1e-5)
    assert all(p["se"] is None for p in report["parameters"].values())  # no information there
    assert "approximate" in report["interval"]
    assert "held at its bound" in report["return_levels"][0]["flags"][0]


def test_delta_at_the_bound_gives_no_interval(heavy_csv):
    path, _ = heavy_csv
    report = fit_json(path, "--column", "level_m", "--return-periods", "100", "--ci", "delta")
    level = report["return_levels"][0]
    assert level["lower"] is None and level["upper"] is None
    assert "delta method is invalid" in level["flags"][0]
    table = runner.invoke(app, ["fit", str(path), "--column", "level_m", "--ci", "delta"])
    assert table.exit_code == 0 and "shape_at_bound" in table.output.split("┏")[0]
    assert "deviance" in table.output and "unrestricted shape" in table.output


def test_shape_bound_none_gives_the_unrestricted_fit(heavy_csv):
    path, values = heavy_csv
    report = fit_json(path, "--column", "level_m", "--shape-bound", "none", "--ci", "delta")
    c, loc, scale = genextreme.fit(values)
    p = report["parameters"]
    assert (p["loc"]["estimate"], p["scale"]["estimate"], p["shape"]["estimate"]) == pytest.approx(
        (loc, scale, -c), rel=1e-4
    )
    assert report["status"] == "ok" and report["bound"]["shape_bound"] is None
    assert p["shape"]["se"] is not None
    # the delta interval of a heavy tail reaches below the data; --floor flags it
    flagged = fit_json(
        path, "--column", "level_m", "--shape-bound", "none", "--ci", "delta", "--floor", "0"
    )
    rows = {r["return_period"]: r for r in flagged["return_levels"]}
    assert rows[100.0]["lower"] < 0 and "physical floor 0" in rows[100.0]["flags"][0]


def test_lmoments_clip_is_reported_and_bootstrapped(heavy_csv):
    path, _ = heavy_csv
    report = fit_json(
        path, "--column", "level_m", "--method", "lmoments", "--return-periods", "100"
    )
    assert report["status"] == "shape_at_bound" and report["bound"]["shape_clipped"] is True
    assert report["bound"]["unrestricted"]["shape"] > 0.5
    assert "bootstrap" in report["interval"]


def test_gpd_delta_lower_end_below_threshold_is_flagged(tmp_path):
    rain = np.loadtxt(COLES / "rain.csv", delimiter=",", skiprows=1, usecols=0)
    short = tmp_path / "short.csv"
    short.write_text("rainfall_mm\n" + "\n".join(f"{v:.1f}" for v in rain[:1500]) + "\n")
    report = fit_json(
        short,
        "--column",
        "rainfall_mm",
        "--dist",
        "gpd",
        "--threshold",
        "30",
        "--return-periods",
        "1000",
        "--ci",
        "delta",
    )
    level = report["return_levels"][0]
    assert level["lower"] < 30 and "below the threshold 30" in " ".join(level["flags"])
    profile = fit_json(
        short,
        "--column",
        "rainfall_mm",
        "--dist",
        "gpd",
        "--threshold",
        "30",
        "--return-periods",
        "1000",
    )
    assert profile["interval"] == "95% profile likelihood"
    assert profile["return_levels"][0]["lower"] is None or profile["return_levels"][0]["lower"] > 30


def test_trend_model_at_the_bound(tmp_path):
    values = genextreme.rvs(-0.9, loc=10, scale=2, size=40, random_state=1) + 0.05 * np.arange(40)
    path = tmp_path / "trend.csv"
    path.write_text(
        "year,level_m\n" + "".join(f"{1980 + i},{v:.6f}\n" for i, v in enumerate(values))
    )
    args = (path, "--column", "level_m", "--covariate", "year", "--return-periods", "100")
    report = fit_json(*args)
    assert report["status"] == "shape_at_bound"
    free = report["bound"]["unrestricted"]
    assert report["bound"]["deviance"] == pytest.approx(2 * (report["nllh"] - free["nllh"]))
    # the same model fitted under a wide bound lands on the unrestricted estimate
    wide = fit_json(*args, "--shape-bound", "2", "--ci", "delta")
    assert wide["status"] == "ok"
    for name in ("loc1", "scale", "shape"):
        assert wide["parameters"][name]["estimate"] == pytest.approx(free[name], rel=1e-4)
    # independent check of the unrestricted likelihood with scipy's density
    loc = free["loc0"] + free["loc1"] * (1980 + np.arange(40))
    scipy_nllh = -genextreme.logpdf(values, -free["shape"], loc, free["scale"]).sum()
    assert free["nllh"] == pytest.approx(scipy_nllh, abs=1e-4)  # data rounded to 1e-6
