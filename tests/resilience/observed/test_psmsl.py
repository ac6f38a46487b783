"""PSMSL RLR monthly files: annual means, trends with standard errors, errors on bad files."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from resilience.observed.psmsl import annual_means, read_psmsl_monthly, sea_level_trend
from resilience.observed.shipped import PSMSL_STATIONS, observed_file
from resilience.schema import SchemaError

LUSI = observed_file(PSMSL_STATIONS[979][1])
KANMEN = observed_file(PSMSL_STATIONS[934][1])


def independent_annual(path):
    raw = pd.read_csv(path, sep=";", header=None, names=["t", "mm", "missing", "flag"])
    raw["year"] = np.floor(raw["t"]).astype(int)
    raw = raw[raw["mm"] != -99999]
    counts = raw.groupby("year")["mm"].agg(["mean", "size"])
    return counts[counts["size"] == 12]["mean"]


@pytest.mark.parametrize("path", [LUSI, KANMEN])
def test_annual_means_and_trend_match_scipy(path):
    annual = annual_means(read_psmsl_monthly(path))
    expected = independent_annual(path)
    np.testing.assert_allclose(annual["msl_mm"], expected)
    for start in (None, 1980):
        chosen = expected if start is None else expected[expected.index >= start]
        fit = stats.linregress(chosen.index.to_numpy(float), chosen.to_numpy())
        trend = sea_level_trend(annual, start_year=start)
        assert trend.rate_mm_per_year == pytest.approx(fit.slope, rel=1e-10)
        assert trend.standard_error_mm_per_year == pytest.approx(fit.stderr, rel=1e-10)
        assert trend.years == len(chosen)


def test_trends_of_the_arrival_checks():
    """PROVENANCE.md section 8: Kanmen 2.4, Lusi 5.5 mm/yr; since 1980 3.3 and 5.0 mm/yr.

    The arrival checks did not say how years were chosen; with every month required the
    rates differ from them by < 0.1 mm/yr (well inside one standard error, 0.2-0.4 mm/yr).
    """
    lusi, kanmen = (annual_means(read_psmsl_monthly(p)) for p in (LUSI, KANMEN))
    assert sea_level_trend(kanmen).rate_mm_per_year == pytest.approx(2.4, abs=0.1)
    assert sea_level_trend(lusi).rate_mm_per_year == pytest.approx(5.5, abs=0.1)
    assert sea_level_trend(kanmen, start_year=1980).rate_mm_per_year == pytest.approx(3.3, abs=0.1)
    assert sea_level_trend(lusi, start_year=1980).rate_mm_per_year == pytest.approx(5.0, abs=0.1)


@pytest.mark.parametrize(
    ("path", "start", "rate", "se", "se_ar1", "se_hac"),
    [
        (LUSI, None, 5.55, 0.29, 0.36, 0.33),
        (LUSI, 1980, 4.99, 0.39, 0.39, 0.39),
        (KANMEN, None, 2.49, 0.23, 0.38, 0.39),
        (KANMEN, 1980, 3.36, 0.43, 0.60, 0.56),
    ],
)
def test_trends_quoted_in_the_docs(path, start, rate, se, se_ar1, se_hac):
    trend = sea_level_trend(annual_means(read_psmsl_monthly(path)), start_year=start)
    got = (
        trend.rate_mm_per_year,
        trend.standard_error_mm_per_year,
        trend.standard_error_ar1_mm_per_year,
        trend.standard_error_hac_mm_per_year,
    )
    assert [round(v, 2) for v in got] == [rate, se, se_ar1, se_hac]


def test_ar1_standard_error_uses_the_effective_sample_size():
    annual = annual_means(read_psmsl_monthly(KANMEN))
    trend = sea_level_trend(annual)
    t, h = annual.index.to_numpy(float), annual["msl_mm"].to_numpy()
    residual = h - np.polyval(np.polyfit(t, h, 1), t)
    r1 = np.corrcoef(residual[:-1], residual[1:])[0, 1]  # close to the lag-1 estimate used
    n = len(t)
    n_eff = n * (1 - trend.lag1_autocorrelation) / (1 + trend.lag1_autocorrelation)
    assert trend.lag1_autocorrelation == pytest.approx(r1, abs=0.02)
    assert trend.standard_error_ar1_mm_per_year == pytest.approx(
        trend.standard_error_mm_per_year * np.sqrt((n - 2) / (n_eff - 2))
    )
    assert trend.standard_error_ar1_mm_per_year > trend.standard_error_mm_per_year


def test_gaps_and_excluded_years_are_reported():
    monthly = read_psmsl_monthly(KANMEN)
    assert [str(g) for g in monthly.attrs["gaps"]][:2] == [
        "msl_mm: 1962-09 (1, -99999)",
        "msl_mm: 1993-11 (1, -99999)",
    ]
    annual = annual_means(monthly)
    assert annual.attrs["excluded_years"][1962] == 11 and 1962 not in annual.index


def write(tmp_path, lines):
    path = tmp_path / "1.rlrdata"
    path.write_text("".join(lines))
    return path


GOOD = ["  2000.0417;  7000; 0;000\n", "  2000.1250;  7010; 0;000\n"]


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("  2000.2083;  7.02; 0;000\n", r"line 3, field 'msl_mm': expected int"),
        ("  2000.2083;   702; 0;000\n", r"line 3, field 'msl_mm': 702 outside 1000..13000"),
        ("  2000.2083;  7010\n", r"line 3: expected 4 fields .* found 2 \(truncated\?\)"),
        ("  2000.2917;  7010; 0;000\n", r"line 3: month 2000-04 follows 2000-02; expected 2000-03"),
        ("  2000.2000;  7010; 0;000\n", r"line 3, field 'time': expected year"),
        ("  2000.2083;  7010; 0;0x0\n", r"line 3, field 'flag': expected 3 digits"),
        ("  2000.2083;  7010;45;000\n", r"line 3, field 'missing_days': expected 0..31 or 99"),
    ],
)
def test_bad_lines_are_named(tmp_path, bad, message):
    with pytest.raises(SchemaError, match=message):
        read_psmsl_monthly(write(tmp_path, [*GOOD, bad]))


def test_missing_marker_and_attention_flag_leave_months_out(tmp_path):
    lines = [
        f"  2000.{round((m - 0.5) / 12 * 10000):04d};  {7000 + m}; 0;000\n" for m in range(1, 13)
    ]
    lines[3] = "  2000.2917;-99999;00;000\n"
    monthly = read_psmsl_monthly(write(tmp_path, lines))
    assert monthly["msl_mm"].isna().sum() == 1
    assert annual_means(monthly).empty
    assert len(annual_means(monthly, min_months=11)) == 1
    lines[3] = "  2000.2917;  7004; 0;001\n"  # flagged for attention: not used
    flagged = read_psmsl_monthly(write(tmp_path, lines))
    assert flagged["attention"].sum() == 1 and annual_means(flagged).empty


def test_too_short_a_trend_is_refused():
    annual = pd.DataFrame({"msl_mm": [1.0, 2.0, 3.0, 4.0]}, index=[2000, 2001, 2002, 2003])
    with pytest.raises(ValueError, match="at least 5 annual means, found 4"):
        sea_level_trend(annual)
