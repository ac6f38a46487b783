"""Probability and quantile plots of `resilience fit`, and the threshold marked on its plot."""

import json
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from resilience.cli.main import app
from resilience.fitting.models import FitReport
from resilience.fitting.qq_plot import model_probabilities
from resilience.fitting.record import read_station_record

COLES = Path(__file__).parents[2] / "data" / "coles"
PNG = b"\x89PNG\r\n\x1a\n"
runner = CliRunner()


def report_for(*args):
    result = runner.invoke(app, ["fit", *map(str, args), "--ci", "delta", "--json"])
    assert result.exit_code == 0, result.output
    return FitReport.model_validate(json.loads(result.output))


def test_good_fits_lie_on_the_diagonal():
    """Coles (2001, figs. 3.5, 4.7, 6.x): these three fits are judged good in the book."""
    cases = [
        (("portpirie.csv", "SeaLevel", None), ()),
        (("rain.csv", "rainfall_mm", None), ("--dist", "gpd", "--threshold", "30")),
        (("fremantle.csv", "SeaLevel", "Year"), ("--covariate", "Year")),
    ]
    for (name, column, covariate), extra in cases:
        report = report_for(COLES / name, "--column", column, *extra)
        record = read_station_record(COLES / name, column=column, covariate=covariate)
        ordered, p, model_p, model_q = model_probabilities(report, record)
        # Gringorten positions of a well-fitting model: |p - F(x)| below ~ 1.36/sqrt(n)
        # (the 95 % Kolmogorov-Smirnov distance; Coles' plots show far closer agreement)
        assert np.max(np.abs(model_p - p)) < 1.36 / np.sqrt(p.size)
        assert np.corrcoef(model_q, ordered)[0, 1] > 0.98


def test_cli_writes_the_plots_with_the_threshold_marked(tmp_path):
    args = ["fit", str(COLES / "rain.csv"), "--column", "rainfall_mm", "--dist", "gpd"]
    args += ["--threshold", "30", "--ci", "delta"]
    marked, qq = tmp_path / "marked.png", tmp_path / "qq.png"
    result = runner.invoke(app, [*args, "--threshold-plot", str(marked), "--qq-plot", str(qq)])
    assert result.exit_code == 0, result.output
    assert "probability and quantile plots" in result.output
    assert qq.read_bytes()[:8] == PNG and qq.stat().st_size > 20_000
    from resilience.fitting.display import plot_threshold_diagnostics

    record = read_station_record(COLES / "rain.csv", column="rainfall_mm")
    plain = plot_threshold_diagnostics(record, tmp_path / "plain.png")
    assert marked.read_bytes()[:8] == PNG and marked.read_bytes() != plain.read_bytes()
