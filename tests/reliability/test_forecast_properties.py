"""Property-based tests (hypothesis) of the forecast reader: refused clearly, or gaps reported.

Hypothesis perturbs the shipped SYNTHETIC sample forecast (2 members, to keep examples small):
NaN at random hours and cells of a variable, a variable scaled or shifted (absurd values
included: infinities, 1e30, kelvin added to degC), single absurd values, hours dropped (at
the ends or inside) or repeated, and the ``issued`` or a variable's ``units`` attribute
removed. Then :func:`validate_forecast` (with :func:`forecast_gaps`) and, on a few examples,
:func:`run_warnings` with a temporary SQLite database either raise ``ForecastError`` naming
the file, or run and report every variable the rules read that holds a NaN as a
data-quality line. Never another exception, never a silent pass.

Three bugs these properties found are fixed and kept as fault tests: NaN in one wind
variable while the other is complete raised KeyError in ``forecast_gaps``; a rule variable
without ``units`` and a forecast with no hours escaped ``validate_forecast`` and failed later
without naming the file.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import xarray as xr
from hypothesis import HealthCheck, assume, event, example, given, settings
from hypothesis import strategies as st

from resilience.early_warning.availability import runnable_rules
from resilience.early_warning.forecast_checks import (
    MAX_MISSING_FRACTION,
    ForecastError,
    forecast_gaps,
    validate_forecast,
)
from resilience.early_warning.rule_models import RuleSet
from resilience.early_warning.rules import load_rules
from resilience.early_warning.run import run_warnings
from resilience.geodata.geography import open_districts
from resilience.sample.forecast import write_sample_forecast

RULES = load_rules()
#: What ``run_warnings`` evaluates without assets and layers (the impact rules are skipped).
RUNNABLE = runnable_rules(RULES, assets=None, layers=None)[0]
#: The forecast variables the shipped rules read (tas, pr, sfcWind, wind_gust, water_level).
READ = sorted({c.variable for rule in RULES.rules for c in rule.criteria})
HOURS = 72
ABSURD = [np.inf, -np.inf, 1e30, -1e30, 1e6, -1e6, 273.15]


@dataclass(frozen=True)
class Step:
    """One perturbation: ``kind`` with its variable and arguments."""

    kind: str
    variable: str = ""
    hours: tuple[int, ...] = ()
    cell: tuple[int, ...] | None = None
    value: float = 0.0


def _cell(variable: str) -> st.SearchStrategy[tuple[int, ...] | None]:
    """Either every cell (None) or one (member, lat, lon) / (member, station) index."""
    sizes = (2, 2) if variable == "water_level" else (2, 14, 14)
    one = st.tuples(*(st.integers(0, n - 1) for n in sizes))
    return st.one_of(st.none(), one)


_hours = st.lists(st.integers(0, HOURS - 1), min_size=1, max_size=HOURS, unique=True)


#: Every perturbation; ``no_units`` hits known bug 2 in ``run_warnings``.
ALL = ("nan", "scale", "shift", "absurd", "drop", "trim", "repeat", "no_issued", "no_units")
#: Perturbations that leave a forecast valid but for its gaps (most should be accepted).
GAPS = ("nan", "nan", "nan", "trim", "mild_scale", "mild_shift")


@st.composite
def _step(draw: st.DrawFn, kinds: tuple[str, ...]) -> Step:
    kind = draw(st.sampled_from(kinds))
    variable = draw(st.sampled_from(READ))
    if kind == "nan":
        return Step(kind, variable, tuple(draw(_hours)), draw(_cell(variable)))
    if kind in ("scale", "shift"):
        value = draw(st.one_of(st.sampled_from(ABSURD + [0.0, -1.0]), st.floats(-1e3, 1e3)))
        return Step(kind, variable, value=value)
    if kind == "mild_scale":
        return Step("scale", variable, value=draw(st.floats(0.0, 1.5)))
    if kind == "mild_shift":
        return Step("shift", variable, value=draw(st.floats(-2.0, 2.0)))
    if kind == "absurd":
        hour = draw(st.integers(0, HOURS - 1))
        return Step(kind, variable, (hour,), draw(_cell(variable)), draw(st.sampled_from(ABSURD)))
    if kind == "drop":
        return Step(kind, hours=tuple(draw(_hours)))
    if kind == "trim":  # keep hours[start:stop]: a shorter forecast, still hourly
        start = draw(st.integers(0, HOURS))
        return Step(kind, hours=(start, draw(st.integers(start, HOURS))))
    if kind == "repeat":
        return Step(kind, hours=(draw(st.integers(0, HOURS - 1)),))
    return Step(kind, variable)


def perturbations(*, units: bool = True, gap_weight: int = 1) -> st.SearchStrategy[list[Step]]:
    """Up to 3 steps; in ``gap_weight`` of ``gap_weight + 1`` draws, only gaps and mild changes."""
    kinds = ALL if units else tuple(k for k in ALL if k != "no_units")
    gaps = st.lists(_step(GAPS), min_size=1, max_size=3)
    return st.one_of(st.lists(_step(kinds), min_size=1, max_size=3), *[gaps] * gap_weight)


def _set(ds: xr.Dataset, name: str, values: np.ndarray) -> None:
    ds[name] = ds[name].copy(data=values.astype(ds[name].dtype))  # keeps attrs


def _at(values: np.ndarray, hours: tuple[int, ...], cell: tuple[int, ...] | None) -> tuple:
    """Index of ``hours`` (those still present) at ``cell`` (None: all) of a member-first array."""
    present = [h for h in hours if h < values.shape[1]]
    if cell is None:
        return (slice(None), present)
    return (cell[0], present, *cell[1:])


def perturb(sample: xr.Dataset, steps: list[Step]) -> xr.Dataset:
    """Return a copy of ``sample`` with ``steps`` applied in order."""
    ds = sample.copy(deep=True)
    for step in steps:
        time = ds.sizes["time"]
        if step.kind in ("nan", "absurd"):
            values = ds[step.variable].values.copy()
            values[_at(values, step.hours, step.cell)] = (
                np.nan if step.kind == "nan" else step.value
            )
            _set(ds, step.variable, values)
        elif step.kind in ("scale", "shift"):
            values = ds[step.variable].values.astype("float64")
            with np.errstate(all="ignore"):
                changed = values * step.value if step.kind == "scale" else values + step.value
            _set(ds, step.variable, changed)
        elif step.kind == "drop":
            ds = ds.isel(time=[i for i in range(time) if i not in step.hours])
        elif step.kind == "trim":
            ds = ds.isel(time=slice(*step.hours))
        elif step.kind == "repeat" and time:
            hour = min(step.hours[0], time - 1)
            ds = ds.isel(time=[*range(hour + 1), hour, *range(hour + 1, time)])
        elif step.kind == "no_issued":
            ds.attrs.pop("issued", None)
        elif step.kind == "no_units":
            ds[step.variable].attrs.pop("units", None)
    return ds


def nan_variables(ds: xr.Dataset) -> list[str]:
    """The variables the rules read that hold at least one NaN."""
    return [name for name in READ if name in ds and np.isnan(ds[name].values).any()]


def hits_gap_lookup_bug(ds: xr.Dataset, rules: RuleSet) -> bool:
    """Known bug 1: a rule evaluated despite gaps reads a variable without any NaN."""
    fraction = {}
    for name in nan_variables(ds):
        var = ds[name]
        other = tuple(i for i, d in enumerate(var.dims) if d != "time")
        fraction[name] = float(np.isnan(var.values).any(axis=other).mean())
    for rule in rules.rules:
        names = {c.variable for c in rule.criteria}
        gappy = names & set(fraction)
        held = any(fraction[n] > MAX_MISSING_FRACTION for n in gappy)
        if gappy and not held and names - gappy:
            return True
    return False


def assert_reported(lines: list[str], ds: xr.Dataset) -> None:
    """Every rule variable with a NaN has its data-quality line."""
    for name in nan_variables(ds):
        assert any(f"{name}: missing at" in line for line in lines), (name, lines)


@pytest.fixture(scope="module")
def districts() -> gpd.GeoDataFrame:
    return open_districts()


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> xr.Dataset:
    path = write_sample_forecast(tmp_path_factory.mktemp("sample"), members=2)
    with xr.open_dataset(path) as ds:
        return ds.load()


def test_the_unperturbed_sample_passes_without_a_gap(sample, districts):
    assert validate_forecast(sample, source="sample.nc", districts=districts) is sample
    assert forecast_gaps(sample, RULES).notes == []


@pytest.mark.fault("13.2", "a perturbed forecast raises a foreign error or passes a gap silently")
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=perturbations())
@example(steps=[Step("nan", "tas", tuple(range(HOURS)))])  # all missing: the heat rule held
@example(steps=[Step("trim", hours=(10, 11))])  # a one-hour forecast
@example(steps=[Step("shift", "tas", value=273.15)])  # kelvin labelled degC
def test_validate_refuses_naming_the_file_or_reports_every_gap(sample, districts, steps):
    ds = perturb(sample, steps)
    source = "perturbed/forecast_72h.nc"
    assume(not hits_gap_lookup_bug(ds, RULES))  # known bug 1, pinned below
    try:
        validate_forecast(ds, source=source, districts=districts)
    except ForecastError as error:
        assert source in str(error)
        event("refused")
        return
    event(f"accepted, {'with' if nan_variables(ds) else 'without'} NaN")
    assert_reported(forecast_gaps(ds, RULES).notes, ds)


def _run(ds: xr.Dataset, districts: gpd.GeoDataFrame, root: Path):
    path = root / "forecast_72h.nc"
    for var in ds.variables.values():  # netCDF4 refuses a contiguous empty time axis
        var.encoding.pop("contiguous", None)
        var.encoding.pop("chunksizes", None)
    ds.to_netcdf(path)
    return path, run_warnings(
        path,
        rules_path=None,
        districts=districts,
        database_url=f"sqlite:///{root / 'alerts.db'}",
        out_dir=root / "cap",
    )


# Up to about 2 s per example (127 CAP messages, each XSD-validated and stored): a few.
@pytest.mark.fault("13.1", "run_warnings on a perturbed forecast crashes or hides a gap")
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=perturbations(units=False, gap_weight=2))  # units removed: bug 2, pinned below
def test_run_warnings_refuses_naming_the_file_or_reports_every_gap(sample, districts, steps):
    ds = perturb(sample, steps)
    assume(not hits_gap_lookup_bug(ds, RUNNABLE))  # known bug 1, pinned below
    assume(ds.sizes["time"] > 0)  # known bug 3, pinned below
    with tempfile.TemporaryDirectory() as tmp:
        try:
            path, done = _run(ds, districts, Path(tmp))
        except ForecastError as error:
            assert str(Path(tmp) / "forecast_72h.nc") in str(error)
            event("refused")
            return
    event(f"ran, {'with' if nan_variables(ds) else 'without'} NaN")
    assert done.forecast == str(path)
    assert_reported(done.data_quality, ds)


@pytest.mark.fault("13.1", "NaN in one wind variable raises KeyError instead of a report")
@pytest.mark.parametrize("variable", ["sfcWind", "wind_gust"])
def test_nan_in_one_wind_variable_is_reported(sample, districts, tmp_path, variable):
    ds = perturb(sample, [Step("nan", variable, (0,))])
    path, done = _run(ds, districts, tmp_path)
    assert_reported(done.data_quality, ds)


@pytest.mark.fault("13.2", "a variable without units escapes as a ValueError naming no file")
def test_a_variable_without_units_is_refused_naming_the_file(sample, districts, tmp_path):
    ds = perturb(sample, [Step("no_units", "tas")])
    with pytest.raises(ForecastError, match="forecast_72h.nc"):
        _run(ds, districts, tmp_path)


@pytest.mark.fault("13.2", "a forecast without hours passes validation, crashes later")
def test_a_forecast_without_hours_is_refused_naming_the_file(sample, districts, tmp_path):
    ds = perturb(sample, [Step("trim", hours=(0, 0))])
    with pytest.raises(ForecastError, match="forecast_72h.nc"):
        _run(ds, districts, tmp_path)
