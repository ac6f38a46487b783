"""Choose the catalogue files that a run's horizons need, and pull them into the cache.

:func:`select` keeps only the years that the requested horizons need and returns one
:class:`FileSpec` per file (or per address); :func:`pull` makes them available: local files
are verified in place, HTTP files are downloaded into the cache with
:func:`resilience.climate.fetch.download`, and OPeNDAP / Zarr addresses are returned for
xarray to open lazily. The catalogue itself (model, loading, validation) is in
:mod:`resilience.climate.catalog`; :mod:`resilience.climate.pull` opens and normalises what
was pulled.

Years up to 2014 come from ``historical`` and later years from the SSPs: the CMIP6 historical
experiment ends in 2014 and ScenarioMIP starts in 2015 (Eyring et al. 2016, GMD 9, 1937;
O'Neill et al. 2016, GMD 9, 3461).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hazard_models.horizon import horizon_by_name
from resilience.climate.catalog import Catalog, CatalogError, Driver, Source
from resilience.climate.fetch import download, sha256_file
from resilience.climate.file_identity import FileIdentity, identify_file
from resilience.climate.member import model_matches
from resilience.schema import FUTURE_SCENARIOS, Horizon

__all__ = [
    "HISTORICAL_END_YEAR",
    "FileSpec",
    "PullError",
    "pull",
    "select",
]

#: Last year of the CMIP6 ``historical`` experiment (Eyring et al. 2016).
HISTORICAL_END_YEAR = 2014


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
    members : tuple of str
        Ensemble members (``variant_label``) it holds: from the file for local files, the
        source's ``variant`` for templates.
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
    members: tuple[str, ...] = ()


_Key = tuple[str, str, str, str, int]  # (variable, model, member, experiment, year)


def _needed_keys(
    source: Source,
    variables: Sequence[str],
    years: Sequence[int],
    wanted: tuple,
    index: dict[_Key, list[str]] | None,
) -> list[_Key]:
    """Return the keys this source holds (its files, or what it declares) that we need."""
    experiments, models = wanted
    if index is not None:
        candidates: Iterable[_Key] = sorted(index)
    else:
        candidates = (
            (variable, model, source.variant, experiment, year)
            for variable in source.variables
            for model in source.models
            for year in years
            for experiment in source.experiments
        )
    year_set = set(years)
    keys = []
    for key in candidates:
        variable, model, member, experiment, year = key
        if (
            variable in variables
            and variable in source.variables
            and model_matches(source.models, model, member)
            and model_matches(models, model, member)
            and year in year_set
            and experiment in _experiments_for(year, experiments)
            and experiment in source.experiments
            and source.holds(experiment, year)
        ):
            keys.append(key)
    return keys


def _experiments_for(year: int, ssps: Sequence[str]) -> Sequence[str]:
    """Return ``historical`` up to 2014 and the requested SSPs after (module docstring)."""
    return ("historical",) if year <= HISTORICAL_END_YEAR else ssps


def _local_files(source: Source, base_dir: Path) -> dict[_Key, list[str]]:
    """Glob a local source and index its files by key, read from names or headers.

    Files are identified by :func:`resilience.climate.file_identity.identify_file`
    (NEX-GDDP-CMIP6 or CMIP6 DRS names, else global attributes). A multi-year file is
    indexed under each of its years; per key only the files of the highest version are kept
    (several when one year is split across files).
    """
    parts = Path(source.path or "").parts
    split = next((i for i, p in enumerate(parts) if set(p) & set("*?[")), len(parts) - 1)
    root, glob = Path(*parts[:split]), str(Path(*parts[split:]))
    root = root if root.is_absolute() else base_dir / root
    found: dict[_Key, list[str]] = {}
    versions: dict[_Key, tuple[int, ...]] = {}
    for path in sorted(root.glob(glob)):
        identity = identify_file(path) if path.is_file() else None
        if identity is None:
            continue
        for year in identity.years:
            key = _key(identity, year)
            if identity.version > versions.get(key, ()):  # the highest version wins
                found[key], versions[key] = [], identity.version
            if identity.version == versions[key]:
                found[key].append(str(path))
    return found


def _key(identity: FileIdentity, year: int) -> _Key:
    i = identity
    return (i.variable, i.model, i.member, i.experiment, year)


def _listed_urls(source: Source) -> dict[_Key, list[str]]:
    """Index an HTTP source's ``urls`` by the key in each file name (NEX or CMIP6 DRS)."""
    found: dict[_Key, list[str]] = {}
    for url in source.urls or []:
        name = Path(url.split("?")[0].rsplit("/", 1)[-1])
        identity = identify_file(name, read_header=False)
        if identity is None:
            raise CatalogError(
                f"source {source.name!r}: urls: {url!r} is not named like a NEX-GDDP-CMIP6 file "
                "({variable}_day_{model}_{experiment}_{variant}_{grid}_{year}.nc) or a daily "
                "CMIP6 DRS file ({variable}_day_{model}_{experiment}_{variant}_{grid}_"
                "{start}-{end}.nc)"
            )
        for year in identity.years:
            found.setdefault(_key(identity, year), []).append(url)
    return found


def _locate(source: Source, key: _Key, index: dict[_Key, list[str]] | None) -> list[str]:
    """Return where ``key`` lives in ``source`` (empty if it does not hold it)."""
    if index is not None:
        return index.get(key, [])
    if source.url_template is None:
        return [str(source.url)]  # one address holds everything (a Zarr store, an aggregation)
    variable, model, member, experiment, year = key
    fields = {"variable": variable, "model": model, "experiment": experiment, "year": year}
    return [source.url_template.format(**fields, variant=member, grid=source.grid)]


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
        From :func:`resilience.climate.catalog.load_catalog`.
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
    chosen: dict[_Key, tuple[Source, list[str]]] = {}
    for source in catalog.sources:
        index = _source_index(source, catalog.base_dir)
        for key in _needed_keys(source, variables, years, (ssps, models), index):
            locations = _locate(source, key, index)
            if locations and key not in chosen:
                chosen[key] = (source, locations)
    _check_coverage(chosen, variables, years, (experiments, models))
    return _group(chosen)


def _source_index(source: Source, base_dir: Path) -> dict[_Key, list[str]] | None:
    if source.driver == "local":
        return _local_files(source, base_dir)
    if source.urls is not None:
        return _listed_urls(source)
    return None


def _check_coverage(
    chosen: dict[_Key, tuple[Source, list[str]]],
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
    for position, kind in ((0, "variable"), (1, "model"), (3, "experiment")):
        found = {key[position] for key in chosen}
        if kind == "model":
            found |= {f"{key[1]}_{key[2]}" for key in chosen}
        missing = [n for n in needed[kind] if n not in found]
        if missing:
            raise CatalogError(
                f"no source holds {kind} {missing} for years {years[0]}-{years[-1]}; "
                f"found {sorted(found)}"
            )


def _group(chosen: dict[_Key, tuple[Source, list[str]]]) -> list[FileSpec]:
    """Merge keys that share one location into one FileSpec, in a stable order."""
    groups: dict[tuple[str, str], list[_Key]] = {}
    sources: dict[str, Source] = {}
    for key, (source, locations) in sorted(chosen.items()):
        for location in locations:
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
                experiments=tuple(sorted({k[3] for k in keys})),
                years=tuple(sorted({k[4] for k in keys})),
                sha256=source.checksums.get(file_name),
                members=tuple(sorted({k[2] for k in keys})),
            )
        )
    return specs


class PullError(RuntimeError):
    """Some files could not be pulled; ``failures`` pairs each FileSpec with its error."""

    def __init__(self, failures: list[tuple[FileSpec, Exception]]) -> None:
        lines = [
            str(err) if str(err).startswith(spec.location) else f"{spec.location}: {err}"
            for spec, err in failures
        ]
        super().__init__(f"{len(failures)} file(s) could not be pulled:\n" + "\n".join(lines))
        self.failures = failures


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


def _http_client(needed: bool) -> contextlib.AbstractContextManager[Any]:
    """Return an ``httpx.Client`` (shared by the download threads) only if a spec needs one."""
    if not needed:
        return contextlib.nullcontext(None)
    import httpx

    return httpx.Client(timeout=30.0, follow_redirects=True)


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
    if concurrency < 1:
        raise ValueError(f"concurrency: expected >= 1, found {concurrency}")
    cache_dir = Path(cache_dir)
    with (
        _http_client(any(spec.driver == "http" for spec in specs)) as client,
        ThreadPoolExecutor(max_workers=concurrency) as pool,
    ):
        futures = [pool.submit(_pull_one, spec, cache_dir, client) for spec in specs]
        outcomes = [(spec, f.exception()) for spec, f in zip(specs, futures, strict=True)]
    failures = [(spec, err) for spec, err in outcomes if isinstance(err, Exception)]
    if failures:
        raise PullError(failures) from failures[0][1]
    return [f.result() for f in futures]
