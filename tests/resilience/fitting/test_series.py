"""`resilience fit --date-column`: block maxima and declustered peaks from a dated series.

Real record: the hourly Shanghai weather of resilience/data/observed/hourly (UCI PM2.5 data,
CC BY 4.0; PROVENANCE.md there). Independent references: pandas group-by maxima and a plain
loop that implements the runs rule of Coles (2001, sec. 5.3.2).
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from hazard_models.layer import SchemaError
from resilience.cli.main import app
from resilience.fitting.series import block_maxima, decluster_peaks, read_dated_series

HOURLY = (
    Path(__file__).parents[3] / "resilience/data/observed/hourly/ShanghaiPM20100101_20151231.csv"
)
runner = CliRunner()


def runs_clusters(values, threshold, run_length):
    """Count clusters and exceedances with a loop (independent of decluster_runs)."""
    clusters, exceed, below = 0, 0, run_length
    for value in values:
        if value > threshold:
            exceed += 1
            if below >= run_length:
                clusters += 1
            below = 0
        else:
            below += 1
    return clusters, exceed


@pytest.fixture
def daily_csv(tmp_path):
    """15 years of seeded daily values; 2011 has only its first 100 days (incomplete)."""
    days = pd.date_range("2000-01-01", "2014-12-31", freq="D")
    days = days[(days.year != 2011) | (days.day_of_year <= 100)]
    values = np.random.default_rng(7).gumbel(20.0, 5.0, days.size)
    path = tmp_path / "daily.csv"
    pd.DataFrame({"date": days.strftime("%Y-%m-%d"), "rain_mm": values.round(2)}).to_csv(
        path, index=False
    )
    return path


def test_annual_and_seasonal_maxima_match_pandas(daily_csv):
    series = read_dated_series(daily_csv, column="rain_mm", date_column="date")
    table = pd.read_csv(daily_csv, parse_dates=["date"])
    record, info = block_maxima(series, "annual")
    expected = table.groupby(table.date.dt.year).rain_mm.max().drop(2011)
    assert record.values == pytest.approx(expected.to_numpy())
    assert info["blocks_dropped"] == "2011" and info["blocks"] == 14
    record, info = block_maxima(series, "JJA")
    summer = table[table.date.dt.month.isin([6, 7, 8])]
    expected = summer.groupby(summer.date.dt.year).rain_mm.max().drop(2011, errors="ignore")
    assert record.values == pytest.approx(expected.to_numpy())


def test_hourly_record_declusters_like_the_runs_rule():
    series = read_dated_series(HOURLY, column="precipitation", date_column="year,month,day,hour")
    assert len(series.values) == 48575  # 52,584 hours less the NA ones
    record, info, per_year = decluster_peaks(series, threshold=10.0, run_length=6)
    clusters, exceed = runs_clusters(series.values, 10.0, 6)
    assert (info["clusters"], info["exceedances_before_declustering"]) == (clusters, exceed)
    assert info["extremal_index"] == pytest.approx(clusters / exceed)
    assert int((np.asarray(record.values) > 10.0).sum()) == clusters
    assert max(record.values) == max(series.values)  # each cluster keeps its peak
    assert per_year == pytest.approx(48575 / 6.0, rel=1e-3)  # 2010-2015, 6 years


def test_cli_fits_declustered_peaks_of_the_hourly_record():
    result = runner.invoke(
        app,
        [
            "fit", str(HOURLY), "--column", "precipitation",
            "--date-column", "year,month,day,hour", "--dist", "gpd", "--threshold", "10",
            "--run-length", "6", "--return-periods", "2,10", "--json",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    clusters, _ = runs_clusters(
        read_dated_series(HOURLY, column="precipitation", date_column="year,month,day,hour").values,
        10.0,
        6,
    )
    assert report["diagnostics"]["exceedances"] == clusters
    assert report["diagnostics"]["extremal_index"] < 1
    assert report["interval"] == "95% profile likelihood"
    low, high = report["return_levels"]
    assert 10 < low["lower"] < low["estimate"] < high["estimate"] < high["upper"]


def test_cli_block_maxima_from_dates(daily_csv):
    result = runner.invoke(
        app, ["fit", str(daily_csv), "--column", "rain_mm", "--date-column", "date", "--json"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["n"] == 14 and report["diagnostics"]["blocks_dropped"] == "2011"


def test_bad_dates_name_the_line(tmp_path):
    bad = tmp_path / "bad.csv"
    rows = [f"2000-01-{d:02d},{d}" for d in range(1, 15)]
    rows[3] = "someday,4"
    bad.write_text("date,value\n" + "\n".join(rows) + "\n")
    with pytest.raises(SchemaError, match="line 5, field 'date': expected a date"):
        read_dated_series(bad, column="value", date_column="date")
    with pytest.raises(SchemaError, match="missing column"):
        read_dated_series(bad, column="value", date_column="time")
    result = runner.invoke(app, ["fit", str(bad), "--column", "value", "--date-column", "date"])
    assert result.exit_code == 2 and "expected a date" in result.output
