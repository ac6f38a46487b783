"""Issue 13 items 1 and 2: a data gap never loses a warning; an impossible forecast issues none.

Every faulty forecast is the shipped sample forecast (127 messages without the impact rules:
53 Alert, 53 Cancel, 21 Update) with one fault written into it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import xarray as xr
from typer.testing import CliRunner

from resilience.cli.main import app
from resilience.early_warning.bulletin import bulletin_lines
from resilience.early_warning.forecast_checks import ForecastError
from resilience.early_warning.run import WarningRun, run_warnings
from resilience.sample.forecast import write_sample_forecast

RunFn = Callable[..., WarningRun]


@pytest.fixture(scope="module")
def districts() -> gpd.GeoDataFrame:
    from resilience.geodata.geography import open_districts

    return open_districts()


@pytest.fixture(scope="module")
def sample_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_sample_forecast(tmp_path_factory.mktemp("sample"))


@pytest.fixture
def sample(sample_path: Path) -> xr.Dataset:
    """A fresh in-memory copy of the sample forecast, to break."""
    with xr.open_dataset(sample_path) as ds:
        return ds.load()


@pytest.fixture
def run(districts: gpd.GeoDataFrame, tmp_path: Path) -> RunFn:
    """``run(path, **kwargs)``: ``run_warnings`` with a fresh database and CAP directory."""
    count = iter(range(100))

    def go(path: Path, **kwargs: object) -> WarningRun:
        n = next(count)
        return run_warnings(
            path,
            rules_path=None,
            districts=districts,
            database_url=f"sqlite:///{tmp_path / f'alerts{n}.db'}",
            out_dir=tmp_path / f"cap{n}",
            **kwargs,  # type: ignore[arg-type]
        )

    return go


@pytest.fixture(scope="module")
def baseline(sample_path: Path, districts: gpd.GeoDataFrame, tmp_path_factory) -> WarningRun:
    """The valid sample's run: the documented 127 messages and no data-quality problem."""
    root = tmp_path_factory.mktemp("baseline")
    done = run_warnings(
        sample_path,
        rules_path=None,
        districts=districts,
        database_url=f"sqlite:///{root / 'alerts.db'}",
        out_dir=root / "cap",
    )
    assert done.by_type == {"Alert": 53, "Cancel": 53, "Update": 21}
    return done


def _write(ds: xr.Dataset, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.to_netcdf(path)
    return path


def _messages(done: WarningRun, *hazards: str) -> Counter:
    """(type, hazard, district, level) of every message of the given hazards (all if none)."""
    return Counter(
        (m.msg_type, m.hazard, m.area, m.level)
        for m in done.messages
        if not hazards or m.hazard in hazards
    )


def _no_output(tmp_path: Path) -> None:
    """Nothing was issued: no CAP file in any output directory of the ``run`` fixture."""
    assert not [p for p in tmp_path.glob("cap*/**/*") if p.is_file()]


# ---- 13.1: data gaps -------------------------------------------------------------------


@pytest.mark.fault("13.1", "one NaN hour of pr removes every rainstorm message")
def test_one_missing_pr_hour_keeps_every_rain_message(sample, run, baseline, tmp_path):
    # hour 1 (ends 07-20 10:00 Beijing) is dry, before the rain: a gap there changes no
    # total, yet today's cumulative sum carries the NaN into every later window
    sample["pr"][:, 1] = np.nan
    done = run(_write(sample, tmp_path / "gap1.nc"))
    rain = ("rainstorm", "waterlogging")
    assert _messages(done, *rain) == _messages(baseline, *rain)
    assert sum(_messages(done, *rain).values()) == 34  # 30 rainstorm + 4 waterlogging
    assert done.by_type == baseline.by_type
    assert "pr: missing at 1 of 72 hours" in done.data_quality[0]
    assert "07-20 10:00" in done.data_quality[0] and str(tmp_path) in done.data_quality[0]
    rule_lines = [line for line in done.data_quality if "evaluated on the hours present" in line]
    assert len(done.data_quality) == 3 and len(rule_lines) == 2  # rainstorm, waterlogging
    assert "rain_12h windows miss up to 1 of 12 h" in "\n".join(rule_lines)
    assert bulletin_lines(done)[-1].startswith("data quality: ")
    assert baseline.data_quality == []  # the valid sample is a clean run


@pytest.mark.fault("13.1", "six missing hours of pr cut 127 messages to 70")
def test_six_missing_pr_hours_inside_the_storm_keep_the_rain_alerts(
    sample, run, baseline, tmp_path
):
    # six hours just after the burst (hour ends 07-20 22:00..07-21 03:00): the rolling sums
    # over the hours present are lower bounds, so the levels the burst reached still stand
    sample["pr"][:, 13:19] = np.nan
    done = run(_write(sample, tmp_path / "gap6.nc"))
    levels = {(m.area, m.level) for m in done.messages if m.hazard == "rainstorm"}
    assert ("310115", "orange") in levels  # Pudong's orange (6-h >= 100 mm) is kept
    # what goes: five blue 12-h >= 50 mm episodes whose totals needed the missing hours (an
    # Alert and a Cancel each); nothing is invented, and the run says a level may be missed
    lost = _messages(baseline) - _messages(done)
    assert not _messages(done) - _messages(baseline)
    assert sum(lost.values()) == 10 and {(t, h, lv) for t, h, _, lv in lost} == {
        ("Alert", "rainstorm", "blue"),
        ("Cancel", "rainstorm", "blue"),
    }
    assert sum(done.by_type.values()) == 117  # today's code: 70
    assert any("rain_12h windows miss up to 6 of 12 h" in line for line in done.data_quality)
    # and the messages whose windows held missing hours say so, in both languages
    # (Pudong's orange 6-h step ends as the gap begins: its windows miss up to 2 hours; its
    # blue 6-h step after the burst has windows missing all six)
    pudong = {m.level: m for m in done.messages if m.area == "310115" and m.hazard == "rainstorm"}
    xml = pudong["orange"].path.read_text(encoding="utf-8")
    assert "(forecast missing up to 2 h; computed on the hours present)" in xml
    assert "预报最多缺2个时次" in xml
    assert "forecast missing up to 6 h" in pudong["blue"].path.read_text(encoding="utf-8")
    clean = next(m for m in baseline.messages if m.area == "310115" and m.level == "orange")
    assert "forecast missing" not in clean.path.read_text(encoding="utf-8")
    # every other hazard is untouched by a gap in pr
    others = ("high_temperature", "huangpu_high_tide", "typhoon")
    assert _messages(done, *others) == _messages(baseline, *others)
    assert "pr: missing at 6 of 72 hours" in done.data_quality[0]


@pytest.mark.fault("13.1", "an all-NaN tas silently drops every heat message")
def test_all_missing_tas_holds_the_heat_rule_and_says_so(sample, run, baseline, tmp_path):
    sample["tas"][:] = np.nan
    done = run(_write(sample, tmp_path / "no_tas.nc"))
    assert not _messages(done, "high_temperature")
    others = ("huangpu_high_tide", "rainstorm", "typhoon", "waterlogging")
    assert _messages(done, *others) == _messages(baseline, *others)
    text = "\n".join(done.data_quality)
    assert "tas: missing at 72 of 72 hours" in text
    assert "rule shanghai_high_temperature held: tas missing at more than 25% of the hours" in text


@pytest.mark.fault("13.1", "pr missing at a third of the hours issues rain alerts on scraps")
def test_pr_missing_at_a_third_of_the_hours_holds_the_rain_rules(sample, run, tmp_path):
    sample["pr"][:, ::3] = np.nan  # 24 of 72 hours, more than the 25 % threshold
    done = run(_write(sample, tmp_path / "gap24.nc"))
    assert not _messages(done, "rainstorm", "waterlogging")
    held = [line for line in done.data_quality if " held: pr missing" in line]
    assert len(held) == 2 and any("shanghai_rainstorm" in line for line in held)


@pytest.mark.fault("13.1", "resilience warn exits 0 on a forecast with a data gap")
def test_cli_exits_non_zero_and_prints_the_gap(sample, tmp_path):
    sample["tas"][:] = np.nan
    path = _write(sample, tmp_path / "no_tas.nc")
    config = tmp_path / "resilience.toml"
    config.write_text(f'data_dir = "{tmp_path / "data"}"\nuse_prefect = false\n')
    args = ["warn", "--forecast", str(path), "--out", str(tmp_path / "cap"), "--config"]
    result = CliRunner(env={"COLUMNS": "200"}).invoke(app, [*args, str(config)])
    assert result.exit_code == 3, result.output
    assert "data quality:" in result.output and "shanghai_high_temperature held" in result.output
    assert len(list((tmp_path / "cap").glob("*.xml"))) == 127 - 42  # all but the heat messages


@pytest.mark.fault("13.1", "a duplicated forecast hour is accepted")
def test_duplicated_hour_is_rejected(sample, run, tmp_path):
    twice = xr.concat([sample.isel(time=slice(0, 11)), sample.isel(time=slice(10, None))], "time")
    path = _write(twice, tmp_path / "dup.nc")
    with pytest.raises(ForecastError, match=r"dup\.nc: time: expected each hour once.*07-20 19:00"):
        run(path)
    _no_output(tmp_path)


@pytest.mark.fault("13.1", "forecast hours out of order are accepted")
def test_hours_out_of_order_are_rejected(sample, run, tmp_path):
    order = np.r_[0:10, 11, 10, 12:72]
    path = _write(sample.isel(time=order), tmp_path / "swapped_hours.nc")
    with pytest.raises(ForecastError, match=r"swapped_hours\.nc: time: .*out of order"):
        run(path)
    _no_output(tmp_path)


# ---- 13.2: impossible forecasts ---------------------------------------------------------


@pytest.mark.fault("13.2", "tas in K labelled degC issues heat warnings everywhere")
def test_kelvin_labelled_degc_is_rejected(sample, run, tmp_path):
    sample["tas"] += np.float32(273.15)
    path = _write(sample, tmp_path / "kelvin.nc")
    with pytest.raises(
        ForecastError, match=r"kelvin\.nc: tas: expected degC within -89\.2\.\.56\.7"
    ):
        run(path)
    _no_output(tmp_path)


@pytest.mark.fault("13.2", "pr of 1e6 mm issues red rainstorm warnings")
def test_a_million_mm_of_rain_is_rejected(sample, run, tmp_path):
    sample["pr"][:, 11, 3, 3] = np.float32(1e6)
    path = _write(sample, tmp_path / "flood.nc")
    with pytest.raises(ForecastError, match=r"flood\.nc: pr: expected mm/h within .*\.\.400"):
        run(path)
    _no_output(tmp_path)


@pytest.mark.fault("13.2", "swapped lat/lon issue warnings for the wrong districts")
def test_swapped_lat_lon_is_rejected(sample, run, tmp_path):
    swapped = sample.rename({"lat": "lon_", "lon": "lat"}).rename({"lon_": "lon"})
    path = _write(swapped, tmp_path / "swapped.nc")
    with pytest.raises(ForecastError, match=r"swapped\.nc: lat: expected degrees north in -90"):
        run(path)
    _no_output(tmp_path)


@pytest.mark.fault("13.2", "a grid that misses the districts is used")
def test_grid_off_the_districts_is_rejected(sample, run, tmp_path):
    elsewhere = sample.assign_coords(lon=sample["lon"] - 20.0)  # 100.8..102.1 E: Yunnan
    path = _write(elsewhere, tmp_path / "elsewhere.nc")
    with pytest.raises(ForecastError, match=r"elsewhere\.nc: grid .* expected it to overlap"):
        run(path)
    _no_output(tmp_path)


@pytest.mark.fault("13.2", "a missing issued attribute stamps July alerts with today's date")
def test_missing_issued_is_rejected_unless_overridden(sample, run, tmp_path):
    del sample.attrs["issued"]
    path = _write(sample, tmp_path / "no_issued.nc")
    with pytest.raises(ForecastError, match=r"no_issued\.nc: attribute 'issued': expected"):
        run(path)
    _no_output(tmp_path)
    when = datetime.fromisoformat("2026-07-20T08:00:00+08:00")
    done = run(path, now=when)  # the explicit override: the documented sequence, in July
    assert done.by_type == {"Alert": 53, "Cancel": 53, "Update": 21}
    assert min(m.sent for m in done.messages) == when


@pytest.mark.fault("13.1", "the warnings flow records a forecast with gaps as a clean run")
def test_the_warnings_flow_issues_then_fails_on_a_gap(sample, tmp_path):
    from flows.issue_warnings import DataQualityError, run_issue_warnings

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    sample["pr"][:, 1] = np.nan
    _write(sample, inbox / "forecast_gap.nc")
    url = f"sqlite:///{tmp_path / 'db' / 'alerts.db'}"
    with pytest.raises(DataQualityError, match=r"forecast_gap.nc: .*pr: missing at 1 of 72"):
        run_issue_warnings(inbox, tmp_path / "cap", database_url=url, use_prefect=False)
    assert len(list((tmp_path / "cap").glob("*.xml"))) > 100  # issued on what it holds
