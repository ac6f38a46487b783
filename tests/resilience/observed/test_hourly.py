"""The hourly station record: gaps counted, daily and annual extremes, errors on bad files."""

import numpy as np
import pandas as pd
import pytest

from resilience.observed.hourly import (
    annual_max_hourly_rain,
    daily_max_temperature,
    read_hourly_station,
)
from resilience.observed.shipped import HOURLY_FILE, observed_file
from resilience.schema import SchemaError

HEADER = (
    "No,year,month,day,hour,season,PM_US Post,DEWP,HUMI,PRES,TEMP,cbwd,Iws,precipitation,Iprec\n"
)


def raw():
    frame = pd.read_csv(observed_file(HOURLY_FILE))
    frame.index = pd.to_datetime(frame[["year", "month", "day", "hour"]])
    return frame


def test_reads_every_hour_and_counts_the_gaps_like_pandas(hourly):
    source = raw()
    assert len(hourly) == 52584 and hourly.index[0] == pd.Timestamp("2010-01-01 00:00")
    np.testing.assert_array_equal(hourly["temperature_degc"].to_numpy(), source["TEMP"].to_numpy())
    for column, original in (("temperature_degc", "TEMP"), ("precipitation_mm", "precipitation")):
        gaps = [g for g in hourly.attrs["gaps"] if g.field == column]
        assert sum(g.steps for g in gaps) == source[original].isna().sum()
    assert sum(g.steps for g in hourly.attrs["gaps"] if g.field == "precipitation_mm") == 4009


def test_daily_maximum_needs_23_hours(hourly):
    daily = daily_max_temperature(hourly)
    source = raw()["TEMP"]
    expected = source.resample("D").max().where(source.resample("D").count() >= 23)
    pd.testing.assert_series_equal(daily, expected, check_names=False, check_freq=False)
    assert daily.attrs["incomplete_days"] == ["2010-01-15"]  # 21 hours
    # hot days per year of the arrival checks (PROVENANCE.md section 8)
    assert daily.ge(35).groupby(daily.index.year).sum().tolist() == [26, 21, 22, 51, 11, 14]


def test_annual_maximum_hourly_rain_and_completeness(hourly):
    table = annual_max_hourly_rain(hourly)
    rain = raw()["precipitation"]
    np.testing.assert_allclose(table["max_1h_mm"], rain.groupby(rain.index.year).max())
    assert table.loc[2013, "max_1h_mm"] == 61.6
    assert table.loc[2013, "time"] == pd.Timestamp("2013-09-13 16:00")
    assert table["missing_hours"].sum() == 4009
    assert not table["complete"].any()  # every year has a month with > 3 days short of 23 h
    season = annual_max_hourly_rain(hourly, months=range(6, 10))
    assert season["complete"].tolist() == [False, False, False, True, False, False]


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (
            "3,2010,1,1,2,4,NA,-7,59,1025,290,SE,4,0,0\n",
            r"line 3, field 'TEMP'.*expected TEMP in degC",
        ),
        ("3,2010,1,1,2,4,NA,-7,59,1025,1,SE,4,-0.5,0\n", r"line 3, field 'precipitation'.*-0.5"),
        ("3,2010,1,1,2,4,NA,-7,59\n", r"line 3: expected 15 fields, found 9 \(truncated"),
        (
            "3,2010,1,1,0,4,NA,-7,59,1025,1,SE,4,0,0\n",
            r"line 3: hour 2010-01-01 00:00:00 is not after",
        ),
        ("3,2010,2,30,2,4,NA,-7,59,1025,1,SE,4,0,0\n", r"line 3: not a valid date and hour"),
        (
            "3,2010,1,1,2.5,4,NA,-7,59,1025,1,SE,4,0,0\n",
            r"line 3, field 'hour': expected an integer",
        ),
        (
            "3,2010,1,1,2,4,NA,-7,59,1025,warm,SE,4,0,0\n",
            r"line 3, field 'TEMP': expected a number",
        ),
    ],
)
def test_bad_rows_are_named(tmp_path, bad, message):
    path = tmp_path / "bad.csv"
    path.write_text(HEADER + "1,2010,1,1,0,4,NA,-6,59,1026,1,cv,1,0,0\n" + bad)
    with pytest.raises(SchemaError, match=message):
        read_hourly_station(path)


def test_missing_markers_and_absent_hours_are_gaps(tmp_path):
    path = tmp_path / "h.csv"
    path.write_text(
        HEADER
        + "1,2010,1,1,0,4,NA,-6,59,1026,NA,cv,1,,0\n"
        + "2,2010,1,1,1,4,NA,-6,59,1026,2,cv,1,0.5,0\n"
        + "3,2010,1,1,4,4,NA,-6,59,1026,3,cv,1,0,0\n"
    )
    table = read_hourly_station(path)
    assert len(table) == 5  # hours 2 and 3 absent from the file
    assert [str(g) for g in table.attrs["gaps"]] == [
        "temperature_degc: 2010-01-01T00:00 (1, missing value)",
        "temperature_degc: 2010-01-01T02:00..2010-01-01T03:00 (2, missing value)",
        "precipitation_mm: 2010-01-01T00:00 (1, missing value)",
        "precipitation_mm: 2010-01-01T02:00..2010-01-01T03:00 (2, missing value)",
    ]
