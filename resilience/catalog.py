"""A YAML catalogue of climate-data sources, and the selection and pull of what is needed.

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
sources a ``url`` (a template or one address). :func:`select` keeps only the years that the
requested horizons need, :func:`pull` makes them available: local files are verified in place,
HTTP files are downloaded into the cache with :func:`resilience.fetch.download`, and OPeNDAP /
Zarr addresses are returned for xarray to open lazily.

Years up to 2014 come from ``historical`` and later years from the SSPs: the CMIP6 historical
experiment ends in 2014 and ScenarioMIP starts in 2015 (Eyring et al. 2016, GMD 9, 1937;
O'Neill et al. 2016, GMD 9, 3461).
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from hazard_models.horizon import horizon_by_name
from resilience.atomic import write_text_atomic
from resilience.climate import parse_file_name
from resilience.fetch import download, sha256_file
from resilience.schema import CANONICAL_UNITS, FUTURE_SCENARIOS, SCENARIOS, Horizon

__all__ = [
    "HISTORICAL_END_YEAR",
    "Catalog",
    "CatalogError",
    "FileSpec",
    "PullError",
    "Source",
    "load_catalog",
    "pull",
    "select",
    "write_sample_catalog",
]

#: Last year of the CMIP6 ``historical`` experiment (Eyring et al. 2016).
HISTORICAL_END_YEAR = 2014
Driver = Literal["local", "http", "opendap", "zarr"]
_FIELDS = {"variable", "model", "experiment", "year", "variant", "grid"}


class CatalogError(ValueError):
    """A catalogue is invalid or cannot serve a request; the message names file and field."""


class PullError(RuntimeError):
    """Some files could not be pulled; ``failures`` pairs each FileSpec with its error."""

    def __init__(self, failures: list[tuple[FileSpec, Exception]]) -> None:
        lines = [
            str(err) if str(err).startswith(spec.location) else f"{spec.location}: {err}"
            for spec, err in failures
        ]
        super().__init__(f"{len(failures)} file(s) could not be pulled:\n" + "\n".join(lines))
        self.failures = failures


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


@dataclass(frozen=True)
class FileSpec:
    """One file (or address) to pull and what it holds.

    Attributes
    ----------
    source : str
        Name of the catalogue source.
    driver : {"local", "http", "opendap", "zarr"}
        How to obtain it.
    location : str
        Local path, URL, OPeNDAP URL or fsspec Zarr URL.
    file_name : str
        Cache file name (the last path element of the location).
    variables, models, experiments : tuple of str
        What it holds (several for a Zarr store without placeholders).
    years : tuple of int
        Calendar years needed from it.
    sha256 : str or None
        Expected checksum from the catalogue.
    """

    source: str
    driver: Driver
    location: str
    file_name: str
    variables: tuple[str, ...]
    models: tuple[str, ...]
    experiments: tuple[str, ...]
    years: tuple[int, ...]
    sha256: str | None = None


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
        first = err.errors()[0]
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in first["loc"])
        count = f" (and {err.error_count() - 1} more)" if err.error_count() > 1 else ""
        raise CatalogError(f"{path}: {where.lstrip('.')}: {first['msg']}{count}") from err


_Key = tuple[str, str, str, int]  # (variable, model, experiment, year)


def _needed_keys(
    source: Source, variables: Sequence[str], years: Sequence[int], wanted: tuple
) -> list[_Key]:
    """Return the (variable, model, experiment, year) keys this source declares and we need."""
    experiments, models = wanted
    keys = []
    for variable in (v for v in variables if v in source.variables):
        for model in (m for m in source.models if models is None or m in models):
            for year in years:
                for experiment in _experiments_for(year, experiments):
                    if experiment in source.experiments and source.holds(experiment, year):
                        keys.append((variable, model, experiment, year))
    return keys


def _experiments_for(year: int, ssps: Sequence[str]) -> Sequence[str]:
    """Return ``historical`` up to 2014 and the requested SSPs after (module docstring)."""
    return ("historical",) if year <= HISTORICAL_END_YEAR else ssps


def _local_files(source: Source, base_dir: Path) -> dict[_Key, Path]:
    """Glob a local source and index its NEX-GDDP-CMIP6-named files by key."""
    parts = Path(source.path or "").parts
    split = next((i for i, p in enumerate(parts) if set(p) & set("*?[")), len(parts) - 1)
    root, glob = Path(*parts[:split]), str(Path(*parts[split:]))
    root = root if root.is_absolute() else base_dir / root
    found: dict[_Key, Path] = {}
    versions: dict[_Key, tuple[int, ...]] = {}
    for path in sorted(root.glob(glob)):
        parsed = parse_file_name(path)
        if parsed is None:
            continue
        key = (parsed.variable, parsed.model, parsed.experiment, parsed.year)
        if parsed.version >= versions.get(key, ()):  # the highest _v version wins
            found[key], versions[key] = path, parsed.version
    return found


def _listed_urls(source: Source) -> dict[_Key, str]:
    """Index an HTTP source's ``urls`` by the key in each file name."""
    found: dict[_Key, str] = {}
    for url in source.urls or []:
        parsed = parse_file_name(Path(url.split("?")[0].rsplit("/", 1)[-1]))
        if parsed is None:
            raise CatalogError(
                f"source {source.name!r}: urls: {url!r} is not named like a NEX-GDDP-CMIP6 file "
                "({variable}_day_{model}_{experiment}_{variant}_{grid}_{year}.nc)"
            )
        found[(parsed.variable, parsed.model, parsed.experiment, parsed.year)] = url
    return found


def _locate(source: Source, key: _Key, index: dict[_Key, Any] | None) -> str | None:
    """Return where ``key`` lives in ``source``, or None if it does not hold it."""
    if index is not None:
        found = index.get(key)
        return None if found is None else str(found)
    if source.url_template is None:
        return source.url  # one address holds everything (a Zarr store, an aggregation)
    variable, model, experiment, year = key
    fields = {"variable": variable, "model": model, "experiment": experiment, "year": year}
    return source.url_template.format(**fields, variant=source.variant, grid=source.grid)


def select(
    catalog: Catalog,
    *,
    variables: Sequence[str],
    horizons: Sequence[Horizon | str],
    experiments: Sequence[str] | None = None,
    models: Sequence[str] | None = None,
) -> list[FileSpec]:
    """Choose the files that the requested variables, horizons, experiments and models need.

    Parameters
    ----------
    catalog : Catalog
        From :func:`load_catalog`.
    variables : sequence of str
        Canonical CMIP6 names, e.g. ``("tasmax", "pr")``.
    horizons : sequence of Horizon or str
        Horizons or AR6 names (``baseline``, ``near``, ``mid``, ``far``); only their years
        are selected. Years up to 2014 come from ``historical``, later ones from the SSPs.
    experiments : sequence of str, optional
        SSPs for the future years; default every SSP the catalogue offers.
    models : sequence of str, optional
        Default every model the catalogue offers.

    Returns
    -------
    list of FileSpec
        One per file (or per address for an OPeNDAP aggregation or a Zarr store); the first
        source in catalogue order wins when two hold the same key.

    Raises
    ------
    CatalogError
        If a requested variable, model or experiment is held by no source for those years.
    """
    resolved = [h if isinstance(h, Horizon) else horizon_by_name(h) for h in horizons]
    years = sorted({y for h in resolved for y in range(h.start, h.end + 1)})
    ssps = [e for e in (experiments or FUTURE_SCENARIOS) if e != "historical"]
    chosen: dict[_Key, tuple[Source, str]] = {}
    for source in catalog.sources:
        index = _source_index(source, catalog.base_dir)
        for key in _needed_keys(source, variables, years, (ssps, models)):
            location = _locate(source, key, index)
            if location is not None and key not in chosen:
                chosen[key] = (source, location)
    _check_coverage(chosen, variables, years, (experiments, models))
    return _group(chosen)


def _source_index(source: Source, base_dir: Path) -> dict[_Key, Any] | None:
    if source.driver == "local":
        return dict(_local_files(source, base_dir))
    if source.urls is not None:
        return dict(_listed_urls(source))
    return None


def _check_coverage(
    chosen: dict[_Key, tuple[Source, str]],
    variables: Sequence[str],
    years: list[int],
    wanted: tuple,
) -> None:
    """Raise if a requested variable, experiment or model has no file at all."""
    experiments, models = wanted
    needed = {"variable": list(variables), "model": list(models or [])}
    needed["experiment"] = ["historical"] if years and years[0] <= HISTORICAL_END_YEAR else []
    if years and years[-1] > HISTORICAL_END_YEAR:
        needed["experiment"] += [e for e in experiments or [] if e != "historical"]
    if not chosen:
        raise CatalogError(
            f"no source holds variables {list(variables)}, experiments {experiments or 'any'}, "
            f"models {list(models) if models else 'any'} for years {years[0]}-{years[-1]}"
        )
    for position, kind in enumerate(("variable", "model", "experiment")):
        found = {key[position] for key in chosen}
        missing = [n for n in needed[kind] if n not in found]
        if missing:
            raise CatalogError(
                f"no source holds {kind} {missing} for years {years[0]}-{years[-1]}; "
                f"found {sorted(found)}"
            )


def _group(chosen: dict[_Key, tuple[Source, str]]) -> list[FileSpec]:
    """Merge keys that share one location into one FileSpec, in a stable order."""
    groups: dict[tuple[str, str], list[_Key]] = {}
    sources: dict[str, Source] = {}
    for key, (source, location) in sorted(chosen.items()):
        groups.setdefault((source.name, location), []).append(key)
        sources[source.name] = source
    specs = []
    for (name, location), keys in groups.items():
        source = sources[name]
        file_name = location.split("?")[0].rstrip("/").rsplit("/", 1)[-1]
        specs.append(
            FileSpec(
                source=name,
                driver=source.driver,
                location=location,
                file_name=file_name,
                variables=tuple(sorted({k[0] for k in keys})),
                models=tuple(sorted({k[1] for k in keys})),
                experiments=tuple(sorted({k[2] for k in keys})),
                years=tuple(sorted({k[3] for k in keys})),
                sha256=source.checksums.get(file_name),
            )
        )
    return specs


def _pull_one(spec: FileSpec, cache_dir: Path, client: Any) -> Path | str:
    """Make one FileSpec available: verify a local file, download an HTTP one, pass a URL."""
    if spec.driver in ("opendap", "zarr"):
        return spec.location
    if spec.driver == "http":
        target = cache_dir / spec.source / spec.file_name
        return download(spec.location, target, expected_sha256=spec.sha256, client=client).path
    path = Path(spec.location)
    if not path.is_file():
        raise FileNotFoundError(f"source {spec.source!r}: {path} does not exist")
    if spec.sha256 is not None and (digest := sha256_file(path)) != spec.sha256:
        raise CatalogError(
            f"source {spec.source!r}: {path}: sha256 {digest} does not match the "
            f"catalogue's {spec.sha256}"
        )
    return path


def pull(specs: Sequence[FileSpec], cache_dir: Path, *, concurrency: int = 4) -> list[Path | str]:
    """Make every selected file available, ``concurrency`` at a time.

    Parameters
    ----------
    specs : sequence of FileSpec
        From :func:`select`.
    cache_dir : Path
        HTTP files go to ``cache_dir/<source name>/<file name>`` (with ``.manifest.json``).
    concurrency : int
        Parallel downloads or checksum verifications (threads sharing one HTTP client).

    Returns
    -------
    list of Path or str
        In the order of ``specs``: local paths (verified in place), cached downloads, or the
        OPeNDAP / Zarr URLs for xarray to open lazily (nothing is downloaded for those).

    Raises
    ------
    PullError
        After every spec has been tried, if any failed; it lists each location and error.
        Files that succeeded stay cached; failed ones leave nothing behind.
    """
    import httpx

    if concurrency < 1:
        raise ValueError(f"concurrency: expected >= 1, found {concurrency}")
    cache_dir = Path(cache_dir)
    with (
        httpx.Client(timeout=30.0, follow_redirects=True) as client,
        ThreadPoolExecutor(max_workers=concurrency) as pool,
    ):
        futures = [pool.submit(_pull_one, spec, cache_dir, client) for spec in specs]
        outcomes = [(spec, f.exception()) for spec, f in zip(specs, futures, strict=True)]
    failures = [(spec, err) for spec, err in outcomes if isinstance(err, Exception)]
    if failures:
        raise PullError(failures) from failures[0][1]
    return [f.result() for f in futures]


def _year_ranges(years: Sequence[int]) -> list[str]:
    """Format years as inclusive ranges, e.g. ``["1995-2014", "2050"]``."""
    runs: list[list[int]] = []
    for year in sorted(set(years)):
        if runs and year == runs[-1][1] + 1:
            runs[-1][1] = year
        else:
            runs.append([year, year])
    return [f"{a}-{b}" if a != b else f"{a}" for a, b in runs]


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
        "# Written by resilience.catalog.write_sample_catalog; paths are relative to this file.\n"
    )
    text = header + yaml.safe_dump({"sources": [source]}, sort_keys=False)
    return write_text_atomic(projections_dir / "catalog.yaml", text)
