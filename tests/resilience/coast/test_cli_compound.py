"""Tests of ``resilience compound`` (paired daily rain and high water) through typer's runner.

There is no public daily Shanghai series of rain and high water, so every input here is
SYNTHETIC and generated in the test: known answers come from the same estimators called
directly, from hand counts on tiny files, and from a series made dependent on the real
JTWC typhoon days shipped in resilience/data/typhoon.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from hazard_models.coast.compound import conditional_exceedance
from resilience.cli.compound import compound_command
from resilience.coast.compound_report import CompoundOptions, compound_analysis, read_paired_csv
from resilience.coast.typhoon_io import shipped_typhoon_days

runner = CliRunner()


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    """A small app with the command registered as the lead will register it."""
    application = typer.Typer()
    application.command("compound")(compound_command)

    @application.command()
    def version() -> None:  # a second command, so that "compound" is a sub-command
        typer.echo("test")

    return application


@pytest.fixture(scope="module")
def typhoon_dates() -> pd.DatetimeIndex:
    return pd.DatetimeIndex(shipped_typhoon_days()["date"].unique())


@pytest.fixture(scope="module")
def pairs_csv(tmp_path_factory, typhoon_dates) -> Path:
    """SYNTHETIC 1990-2021 daily rain (gamma) and high water (normal), both raised on the
    real typhoon days (rain by a gamma(4, 20 mm) storm total, water by 0.8 m), two gaps."""
    days = pd.date_range("1990-01-01", "2021-12-31", freq="D")
    rng = np.random.default_rng(3)
    storm = days.isin(typhoon_dates)
    rain = rng.gamma(0.5, 8.0, days.size) + storm * rng.gamma(4.0, 20.0, days.size)
    water = 3.5 + 0.3 * rng.standard_normal(days.size) + storm * 0.8
    frame = pd.DataFrame(
        {
            "date": days.strftime("%Y-%m-%d"),
            "rain_mm": rain.round(2),
            "high_water_m": water.round(3),
        }
    )
    frame["station"] = "synthetic"
    frame.loc[[10, 20], "rain_mm"] = np.nan  # gaps: the pairs are dropped
    path = tmp_path_factory.mktemp("compound") / "pairs.csv"
    frame.to_csv(path, index=False)
    return path


def _json(app, *args: str) -> dict:
    result = runner.invoke(app, ["compound", *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_all_days_against_the_estimators(app, pairs_csv):
    got = _json(app, "--pairs", str(pairs_csv), "--n-boot", "200")
    frame = pd.read_csv(pairs_csv).dropna()
    rain, water = frame["rain_mm"].to_numpy(), frame["high_water_m"].to_numpy()
    r, s = np.quantile(rain, 0.99), np.quantile(water, 0.99)
    assert got["n_pairs"] == 11688 - 2 and got["condition"] == "all_days"
    assert got["rain_threshold_mm"] == pytest.approx(r) and got["water_threshold_m"] == s
    both = (rain > r) & (water > s)
    # Counting: the empirical copula with p = #(x <= r) / (n + 1) is the joint frequency.
    assert got["joint_exceedance"] == pytest.approx(both.mean(), rel=1e-12)
    assert got["n_joint"] == both.sum()
    independent = (rain > r).mean() * (water > s).mean()
    assert got["multiplication_factor"] == pytest.approx(both.mean() / independent, rel=1e-12)
    assert got["multiplication_factor"] > 5  # typhoons drive both: strongly dependent
    # AND return period: 32 years of record / joint days.
    assert got["and_return_period_years"] == pytest.approx(11688 / 365.25 / both.sum(), rel=1e-9)
    direct = conditional_exceedance(
        rain,
        water,
        target_threshold=r,
        condition_threshold=s,
        blocks=pd.to_datetime(frame["date"]).dt.year.to_numpy(),
        n_boot=200,
    )
    # Same data, same seed, same year blocks: the same interval to the last digit.
    assert got["rain_given_water"] == direct.probability
    assert (got["rain_given_water_lower"], got["rain_given_water_upper"]) == (
        direct.lower,
        direct.upper,
    )
    assert got["bootstrap_blocks"] == 32 and got["water_given_rain"] == pytest.approx(
        both.sum() / (rain > r).sum()
    )


def test_typhoon_days_and_season(app, pairs_csv, typhoon_dates):
    args = ["--pairs", str(pairs_csv), "--n-boot", "200", "--rain-threshold-mm", "50"]
    args += ["--water-threshold-m", "4.0"]
    everyday = _json(app, *args)
    typhoon = _json(app, *args, "--typhoon-only")
    in_record = typhoon_dates[(typhoon_dates >= "1990-01-01") & (typhoon_dates <= "2021-12-31")]
    assert typhoon["n_pairs"] == in_record.size  # every typhoon day of 1990-2021, no gaps there
    assert typhoon["condition"] == "typhoon_days"
    # On typhoon days high water (+0.8 m) and heavy rain come together far more often.
    assert typhoon["rain_given_water"] > everyday["rain_given_water"] + 0.3
    assert typhoon["rain_given_water_lower"] > everyday["rain_given_water_upper"]
    season = _json(app, *args, "--typhoon-season")
    assert season["typhoon_months"] == [7, 8, 9]  # 90 % of the 155 typhoon days
    assert everyday["n_pairs"] > season["n_pairs"] > typhoon["n_pairs"]


def test_hand_count_on_a_tiny_file(tmp_path):
    days = pd.date_range("2020-07-01", periods=12, freq="D").strftime("%Y-%m-%d")
    rain = [0, 80, 0, 60, 0, 5, 0, 70, 0, 0, 90, 0]
    water = [4.0, 5.1, 4.2, 5.3, 4.1, 5.2, 4.0, 4.3, 4.0, 4.1, 4.2, 4.0]
    path = tmp_path / "tiny.csv"
    pd.DataFrame({"date": days, "rain_mm": rain, "high_water_m": water}).to_csv(path, index=False)
    options = CompoundOptions(rain_threshold_mm=50, water_threshold_m=5.0, n_boot=50)
    got = compound_analysis(read_paired_csv(path), options=options)
    # Rain > 50 on 4 days (80, 60, 70, 90); water > 5 on 3 days (5.1, 5.3, 5.2); both on 2.
    assert got.rain_exceedance == pytest.approx(4 / 12) and got.water_exceedance == 0.25
    assert got.joint_exceedance == pytest.approx(2 / 12) and got.n_joint == 2
    assert got.multiplication_factor == pytest.approx((2 / 12) / (4 / 12 * 3 / 12))
    assert got.rain_given_water == pytest.approx(2 / 3) and got.water_given_rain == 0.5
    # 2 joint days in 12 days of record: one every 6 days = 6 / 365.25 years.
    assert got.and_return_period_years == pytest.approx(6 / 365.25)
    window = compound_analysis(
        read_paired_csv(path), options=options.model_copy(update={"window_days": 1})
    )
    # With +-1 day each high water above 5 m (2, 4 and 6 July) spreads to its neighbours:
    # 1-7 July are above 5 m (7 of 12 days); the rainy 8 and 11 July still are not.
    assert window.water_exceedance == pytest.approx(7 / 12) and window.n_joint == 2


def test_errors_name_file_line_and_column(app, tmp_path):
    path = tmp_path / "bad.csv"
    header = "date,rain_mm,high_water_m\n"
    good = "".join(f"2020-07-{d:02d},{d},4.{d}\n" for d in range(1, 13))
    cases = {
        good + "2020-07-32,1,4.0\n": "line 14, field 'date': expected a date such as 2021-07-25",
        good + "2020-07-13,lots,4.0\n": "line 14, field 'rain_mm': expected a number",
        good + "2020-07-13,-3,4.0\n": "line 14, field 'rain_mm': expected a rain depth >= 0",
        good + "2020-07-01,1,4.0\n": "field 'date': expected one row per date, found "
        "'2020-07-01' on lines [2, 14]",
    }
    for body, message in cases.items():
        path.write_text(header + body)
        result = runner.invoke(app, ["compound", "--pairs", str(path)])
        assert result.exit_code == 2 and message in result.output, (message, result.output)
        assert str(path) in result.output
    path.write_text(header + good)
    missing = runner.invoke(app, ["compound", "--pairs", str(path), "--rain-column", "pr"])
    assert "missing column(s) pr" in missing.output
    both = runner.invoke(
        app, ["compound", "--pairs", str(path), "--typhoon-only", "--typhoon-season"]
    )
    assert "at most one of --typhoon-only and --typhoon-season" in both.output
    high = runner.invoke(app, ["compound", "--pairs", str(path), "--rain-threshold-mm", "99"])
    assert "expected some pairs above and some below each, found 0" in high.output
    bad_quantile = runner.invoke(app, ["compound", "--pairs", str(path), "--quantile", "99"])
    assert "invalid option: quantile" in bad_quantile.output
    absent = runner.invoke(app, ["compound", "--pairs", str(tmp_path / "none.csv")])
    assert absent.exit_code == 2 and "file not found" in absent.output


def test_table_output(app, pairs_csv):
    result = runner.invoke(
        app, ["compound", "--pairs", str(pairs_csv), "--n-boot", "100", "--typhoon-only"]
    )
    assert result.exit_code == 0, result.output
    for text in (
        "multiplication factor",
        "P(rain | high water), 90% CI",
        "typhoon days",
        "note: JTWC best tracks",
    ):
        assert text in result.output


def test_the_sample_pairs_work_with_the_default_settings(app, tmp_path):
    """The sample ships a pairs file (synthetic, on the real typhoon days); every condition
    runs on it as shipped, and too few typhoon days lower the default quantile visibly."""
    from resilience.sample.compound_pairs import write_sample_compound_pairs

    path = write_sample_compound_pairs(tmp_path)
    frame = pd.read_csv(path)
    assert set(frame["synthetic"]) == {"yes"}
    assert frame["date"].iloc[0] == "1990-01-01" and frame["date"].iloc[-1] == "2021-12-31"
    typhoon = frame[frame["typhoon_day"]]
    days = set(pd.to_datetime(shipped_typhoon_days()["date"]).dt.strftime("%Y-%m-%d"))
    assert set(typhoon["date"]) == {d for d in days if "1990" <= d[:4] <= "2021"}
    # typhoon days are wetter and higher, as the generator says
    assert typhoon["rain_mm"].mean() > 3 * frame["rain_mm"].mean()
    assert typhoon["high_water_m"].mean() > frame["high_water_m"].mean() + 0.3
    outputs = {}
    for flag in ([], ["--typhoon-only"], ["--typhoon-season"]):
        result = runner.invoke(
            app, ["compound", "--pairs", str(path), "--n-boot", "100", "--json", *flag]
        )
        assert result.exit_code == 0, result.output
        outputs[tuple(flag)] = json.loads(result.stdout)
    only = outputs[("--typhoon-only",)]
    n = len(typhoon)
    assert only["n_pairs"] == n
    # 0.99 of n typhoon days leaves < 10 above: lowered to 1 - 10/n, and said so
    expected = float(np.quantile(typhoon["rain_mm"], 1 - 10 / n))
    assert only["rain_threshold_mm"] == pytest.approx(expected)
    assert any(f"quantile, not 0.99: {n} chosen days" in note for note in only["notes"])
    everything = outputs[()]
    assert everything["rain_threshold_mm"] == pytest.approx(np.quantile(frame["rain_mm"], 0.99))
    assert not any("quantile, not 0.99" in note for note in everything["notes"])
    assert everything["multiplication_factor"] > 2  # typhoons make rain and surge coincide
