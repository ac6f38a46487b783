"""The sample 72-h forecast tells the documented story, end to end through run_warnings."""

from __future__ import annotations

import hashlib
from datetime import date, datetime

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from lxml import etree
from rich.console import Console

from resilience.early_warning.bulletin import bulletin_lines, format_bulletins
from resilience.early_warning.cap import validate_cap
from resilience.early_warning.engine import evaluate_rules
from resilience.early_warning.rule_models import LEVELS
from resilience.early_warning.rules import default_rules_path
from resilience.early_warning.run import run_warnings
from resilience.sample.forecast import write_sample_forecast
from resilience.storage.provenance import sha256_files


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
    """A typhoon remnant with heavy rain on a spring tide (day 1), then a heat wave (days 2-3)."""
    ds = sample_forecast
    ends = ds["time"].values
    peak_1h = ds["pr"].max(("time", "lat", "lon"))
    assert (peak_1h >= 50).any() and (peak_1h < 50).any()  # members disagree
    total_6h = ds["pr"].rolling(time=6).sum().max(("time", "lat", "lon"))
    assert float(total_6h.max()) >= 100
    wettest = int(np.argmax(ds["pr"].max(("member", "lat", "lon")).values))
    assert abs(wettest - 11) <= 1  # the burst: the hour ending 20:00 on day 1 (index 11)
    huangpu = ds["water_level"].sel(station="huangpu_park").median("member")
    # the spring high tide peaks with the burst; 0.05 m covers the float32 storage
    assert abs(float(huangpu.max()) - 4.95) < 0.05
    assert abs(int(np.argmax(huangpu.values)) - wettest) <= 1
    assert float(ds["pr"].isel(time=slice(27, None)).max()) < 0.5  # dry from 11:00 on day 2
    assert ds["tropical_cyclone_influence"].values[[0, 10, 40]].tolist() == [0, 1, 0]

    def tmax(day: int, lat: float, lon: float) -> float:
        hours = (pd.DatetimeIndex(ends) + pd.Timedelta(hours=7)).day == day  # Beijing day
        one = ds["tas"].isel(time=np.flatnonzero(hours)).max("time")
        return float(one.sel(lat=lat, lon=lon).median("member"))

    # synthetic design (module docstring); 0.5 degC covers the member spread and the noise
    assert abs(tmax(21, 31.2, 121.5) - 35.8) < 0.5 and abs(tmax(21, 30.8, 121.0) - 33.8) < 0.5
    assert abs(tmax(22, 31.2, 121.5) - 38.2) < 0.5 and abs(tmax(22, 30.8, 121.0) - 36.2) < 0.5
    assert tmax(20, 31.2, 121.5) < 31.0  # the typhoon day is not hot


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
    rain = _levels_by_day(decisions, "rainstorm")
    assert rain[date(2026, 7, 20)] == "orange"  # 6-h >= 100 mm in Pudong and Fengxian
    tide = _levels_by_day(decisions, "huangpu_high_tide")
    assert tide == {date(2026, 7, 20): "yellow"}  # the spring tide, >= 4.91 m
    assert set(_levels_by_day(decisions, "typhoon")) == {date(2026, 7, 20)}
    heat = _levels_by_day(decisions, "high_temperature")
    assert heat == {date(2026, 7, 21): "yellow", date(2026, 7, 22): "orange"}
    by_area = {d.area.code: d for d in decisions if d.hazard == "high_temperature"}
    # Huangpu district, urban centre: yellow on the 21st, then orange on the 22nd
    assert [s.level for s in by_area["310101"].steps] == ["yellow", "orange"]
    assert [s.level for s in by_area["310151"].steps] == ["yellow"]  # Chongming, the 22nd
    assert not any(d.open_ended for d in decisions)  # everything ends inside the 72 h
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
        # provenance in every message: synthetic input, and a hash of what it came from
        assert _param(xml, "synthetic") == "true"
    digest = hashlib.sha256(
        sha256_files([sample_forecast_path, default_rules_path()]).encode()
    ).hexdigest()
    assert {_param(m.path.read_bytes(), "inputsSha256") for m in run.messages} == {digest}
    again = run_warnings(sample_forecast_path, **kwargs)
    assert again.new_messages == 0 and again.already_issued == len(run.messages)
    assert sorted(p.name for p in (tmp_path / "cap").iterdir()) == files
    console = Console(record=True, width=160)
    console.print(format_bulletins(run))
    text = console.export_text()
    assert "high_temperature" in text and f"{run.new_messages} new" in text
    lines = bulletin_lines(again)
    assert len(lines) == len(run.messages) + 1 and "0 new" in lines[-1]
    assert "rules skipped: metro_entrance_flooding" in lines[-1]  # no inventory given
    assert [line[:11] for line in lines[:-1]] == sorted(line[:11] for line in lines[:-1])


@pytest.fixture(scope="module")
def replay(sample_forecast_path, districts, inventory, idf_layer, tmp_path_factory):
    """The shipped scenario with every rule: the real inventory and today's IDF curve."""
    out = tmp_path_factory.mktemp("replay")
    run = run_warnings(
        sample_forecast_path,
        rules_path=None,
        districts=districts,
        database_url=f"sqlite:///{out / 'alerts.db'}",
        out_dir=out / "cap",
        assets=inventory,
        layers={"idf": idf_layer},
    )
    return run


#: The documented bulletin sequence (docs/warnings.md, "The shipped scenario"): per hazard and
#: district, (message type, level, sent in Beijing time "day HH:MM").
SEQUENCE = {
    ("rainstorm", "310115"): [  # Pudong: the burst, 1-h >= 50 mm, then 6-h >= 100 mm
        ("Alert", "yellow", "20 13:00"),
        ("Update", "orange", "20 14:00"),
        ("Update", "blue", "21 01:00"),  # the downgrade goes out when it happens
        ("Cancel", "blue", "21 13:00"),
    ],
    ("huangpu_high_tide", "310101"): [  # the spring tide at Huangpu Park, 4.95 m
        ("Alert", "blue", "20 08:00"),
        ("Update", "yellow", "20 08:00"),
        ("Cancel", "yellow", "20 22:00"),
    ],
    ("typhoon", "310151"): [("Alert", "blue", "20 08:00"), ("Cancel", "blue", "21 02:00")],
    ("waterlogging", "310115"): [("Alert", "blue", "20 14:00"), ("Cancel", "blue", "21 01:00")],
    ("local_extreme_rain", "310115"): [
        ("Alert", "blue", "20 14:00"),  # 3-h total above the local 5-year depth
        ("Cancel", "blue", "20 22:00"),
    ],
    ("high_temperature", "310101"): [  # the heat wave in the centre: yellow, then orange
        ("Alert", "yellow", "20 08:00"),
        ("Update", "orange", "21 00:00"),
        ("Cancel", "orange", "23 00:00"),
    ],
    ("high_temperature", "310151"): [
        ("Alert", "yellow", "21 00:00"),
        ("Cancel", "yellow", "23 00:00"),
    ],
    ("substation_heat", "310106"): [
        ("Alert", "yellow", "21 00:00"),
        ("Cancel", "yellow", "23 00:00"),
    ],
}


def test_replay_yields_the_documented_sequence(replay):
    got: dict[tuple[str, str], list] = {}
    for m in sorted(replay.messages, key=lambda m: (m.sent, m.identifier)):
        got.setdefault((m.hazard, m.area), []).append(
            (m.msg_type, m.level, m.sent.strftime("%d %H:%M"))
        )
    for key, expected in SEQUENCE.items():
        assert got[key] == expected, key
    assert replay.by_type == {"Alert": 55, "Update": 21, "Cancel": 55}
    assert replay.episodes == 55 and replay.skipped_rules == {}
    assert {m.hazard for m in replay.messages} == {
        "rainstorm", "huangpu_high_tide", "typhoon", "waterlogging", "local_extreme_rain",
        "high_temperature", "substation_heat",
    }  # fmt: skip
    # the river stays 0.7 m below the floodwall the metro entrances rely on: no metro alert


def test_replay_messages_are_valid_and_the_impact_alert_is_restricted(replay):
    ns = {"cap": "urn:oasis:names:tc:emergency:cap:1.2"}
    for m in replay.messages:
        validate_cap(m.path.read_bytes())
    (alert,) = [
        m for m in replay.messages if m.hazard == "substation_heat" and m.msg_type == "Alert"
    ]
    root = etree.fromstring(alert.path.read_bytes())
    assert root.findtext("cap:scope", namespaces=ns) == "Restricted"
    assert "power" in root.findtext("cap:restriction", namespaces=ns)
    info = root.find("cap:info", ns)
    assert info.findtext("cap:category", namespaces=ns) == "Infra"
    assert "sub-shibo" in info.findtext("cap:description", namespaces=ns)
    circle = info.findtext("cap:area/cap:circle", namespaces=ns)
    assert circle == "31.23750,121.46050 0.3"  # the asset position and ASSET_RADIUS_KM
    public = [m for m in replay.messages if m.hazard == "rainstorm"][0]
    assert b"<scope>Public</scope>" in public.path.read_bytes()


def _param(xml: bytes, name: str) -> str:
    """Return the value of CAP parameter ``name`` in ``xml``."""
    import re

    found = re.search(rf"<valueName>{name}</valueName>\s*<value>([^<]*)</value>".encode(), xml)
    assert found, f"no CAP parameter {name}"
    return found.group(1).decode()


def test_replay_substation_alert_names_what_depends_on_shibo(replay):
    """Shibo 500 kV feeds 211 assets in the sample (docs/cascade.md, "Critical nodes": 188
    stations, 14 hospitals; plus 7 tunnels and 2 railway stations): the heat alert on it
    names a few, counts them by type, and addresses transport and health as well; the number
    of messages is unchanged (``test_replay_yields_the_documented_sequence``)."""
    from sqlalchemy import select

    from resilience.storage.database import make_engine, session_scope
    from resilience.storage.tables import OutboxMessage

    heat = [m for m in replay.messages if m.hazard == "substation_heat"]
    assert [m.msg_type for m in heat] == ["Alert", "Cancel"]
    xml = heat[0].path.read_bytes()
    text = xml.decode()
    assert "等211处（地铁站188、医院14、隧道7、火车站2）。" in text
    assert (
        " and 208 more (188 metro stations, 14 hospitals, 7 tunnels, 2 railway stations)." in text
    )
    assert "<scope>Restricted</scope>" in text
    engine = make_engine(f"sqlite:///{heat[0].path.parent.parent / 'alerts.db'}")
    with session_scope(engine) as session:
        for message in heat:
            agencies = session.scalars(
                select(OutboxMessage.agency).where(OutboxMessage.identifier == message.identifier)
            ).all()
            assert set(agencies) == {
                "meteorological_service", "emergency_management", "power", "transport", "health",
            }, message.msg_type  # fmt: skip
