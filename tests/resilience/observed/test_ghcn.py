"""GHCN-Daily monthly summaries: annual maxima with completeness, and errors on bad files."""

import calendar

import numpy as np
import pandas as pd
import pytest

from resilience.observed.ghcn import annual_maxima, read_ghcn_monthly
from resilience.observed.shipped import GHCN_STATIONS, observed_file
from resilience.schema import SchemaError

BAOSHAN = observed_file(GHCN_STATIONS["58362"].monthly_file)
HEADER = (
    "PERIOD_START,YEAR,MONTH,TMIN_P10,TMIN_P90,TMIN_MIN,TMIN_MAX,TMIN_SUM,TMAX_P10,TMAX_P90,"
    "TMAX_MIN,TMAX_MAX,TMAX_SUM,PRCP_P10,PRCP_P90,PRCP_MIN,PRCP_MAX,PRCP_SUM,TMIN_ENTRY_COUNT,"
    "TMAX_ENTRY_COUNT,PRCP_ENTRY_COUNT\n"
)


def row(year, month, tmax="30.0", prcp="500", tmax_count=None, prcp_count=None, tmax_min="20.0"):
    days = calendar.monthrange(year, month)[1]
    tc = days if tmax_count is None else tmax_count
    pc = days if prcp_count is None else prcp_count
    return (
        f"{year}-{month:02d}-01,{year},{month},1,2,0,3,10,21,29,{tmax_min},{tmax},800,0,10,0,"
        f"{prcp},900,{days},{tc},{pc}\n"
    )


def independent_maxima(path):
    """Annual maxima and completeness straight from pandas, without the reader."""
    raw = pd.read_csv(path)
    raw["days"] = [calendar.monthrange(y, m)[1] for y, m in zip(raw.YEAR, raw.MONTH, strict=True)]
    out = {}
    for element, value, scale in (("TMAX", "TMAX_MAX", 1.0), ("PRCP", "PRCP_MAX", 10.0)):
        raw["missing"] = raw["days"] - raw[f"{element}_ENTRY_COUNT"].fillna(0)
        years = range(raw.YEAR.min(), raw.YEAR.max() + 1)
        complete = {}
        for year in years:
            month_missing = [
                raw.loc[(raw.YEAR == year) & (raw.MONTH == m), "missing"].sum()
                if ((raw.YEAR == year) & (raw.MONTH == m)).any()
                else calendar.monthrange(year, m)[1]
                for m in range(1, 13)
            ]
            complete[year] = max(month_missing) <= 3 and sum(month_missing) <= 15
        largest = raw.groupby("YEAR")[value].max() / scale
        out[element] = (largest, pd.Series(complete))
    return out


def test_baoshan_annual_maxima_match_an_independent_computation():
    maxima = annual_maxima(read_ghcn_monthly(BAOSHAN))
    expected = independent_maxima(BAOSHAN)
    for element, column in (("TMAX", "tmax"), ("PRCP", "prcp")):
        largest, complete = expected[element]
        assert maxima[f"{column}_complete"].to_dict() == complete.to_dict()
        unit = "degc" if column == "tmax" else "mm"
        merged = maxima[f"{column}_{unit}"].fillna(maxima[f"{column}_partial_{unit}"])
        np.testing.assert_allclose(merged.to_numpy(), largest.reindex(merged.index).to_numpy())


def test_baoshan_numbers_of_the_arrival_checks():
    """/work/shared/data/PROVENANCE.md section 8: median TXx 37.5, highest 40.0 in 2022."""
    maxima = annual_maxima(read_ghcn_monthly(BAOSHAN))
    assert maxima["tmax_degc"].median() == 37.5
    assert maxima["tmax_degc"].idxmax() == 2022 and maxima["tmax_degc"].max() == 40.0
    # Fitow's 189.5 mm (October 2013) falls in a year with 200 missing days: reported, not fitted
    assert maxima.loc[2013, "prcp_partial_mm"] == 189.5
    assert np.isnan(maxima.loc[2013, "prcp_mm"])
    assert maxima.loc[2013, "prcp_missing_days"] == 200
    assert 2013 in maxima.attrs["incomplete_prcp_years"]
    assert maxima.loc[2014, "tmax_complete"] and not maxima.loc[2014, "prcp_complete"]


def test_longhua_months_absent_from_the_file_are_gaps():
    monthly = read_ghcn_monthly(observed_file(GHCN_STATIONS["58367"].monthly_file))
    assert [str(g) for g in monthly.attrs["gaps"]] == [
        "month: 1999-01..2004-12 (72, not in the file)",
        "month: 2005-02..2006-12 (23, not in the file)",
    ]
    maxima = annual_maxima(monthly)
    assert not maxima.loc[2000, "tmax_complete"] and maxima.loc[2000, "tmax_missing_days"] == 366


def test_prcp_is_converted_from_tenths_of_mm(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text(HEADER + "".join(row(2000, m, prcp="1234") for m in range(1, 13)))
    maxima = annual_maxima(read_ghcn_monthly(path))
    assert maxima.loc[2000, "prcp_mm"] == 123.4


def test_a_month_with_four_missing_days_makes_the_year_incomplete(tmp_path):
    rows = [row(2000, m) for m in range(1, 13)]
    rows[6] = row(2000, 7, tmax="39.0", tmax_count=27)  # July: 4 days missing
    path = tmp_path / "s.csv"
    path.write_text(HEADER + "".join(rows))
    maxima = annual_maxima(read_ghcn_monthly(path))
    assert not maxima.loc[2000, "tmax_complete"] and np.isnan(maxima.loc[2000, "tmax_degc"])
    assert maxima.loc[2000, "tmax_partial_degc"] == 39.0
    assert maxima.loc[2000, "prcp_complete"]


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (row(2000, 2, prcp="-9999"), r"line 3, field 'PRCP_MAX'.*missing-value marker -9999"),
        (row(2000, 2, tmax="98.6"), r"line 3, field 'TMAX_MAX'.*world records.*expected degC"),
        (row(2000, 2, prcp="12.5"), r"line 3, field 'PRCP_MAX'.*whole number of tenths of mm"),
        (row(2000, 2, tmax_count=30), r"line 3, field 'TMAX_ENTRY_COUNT'.*0\.\.29 days"),
        (row(2000, 1), r"line 3: month 2000-01 already on line 2"),
        (row(2000, 2)[:40] + "\n", r"line 3: expected 21 fields, found \d+ \(truncated"),
        (row(2000, 2, tmax_min="31.0"), r"line 3, field 'TMAX_MIN'.*31 > TMAX_MAX 30"),
        (row(2000, 2).replace("2000-02-01", "2000-03-01"), r"field 'PERIOD_START'"),
        (row(2000, 2, tmax="abc"), r"line 3, field 'TMAX_MAX': expected a number"),
        (row(2000, 2, tmax_count=0), r"field 'TMAX_MAX': found '30.0' in a month with no entries"),
    ],
)
def test_bad_rows_are_named(tmp_path, bad, message):
    path = tmp_path / "bad.csv"
    path.write_text(HEADER + row(2000, 1) + bad)
    with pytest.raises(SchemaError, match=message):
        read_ghcn_monthly(path)


def test_missing_column_is_named(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("YEAR,MONTH\n2000,1\n")
    with pytest.raises(SchemaError, match="line 1: missing column"):
        read_ghcn_monthly(path)
