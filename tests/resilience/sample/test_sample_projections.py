"""The synthetic Shanghai sample: file layout, CF metadata, determinism and climate targets.

One session fixture writes model SYNTH-ESM-A for the 1995-2014 baseline and the ssp585 far
horizon (2081-2100), 120 files, and reads them back with netCDF4 (not with our reader).
"""

from __future__ import annotations

from pathlib import Path

import netCDF4
import numpy as np
import pytest

from resilience.sample.projections import sample_file_name, write_sample_projections
from resilience.sample.weather import (
    LAT,
    LON,
    WARMING_DEGC,
    generate_year,
    rain_change_factor,
    warming_degc,
)

MODEL = "SYNTH-ESM-A"
BASELINE = tuple(range(1995, 2015))
FAR = tuple(range(2081, 2101))
MONTH_OF_DAY = np.repeat(np.arange(12), [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])


def _read(directory: Path, variable: str, experiment: str, years: tuple[int, ...]) -> np.ndarray:
    """Return (year, day, lat, lon) raw values from the files."""
    out = []
    for year in years:
        with netCDF4.Dataset(directory / sample_file_name(variable, MODEL, experiment, year)) as nc:
            out.append(np.asarray(nc.variables[variable][:], dtype="f8"))
    return np.stack(out)


@pytest.fixture(scope="session")
def sample_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sample")
    write_sample_projections(
        out, models=(MODEL,), experiments={"historical": BASELINE, "ssp585": FAR}
    )
    return out


@pytest.fixture(scope="session")
def climate(sample_dir: Path) -> dict[str, np.ndarray]:
    """Baseline and far-future arrays in degC and mm/day, dims (year, day, lat, lon)."""
    return {
        "tasmax": _read(sample_dir, "tasmax", "historical", BASELINE) - 273.15,
        "tasmin": _read(sample_dir, "tasmin", "historical", BASELINE) - 273.15,
        "pr": _read(sample_dir, "pr", "historical", BASELINE) * 86400.0,
        "tasmax_far": _read(sample_dir, "tasmax", "ssp585", FAR) - 273.15,
        "tasmin_far": _read(sample_dir, "tasmin", "ssp585", FAR) - 273.15,
        "pr_far": _read(sample_dir, "pr", "ssp585", FAR) * 86400.0,
    }


def _distance_km() -> np.ndarray:
    """Distance of each cell from People's Square (31.23 N, 121.47 E), computed independently."""
    dy = (LAT[:, None] - 31.23) * 111.0
    dx = (LON[None, :] - 121.47) * 111.0 * np.cos(np.radians(31.23))
    return np.hypot(dx, dy)


DIST = _distance_km()
CENTRE = np.unravel_index(DIST.argmin(), DIST.shape)
EDGE = DIST > 55.0  # rural ring: more than 55 km from People's Square


def test_files_are_named_like_nex_gddp_cmip6(sample_dir: Path) -> None:
    names = {p.name for p in sample_dir.iterdir()}
    expected = {
        f"{v}_day_{MODEL}_{e}_r1i1p1f1_gn_{y}.nc"
        for v in ("tasmax", "tasmin", "pr")
        for e, ys in (("historical", BASELINE), ("ssp585", FAR))
        for y in ys
    }
    assert names == expected  # also proves no temporary file was left behind


def test_grid_is_the_shanghai_domain() -> None:
    assert LAT.size == LON.size == 14
    np.testing.assert_allclose([LAT[0], LAT[-1], LON[0], LON[-1]], [30.6, 31.9, 120.8, 122.1])
    assert (LAT[CENTRE[0]], LON[CENTRE[1]]) == (31.2, 121.5)


@pytest.mark.parametrize(
    ("variable", "units", "standard_name"),
    [
        ("tasmax", "K", "air_temperature"),
        ("tasmin", "K", "air_temperature"),
        ("pr", "kg m-2 s-1", "precipitation_flux"),
    ],
)
def test_cf_metadata_raw_units_and_synthetic_flag(
    sample_dir: Path, variable: str, units: str, standard_name: str
) -> None:
    with netCDF4.Dataset(sample_dir / sample_file_name(variable, MODEL, "ssp585", 2090)) as nc:
        assert nc.Conventions == "CF-1.8"
        assert nc.synthetic == "yes"
        assert "SYNTHETIC" in nc.title and "SYNTHETIC" in nc.comment
        assert nc.source.startswith("resilience synthetic weather generator v")
        assert (nc.experiment_id, nc.source_id, nc.variant_label, nc.frequency) == (
            "ssp585",
            MODEL,
            "r1i1p1f1",
            "day",
        )
        assert not [a for a in nc.ncattrs() if "date" in a.lower() or "creat" in a.lower()]
        var = nc.variables[variable]
        assert var.dimensions == ("time", "lat", "lon")
        assert var.dtype == np.float32
        assert (var.units, var.standard_name) == (units, standard_name)
        assert var.filters()["zlib"] and var.filters()["complevel"] == 1
        time = nc.variables["time"]
        assert (time.units, time.calendar, time.axis) == ("days since 1850-01-01", "noleap", "T")
        assert (nc.variables["lat"].axis, nc.variables["lon"].axis) == ("Y", "X")
        assert nc.variables["lat"].units == "degrees_north"
        dates = netCDF4.num2date(time[:], time.units, time.calendar)
        assert (dates[0].year, dates[0].month, dates[0].day) == (2090, 1, 1)
        assert (dates[-1].year, dates[-1].month, dates[-1].day) == (2090, 12, 31)
        assert len(dates) == 365  # noleap: no 29 February


def test_same_seed_gives_identical_bytes_and_subsets_match(
    sample_dir: Path, tmp_path: Path
) -> None:
    written = write_sample_projections(
        tmp_path, models=(MODEL,), experiments={"ssp585": [2090]}, variables=("pr",)
    )
    assert [p.name for p in written] == [sample_file_name("pr", MODEL, "ssp585", 2090)]
    # the subset (one variable, one year) is byte-identical to the same file of the full write
    assert written[0].read_bytes() == (sample_dir / written[0].name).read_bytes()
    other = write_sample_projections(
        tmp_path / "other", models=(MODEL,), experiments={"ssp585": [2090]}, seed=7
    )
    with netCDF4.Dataset(other[2]) as a, netCDF4.Dataset(written[0]) as b:
        assert not np.array_equal(a["pr"][:], b["pr"][:])


def test_generate_year_is_deterministic_per_stream() -> None:
    first = generate_year(MODEL, "historical", 2000)
    again = generate_year(MODEL, "historical", 2000)
    other_model = generate_year("SYNTH-ESM-B", "historical", 2000)
    for name in ("tasmax", "tasmin", "pr"):
        np.testing.assert_array_equal(first[name], again[name])
        assert not np.array_equal(first[name], other_model[name])


def test_bad_arguments_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"variables: expected some of .*found \['hurs'\]"):
        write_sample_projections(tmp_path, variables=("hurs",))
    with pytest.raises(ValueError, match="without '_'"):
        write_sample_projections(tmp_path, models=("BAD_NAME",), experiments={"historical": [2000]})
    with pytest.raises(ValueError, match="experiment 'ssp999'"):
        write_sample_projections(tmp_path, models=(MODEL,), experiments={"ssp999": [2050]})


def test_hot_days_in_the_centre_and_urban_heat_island(climate: dict) -> None:
    tasmax = climate["tasmax"]
    hot = (tasmax >= 35.0).sum(axis=1).mean(axis=0)  # mean days a year, (lat, lon)
    assert 9.0 <= hot[CENTRE] <= 20.0  # domain.md 4.4: central urban normal about 9 d
    assert hot[EDGE].mean() < hot[CENTRE] - 3.0  # urban-rural gap (domain.md 4.4, up to 9.5 d)
    mean = tasmax.mean(axis=(0, 1))
    assert 0.7 <= mean[CENTRE] - mean[EDGE].mean() <= 1.4  # UHI about +1 degC mean Tmax
    # the heat island decays with distance: mean Tmax falls from band to band
    bands = [
        mean[(DIST >= lo) & (DIST < hi)].mean()
        for lo, hi in ((0, 10), (10, 25), (25, 45), (45, 200))
    ]
    assert np.all(np.diff(bands) < 0)


def test_tmax_seasonal_cycle_and_tasmin_below_tasmax(climate: dict) -> None:
    centre = climate["tasmax"][:, :, CENTRE[0], CENTRE[1]]
    monthly = np.array([centre[:, MONTH_OF_DAY == m].mean() for m in range(12)])
    assert 6.5 <= monthly[0] <= 9.5  # January about 8 degC (Xujiahui normals)
    assert 31.5 <= monthly[6] <= 33.5 and 31.5 <= monthly[7] <= 33.5  # July/August 32-33
    assert monthly.argmin() in (0, 11) and monthly.argmax() in (6, 7)
    assert 37.0 <= centre.max(axis=1).mean() <= 40.0  # mean annual TXx; record 40.9 (4.4)
    assert np.all(climate["tasmin"] < climate["tasmax"])
    assert np.all(climate["tasmin_far"] < climate["tasmax_far"])


def test_annual_rain_meiyu_peak_and_rx1day(climate: dict) -> None:
    pr = climate["pr"]
    assert np.all(pr >= 0)
    annual = pr.sum(axis=1).mean(axis=0)
    assert 1050 <= annual[CENTRE] <= 1350 and 1050 <= annual.mean() <= 1350
    monthly = np.array([pr[:, MONTH_OF_DAY == m].sum(axis=1).mean() for m in range(12)])
    assert set(np.argsort(monthly)[-2:]) == {5, 6}  # June and July wettest (Meiyu)
    rx1day = pr.max(axis=1).mean(axis=0)  # mean annual maximum, (lat, lon)
    assert 85 <= rx1day[CENTRE] <= 150 and 90 <= rx1day.mean() <= 150
    wet_days = (pr[:, :, CENTRE[0], CENTRE[1]] >= 0.1).sum(axis=1).mean()
    assert 110 <= wet_days <= 150  # Shanghai: about 130 rain days a year


def test_rain_is_spatially_coherent_with_summer_storms(climate: dict) -> None:
    pr = climate["pr"]
    heavy = pr[:, :, CENTRE[0], CENTRE[1]] >= 50.0
    assert heavy.sum() >= 20
    # a heavy day at the centre is heavy over much of the city
    assert (pr[heavy] >= 25.0).mean() >= 0.5
    # the largest cell-day totals come from the Jul-Sep storm (typhoon) season
    top = np.unravel_index(np.argsort(pr, axis=None)[-50:], pr.shape)[1]
    assert np.isin(MONTH_OF_DAY[top], [6, 7, 8]).mean() >= 0.5
    tasmax = climate["tasmax"]
    corner_a, corner_b = tasmax[:, :, 0, 0].ravel(), tasmax[:, :, -1, -1].ravel()
    assert np.corrcoef(corner_a, corner_b)[0, 1] > 0.95  # common large-scale anomaly


def test_warming_and_rain_scaling_in_the_far_future(climate: dict) -> None:
    delta = climate["tasmax_far"].mean() - climate["tasmax"].mean()
    # 4.3 degC for ssp585 far; the 20-year means carry interannual noise (sd of an annual
    # mean about 0.45 degC, so about 0.15 for a 20-year mean and 0.2 for the difference)
    assert delta == pytest.approx(WARMING_DEGC["ssp585"][2], abs=0.6)
    pr, far = climate["pr"], climate["pr_far"]
    assert far.sum(axis=1).mean() > 1.03 * pr.sum(axis=1).mean()
    ratio = np.percentile(far[far >= 1], 99) / np.percentile(pr[pr >= 1], 99)
    assert 1.05 <= ratio <= 1.07**4.3 * 1.15  # heavy rain grows, about CC (storm count noise)


def test_rain_change_factor_follows_clausius_clapeyron() -> None:
    factors = rain_change_factor(np.array([0.0, 1.0, 400.0]), 4.3)
    assert factors[0] == pytest.approx(1.02**4.3)
    assert factors[2] == pytest.approx(1.07**4.3, rel=1e-3)  # w = 1 - exp(-10) for 400 mm
    assert factors[0] < factors[1] < factors[2]
    np.testing.assert_allclose(rain_change_factor(np.array([50.0]), 0.0), 1.0)


@pytest.mark.parametrize("scenario", ["ssp126", "ssp245", "ssp585"])
def test_warming_table_holds_at_horizon_means(scenario: str) -> None:
    for horizon, (start, end) in enumerate(((2021, 2040), (2041, 2060), (2081, 2100))):
        mean = np.mean([warming_degc(MODEL, scenario, y) for y in range(start, end + 1)])
        # piecewise-linear path: the horizon mean differs from its mid-year anchor by the
        # kink at the anchor, under 0.05 degC for these tables
        assert mean == pytest.approx(WARMING_DEGC[scenario][horizon], abs=0.05)
    assert np.mean([warming_degc(MODEL, "historical", y) for y in BASELINE]) == pytest.approx(0.0)
    assert warming_degc("SYNTH-ESM-B", scenario, 2090) > warming_degc(MODEL, scenario, 2090)


def test_model_b_is_warmer_in_generated_data() -> None:
    def far_mean(model: str) -> float:
        return float(np.mean([generate_year(model, "ssp585", y)["tasmax"].mean() for y in FAR]))

    # expected gap 0.15 x 4.3 + 0.2 bias = 0.85 degC; the 20-year means differ by noise with
    # sd about 0.2 degC (interannual sd 0.45 per model), so 0.3 is 2.7 sd below
    assert far_mean("SYNTH-ESM-B") - far_mean(MODEL) > 0.3
