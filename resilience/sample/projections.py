"""Write the SYNTHETIC daily climate sample for Shanghai, named and laid out like NEX-GDDP-CMIP6.

One CF-1.8 NetCDF file per variable, model, experiment and year, in raw CMIP units and the
noleap calendar, flagged ``synthetic = "yes"``. The values come from the weather generator
in :mod:`.weather` (its targets and sources are in its docstring and ``docs/sample.md``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from resilience.sample.weather import GENERATOR_VERSION, LAT, LON, N_DAYS, generate_year
from resilience.storage.atomic import atomic_path

if TYPE_CHECKING:
    import netCDF4

__all__ = [
    "DEFAULT_EXPERIMENTS",
    "TIME_UNITS",
    "sample_file_name",
    "write_sample_projections",
]

SOURCE = f"resilience synthetic weather generator v{GENERATOR_VERSION}"
TIME_UNITS = "days since 1850-01-01"

#: Years written by default: the historical baseline, the three AR6 future horizons, and
#: the scenarios' first years 2015-2020, so that with the historical run the sample overlaps
#: an observed record such as ERA5-Land (2010-2025) in every year: quantile delta mapping
#: trains on that overlap (docs/bias_adjustment.md, docs/observed.md).
DEFAULT_EXPERIMENTS: dict[str, tuple[int, ...]] = {
    "historical": tuple(range(1995, 2015)),
    **{
        ssp: tuple(range(2015, 2021))
        + tuple(range(2021, 2041))
        + tuple(range(2041, 2061))
        + tuple(range(2081, 2101))
        for ssp in ("ssp126", "ssp245", "ssp585")
    },
}

_VARIABLE_ATTRS: dict[str, dict[str, str]] = {
    "tasmax": {
        "standard_name": "air_temperature",
        "long_name": "Daily Maximum Near-Surface Air Temperature",
        "units": "K",
        "cell_methods": "area: mean time: maximum",
    },
    "tasmin": {
        "standard_name": "air_temperature",
        "long_name": "Daily Minimum Near-Surface Air Temperature",
        "units": "K",
        "cell_methods": "area: mean time: minimum",
    },
    "pr": {
        "standard_name": "precipitation_flux",
        "long_name": "Precipitation",
        "units": "kg m-2 s-1",
        "cell_methods": "area: mean time: mean",
    },
}


def sample_file_name(variable: str, model: str, experiment: str, year: int) -> str:
    """Return the NEX-GDDP-CMIP6 file name of one variable, model, experiment and year."""
    return f"{variable}_day_{model}_{experiment}_r1i1p1f1_gn_{year}.nc"


def write_sample_projections(
    out_dir: Path,
    *,
    models: Sequence[str] = ("SYNTH-ESM-A", "SYNTH-ESM-B"),
    experiments: Mapping[str, Sequence[int]] | None = None,
    variables: Sequence[str] = ("tasmax", "tasmin", "pr"),
    seed: int = 20260101,
) -> list[Path]:
    """Write the synthetic sample as NEX-GDDP-CMIP6-style NetCDF files, one year per file.

    Parameters
    ----------
    out_dir : Path
        Directory to write into; created if missing. Existing files of the same name are
        replaced atomically.
    models : sequence of str
        Model names (``source_id``); must not contain ``_``.
    experiments : mapping of str to sequence of int, optional
        Years to write per experiment; default ``DEFAULT_EXPERIMENTS`` (historical 1995-2014
        and ssp126/245/585 over the near, mid and far AR6 horizons).
    variables : sequence of str
        Any of ``tasmax``, ``tasmin`` (K) and ``pr`` (kg m-2 s-1).
    seed : int
        Base seed; the same seed gives identical files.

    Returns
    -------
    list of Path
        The files written, in (model, experiment, year, variable) order.

    Raises
    ------
    ValueError
        For an unknown variable or experiment, or a model name containing ``_``.
    """
    unknown = [v for v in variables if v not in _VARIABLE_ATTRS]
    if unknown:
        raise ValueError(f"variables: expected some of {sorted(_VARIABLE_ATTRS)}, found {unknown}")
    bad_models = [m for m in models if "_" in m or not m]
    if bad_models:
        raise ValueError(f"models: names must be non-empty without '_', found {bad_models}")
    experiments = DEFAULT_EXPERIMENTS if experiments is None else experiments
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for model in models:
        for experiment, years in experiments.items():
            for year in years:
                fields = generate_year(model, experiment, int(year), seed=seed)
                for variable in variables:
                    path = out_dir / sample_file_name(variable, model, experiment, int(year))
                    _write_file(path, fields[variable], (variable, model, experiment, int(year)))
                    written.append(path)
    return written


def _write_file(path: Path, values: np.ndarray, key: tuple[str, str, str, int]) -> None:
    """Write one CF-1.8 file atomically: a temporary file in the same folder, then rename."""
    import netCDF4

    variable, model, experiment, year = key
    with atomic_path(path) as tmp:
        with netCDF4.Dataset(tmp, "w", format="NETCDF4") as nc:
            nc.setncatts(_global_attrs(model, experiment, variable))
            _write_coords(nc, year)
            var = nc.createVariable(
                variable,
                "f4",
                ("time", "lat", "lon"),
                zlib=True,
                complevel=1,
                shuffle=True,
                chunksizes=(N_DAYS, LAT.size, LON.size),
                fill_value=np.float32(1e20),
            )
            var.setncatts({**_VARIABLE_ATTRS[variable], "missing_value": np.float32(1e20)})
            var[:] = values


def _write_coords(nc: netCDF4.Dataset, year: int) -> None:
    """Create time (noleap, mid-day, with bounds), lat and lon with CF attributes."""
    nc.createDimension("time", N_DAYS)
    nc.createDimension("lat", LAT.size)
    nc.createDimension("lon", LON.size)
    nc.createDimension("bnds", 2)
    start = (year - 1850) * N_DAYS + np.arange(N_DAYS, dtype="f8")
    time = nc.createVariable("time", "f8", ("time",))
    time.setncatts(
        {
            "standard_name": "time",
            "long_name": "time",
            "units": TIME_UNITS,
            "calendar": "noleap",
            "axis": "T",
            "bounds": "time_bnds",
        }
    )
    time[:] = start + 0.5
    nc.createVariable("time_bnds", "f8", ("time", "bnds"))[:] = np.stack([start, start + 1], 1)
    for name, values, std, units, axis in (
        ("lat", LAT, "latitude", "degrees_north", "Y"),
        ("lon", LON, "longitude", "degrees_east", "X"),
    ):
        coord = nc.createVariable(name, "f8", (name,))
        coord.setncatts({"standard_name": std, "long_name": std, "units": units, "axis": axis})
        coord[:] = values


def _global_attrs(model: str, experiment: str, variable: str) -> dict[str, str]:
    """Return the global attributes: CF, CMIP-like identifiers and the SYNTHETIC flag."""
    return {
        "Conventions": "CF-1.8",
        "title": f"SYNTHETIC daily {variable} for Shanghai ({model}, {experiment})",
        "institution": "resilience project (synthetic sample; no modelling centre)",
        "source": SOURCE,
        "comment": (
            "SYNTHETIC data drawn by a stochastic weather generator from Shanghai climatology "
            "(Xujiahui normals), an urban heat island around People's Square, AR6-like warming "
            "per scenario and Clausius-Clapeyron rain scaling. For software tests and demos "
            "only; see docs/sample.md."
        ),
        "synthetic": "yes",
        "experiment_id": experiment,
        "source_id": model,
        "variant_label": "r1i1p1f1",
        "frequency": "day",
        "variable_id": variable,
        "grid_label": "gn",
        "nominal_resolution": "10 km",
        "references": "docs/sample.md in the resilience repository",
    }
