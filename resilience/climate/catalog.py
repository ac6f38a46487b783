"""A YAML catalogue of climate-data sources: its model, and reading and writing it.

A catalogue lists sources. Each names a driver and what it holds::

    sources:
      - name: nex-gddp-cmip6-s3
        driver: http                      # local | http | opendap | zarr
        url_template: "https://.../{model}/{experiment}/{variant}/{variable}/{variable}_day_\
{model}_{experiment}_{variant}_{grid}_{year}.nc"
        variables: [tasmax, pr]
        models: [ACCESS-CM2]
        experiments: [historical, ssp245]
        years: {historical: ["1995-2014"], ssp245: ["2015-2100"]}
        checksums: {tasmax_day_ACCESS-CM2_ssp245_r1i1p1f1_gn_2050.nc: "<sha256>"}

``local`` sources give a ``path`` glob (relative to the catalogue file), ``http`` sources a
``url_template`` or a list of ``urls`` named like NEX-GDDP-CMIP6 files, ``opendap`` and ``zarr``
sources a ``url`` (a template or one address).

This module holds the pydantic model (:class:`Source`, :class:`Catalog`), :func:`load_catalog`
(validation errors name the file and field) and :func:`write_sample_catalog` (the catalogue of
the bundled sample). Choosing the files a run needs and pulling them is in
:mod:`resilience.climate.selection`.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from resilience.climate.fetch import sha256_file
from resilience.climate.projection_file import parse_file_name, year_runs
from resilience.schema import CANONICAL_UNITS, SCENARIOS
from resilience.storage.atomic import write_text_atomic
from resilience.validation_text import error_message

__all__ = [
    "Catalog",
    "CatalogError",
    "Source",
    "load_catalog",
    "write_sample_catalog",
]

Driver = Literal["local", "http", "opendap", "zarr"]
_FIELDS = {"variable", "model", "experiment", "year", "variant", "grid"}


class CatalogError(ValueError):
    """A catalogue is invalid or cannot serve a request; the message names file and field."""


def _parse_years(value: Any) -> tuple[tuple[int, int], ...]:
    """Turn ``[1995-2014, 2050]`` (strings or ints) into inclusive (start, end) pairs."""
    items = value if isinstance(value, list | tuple) else [value]
    ranges = []
    for item in items:
        text = str(item).strip()
        first, _, last = text.partition("-")
        if not first.isdigit() or (last and not last.isdigit()):
            raise ValueError(f"expected a year or 'START-END' range, found {item!r}")
        start, end = int(first), int(last or first)
        if end < start:
            raise ValueError(f"range {item!r} ends before it starts")
        ranges.append((start, end))
    return tuple(ranges)


class Source(BaseModel):
    """One place that holds climate files, and what it holds."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[A-Za-z0-9._-]+$")
    driver: Driver
    path: str | None = None
    url_template: str | None = None
    urls: list[str] | None = None
    url: str | None = None
    variables: list[str] = Field(min_length=1)
    models: list[str] = Field(min_length=1)
    experiments: list[str] = Field(min_length=1)
    years: dict[str, tuple[tuple[int, int], ...]]
    variant: str = "r1i1p1f1"
    grid: str = "gn"
    checksums: dict[str, str] = Field(default_factory=dict)

    @field_validator("years", mode="before")
    @classmethod
    def _years(cls, value: Any, info: Any) -> dict[str, tuple[tuple[int, int], ...]]:
        if isinstance(value, dict):
            return {str(k): _parse_years(v) for k, v in value.items()}
        ranges = _parse_years(value)  # one list for every experiment
        return {e: ranges for e in info.data.get("experiments") or []}

    @field_validator("variables")
    @classmethod
    def _variables(cls, value: list[str]) -> list[str]:
        bad = [v for v in value if v not in CANONICAL_UNITS]
        if bad:
            raise ValueError(f"expected some of {sorted(CANONICAL_UNITS)}, found {bad}")
        return value

    @field_validator("experiments")
    @classmethod
    def _experiments(cls, value: list[str]) -> list[str]:
        bad = [e for e in value if e not in SCENARIOS]
        if bad:
            raise ValueError(f"expected some of {list(SCENARIOS)}, found {bad}")
        return value

    @field_validator("checksums")
    @classmethod
    def _checksums(cls, value: dict[str, str]) -> dict[str, str]:
        bad = [
            k for k, v in value.items() if len(v) != 64 or set(v.lower()) - set("0123456789abcdef")
        ]
        if bad:
            raise ValueError(f"expected 64 hex digits (sha256) for {bad}")
        return {k: v.lower() for k, v in value.items()}

    @model_validator(mode="after")
    def _locations(self) -> Source:
        allowed = {
            "local": ("path",),
            "http": ("url_template", "urls"),
            "opendap": ("url", "url_template"),
            "zarr": ("url", "url_template"),
        }[self.driver]
        given = [f for f in ("path", "url_template", "urls", "url") if getattr(self, f)]
        if len(given) != 1 or given[0] not in allowed:
            raise ValueError(
                f"driver {self.driver!r} needs exactly one of {list(allowed)}, found {given}"
            )
        if self.url_template:
            names = {f for _, f, _, _ in string.Formatter().parse(self.url_template) if f}
            if names - _FIELDS:
                raise ValueError(f"url_template: unknown fields {sorted(names - _FIELDS)}")
        missing = [e for e in self.experiments if e not in self.years]
        if missing:
            raise ValueError(f"years: no years given for experiments {missing}")
        return self

    def holds(self, experiment: str, year: int) -> bool:
        """Return True if the source lists ``year`` for ``experiment``."""
        return any(a <= year <= b for a, b in self.years.get(experiment, ()))


class Catalog(BaseModel):
    """A list of sources; earlier sources win when two hold the same file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sources: list[Source] = Field(min_length=1)
    base_dir: Path = Path(".")  # where relative local paths start (the catalogue's folder)

    @model_validator(mode="after")
    def _unique_names(self) -> Catalog:
        names = [s.name for s in self.sources]
        duplicated = sorted({n for n in names if names.count(n) > 1})
        if duplicated:
            raise ValueError(f"source names must be unique, found {duplicated} twice")
        return self


def load_catalog(path: Path) -> Catalog:
    """Read and validate a YAML catalogue.

    Raises
    ------
    CatalogError
        If the file is missing, not YAML, or a field is invalid; the message names the file,
        the field (e.g. ``sources[1].years``) and what was expected.
    """
    import yaml

    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise CatalogError(f"{path}: cannot read catalogue ({err})") from err
    except yaml.YAMLError as err:
        raise CatalogError(f"{path}: not valid YAML ({err})") from err
    if not isinstance(data, dict):
        raise CatalogError(f"{path}: expected a mapping with a 'sources' list")
    try:
        return Catalog.model_validate({**data, "base_dir": path.parent})
    except ValidationError as err:
        lines = [f"{_where(e['loc'])}: {error_message(e)}" for e in err.errors()]
        if len(lines) == 1:
            raise CatalogError(f"{path}: {lines[0]}") from err
        listed = "\n".join(f"  {line}" for line in lines)
        raise CatalogError(f"{path}: {len(lines)} fields are invalid\n{listed}") from err


def _where(loc: tuple) -> str:
    """Return a pydantic location as the catalogue's YAML path, e.g. ``sources[0].years``."""
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc)
    return where.lstrip(".") or "(whole catalogue)"


def _year_ranges(years: Sequence[int]) -> list[str]:
    """Format years as inclusive ranges, e.g. ``["1995-2014", "2050"]``."""
    return [f"{a}-{b}" if a != b else f"{a}" for a, b in year_runs(years)]


def write_sample_catalog(projections_dir: Path) -> Path:
    """Write ``catalog.yaml`` (one ``local`` source, with sha256s) for a folder of sample files.

    Parameters
    ----------
    projections_dir : Path
        Folder written by ``resilience.sample.projections.write_sample_projections``.

    Returns
    -------
    Path
        ``projections_dir / "catalog.yaml"``, written atomically; ``load_catalog`` reads it.

    Raises
    ------
    CatalogError
        If the folder holds no NEX-GDDP-CMIP6-named NetCDF file.
    """
    import yaml

    projections_dir = Path(projections_dir)
    files = [f for p in sorted(projections_dir.rglob("*.nc")) if (f := parse_file_name(p))]
    if not files:
        raise CatalogError(f"{projections_dir}: no NEX-GDDP-CMIP6-named .nc file to catalogue")
    years: dict[str, list[int]] = {}
    for f in files:
        years.setdefault(f.experiment, []).append(f.year)
    source = {
        "name": "sample",
        "driver": "local",
        "path": "**/*.nc",
        "variables": sorted({f.variable for f in files}),
        "models": sorted({f.model for f in files}),
        "experiments": [e for e in SCENARIOS if e in years],
        "years": {e: _year_ranges(years[e]) for e in SCENARIOS if e in years},
        "checksums": {f.path.name: sha256_file(f.path) for f in files},
    }
    header = (
        "# Catalogue of the bundled SYNTHETIC sample projections (resilience sample).\n"
        "# Written by resilience.climate.catalog.write_sample_catalog; paths are relative to "
        "this file.\n"
    )
    text = header + yaml.safe_dump({"sources": [source]}, sort_keys=False)
    return write_text_atomic(projections_dir / "catalog.yaml", text)
