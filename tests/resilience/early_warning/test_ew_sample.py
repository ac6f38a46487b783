"""The sample 72-h forecast tells the documented story, end to end through run_warnings."""

from __future__ import annotations

from datetime import date, datetime

import numpy as np
import xarray as xr
from rich.console import Console

from resilience.early_warning.bulletin import bulletin_lines, format_bulletins
from resilience.early_warning.cap import validate_cap
from resilience.early_warning.engine import evaluate_rules
from resilience.early_warning.rules import LEVELS
from resilience.early_warning.run import run_warnings
from resilience.sample.forecast import write_sample_forecast


def test_file_layout(sample_forecast):
    ds = sample_forecast
    sizes = {"member": 5, "time": 72, "lat": 14, "lon": 14, "station": 2, "bounds": 2}
    assert dict(ds.sizes) == sizes
    assert ds["lon"].values[[0, -1]].tolist() == [120.8, 122.1]
    assert ds["lat"].values[[0, -1]].tolist() == [30.6, 31.9]
    units = {v: ds[v].attrs["units"] for v in ("tas", "pr", "sfcWind", "wind_gust", "water_level")}
    assert units == {"tas": "degC", "pr": "mm/h", "sfcWind": "m/s", "wind_gust": "m/s",
                     "water_level": "m"}  # fmt: skip
    assert ds["water_level"].dims == ("member", "time", "station")
    assert ds.attrs["synthetic"] == "yes" and "SYNTHETIC" in ds.attrs["story"]
    assert (np.diff(ds["time"].values) == np.timedelta64(1, "h")).all()


def test_story_numbers(sample_forecast):
    ds = sample_forecast
    day1 = ds["tas"].isel(time=slice(0, 16)).max("time")  # 08:00-24:00 on 20 July
    centre = day1.sel(lat=31.2, lon=121.5).median("member")
    suburb = day1.sel(lat=30.8, lon=121.0).median("member")
    # synthetic design: ~38 degC centre, ~36 suburbs; 0.5 degC covers the member shift
    assert abs(float(centre) - 38.0) < 0.5 and abs(float(suburb) - 36.0) < 0.5
    peak_1h = ds["pr"].max(("time", "lat", "lon"))
    assert (peak_1h >= 50).any() and (peak_1h < 50).any()  # members disagree
    total_6h = ds["pr"].rolling(time=6).sum().max(("time", "lat", "lon"))
    assert float(total_6h.max()) >= 100
    huangpu = ds["water_level"].sel(station="huangpu_park")
    peak = huangpu.median("member").idxmax("time")
    assert abs(float(huangpu.median("member").max()) - 4.95) < 0.05
    assert abs((peak.values - ds["time"].values[30]) / np.timedelta64(1, "h")) <= 1  # ~15:00 d2
    assert float(ds["pr"].isel(time=slice(60, None)).max()) < 0.5  # it clears


def test_deterministic(tmp_path, sample_forecast):
    again = xr.open_dataset(write_sample_forecast(tmp_path)).load()
    xr.testing.assert_identical(again, sample_forecast)


def _levels_by_day(decisions, hazard):
    out: dict[date, str] = {}
    for d in decisions:
        for s in (s for s in d.steps if d.hazard == hazard):
            day = s.start.date()
            if day not in out or LEVELS.index(s.level) > LEVELS.index(out[day]):
                out[day] = s.level
    return out


def test_sample_yields_the_documented_warnings(sample_forecast, rules, districts):
    decisions = evaluate_rules(sample_forecast, rules, districts)
    heat = _levels_by_day(decisions, "high_temperature")
    assert heat[date(2026, 7, 20)] == "orange"
    rain = _levels_by_day(decisions, "rainstorm")
    assert max((LEVELS.index(v) for k, v in rain.items() if k.day in (21, 22)), default=-1) >= 1
    tide = _levels_by_day(decisions, "huangpu_high_tide")
    assert tide and all(k.day in (21, 22) for k in tide)
    urban = {d.area.code: d for d in decisions if d.hazard == "high_temperature"}
    assert urban["310101"].steps[0].level == "orange"  # Huangpu district, urban centre
    assert urban["310151"].steps[0].level == "yellow"  # Chongming island, ~36 degC
    certainties = {s.certainty for d in decisions for s in d.steps}
    assert certainties == {"Likely", "Possible"}  # some levels reached by few members


def test_run_warnings_end_to_end(sample_forecast_path, districts, tmp_path):
    kwargs = {
        "rules_path": None,
        "districts": districts,
        "database_url": f"sqlite:///{tmp_path / 'db' / 'alerts.db'}",
        "out_dir": tmp_path / "cap",
    }
    run = run_warnings(sample_forecast_path, **kwargs)
    assert run.new_messages == len(run.messages) > 0 and run.already_issued == 0
    assert run.by_type["Alert"] == run.by_type["Cancel"] == run.episodes
    assert run.issued_at == datetime.fromisoformat("2026-07-20T08:00:00+08:00")
    files = sorted(p.name for p in (tmp_path / "cap").iterdir())
    assert files == sorted(f"{m.identifier}.xml" for m in run.messages)
    for m in run.messages:
        xml = m.path.read_bytes()
        validate_cap(xml)
        assert b"<status>Exercise</status>" in xml  # synthetic forecast
    again = run_warnings(sample_forecast_path, **kwargs)
    assert again.new_messages == 0 and again.already_issued == len(run.messages)
    assert sorted(p.name for p in (tmp_path / "cap").iterdir()) == files
    console = Console(record=True, width=160)
    console.print(format_bulletins(run))
    text = console.export_text()
    assert "high_temperature" in text and f"{run.new_messages} new" in text
    lines = bulletin_lines(again)
    assert len(lines) == len(run.messages) + 1 and lines[-1].endswith("already issued")
