"""The city profile: one file that names everything a refresh of one city needs.

A profile (YAML or TOML, docs/profile.md has the format and a complete example) names the
region, the projections (a projections store, a catalogue, a glob or a folder of files), an
optional observed reference for bias adjustment, the tide-gauge records and stations, the
asset inventory, the districts, the DEM, optional defence lines and warning rules, and the
horizons and scenarios to build. Relative paths resolve against the profile's own folder, so
a profile travels with its data. :func:`load_profile` validates the file with pydantic and
checks that every path exists; each error names the file and the field (``profile.yaml:
field tide_gauges.stations: no such file: ...``). ``resilience sample`` writes the Shanghai
profile of the bundled sample (:func:`profile_text`); ``resilience refresh --profile`` and
the refresh flow read one.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from hazard_models.coast.storm_tide import SyntheticStormTide
from hazard_models.horizon import AR6_HORIZONS, FUTURE_SCENARIOS
from resilience.validation_text import describe

__all__ = [
    "PROFILE_NAMES",
    "CityProfile",
    "ProfileError",
    "ProjectionsSpec",
    "ReferenceSpec",
    "RegionSpec",
    "TideGaugeSpec",
    "find_profile",
    "load_profile",
    "profile_text",
]

#: File names ``find_profile`` looks for in a folder, in this order.
PROFILE_NAMES = ("profile.yaml", "profile.yml", "profile.toml")
_HORIZON_NAMES = tuple(h.name for h in AR6_HORIZONS)
#: Variables a refresh uses: heat (tasmax, tasmin) and rain (pr) layers.
REFRESH_VARIABLES = ("tasmax", "tasmin", "pr")


class ProfileError(ValueError):
    """A city profile that cannot be used; the message names the file and the field."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RegionSpec(_Model):
    """The region a refresh covers: a name and a bounding box or a polygon file."""

    name: str = Field(min_length=1, description="Region name, used in outputs.")
    bbox: tuple[float, float, float, float] | None = Field(
        default=None, description="lon_min, lat_min, lon_max, lat_max (degrees E/N, WGS-84)."
    )
    polygon: Path | None = Field(default=None, description="GeoJSON (or any OGR) boundary.")

    @model_validator(mode="after")
    def _one_shape(self) -> RegionSpec:
        if (self.bbox is None) == (self.polygon is None):
            raise ValueError("give exactly one of bbox or polygon")
        if self.bbox is not None:
            lon0, lat0, lon1, lat1 = self.bbox
            if not (-180 <= lon0 < lon1 <= 360 and -90 <= lat0 < lat1 <= 90):
                raise ValueError(
                    f"bbox: expected lon_min < lon_max in [-180, 360] and lat_min < lat_max "
                    f"in [-90, 90], found {list(self.bbox)}"
                )
        return self


class ProjectionsSpec(_Model):
    """Where the climate projections are: exactly one of store, catalog, glob or directory."""

    store: Path | None = Field(default=None, description="A projections store (pull --out).")
    catalog: Path | None = Field(default=None, description="A catalogue YAML of sources.")
    glob: str | None = Field(default=None, description="Files matching a glob pattern.")
    directory: Path | None = Field(default=None, description="A folder of projection files.")
    variables: tuple[str, ...] = Field(default=REFRESH_VARIABLES)

    @model_validator(mode="after")
    def _one_source(self) -> ProjectionsSpec:
        given = [n for n in ("store", "catalog", "glob", "directory") if getattr(self, n)]
        if len(given) != 1:
            raise ValueError(
                f"give exactly one of store, catalog, glob or directory, found {given or 'none'}"
            )
        return self

    @property
    def kind(self) -> Literal["store", "catalog", "glob", "directory"]:
        """Which of the four sources this is."""
        for name in ("store", "catalog", "glob", "directory"):
            if getattr(self, name):
                return name  # type: ignore[return-value]
        raise AssertionError("validated: one source is given")


class ReferenceSpec(_Model):
    """An observed daily reference for bias adjustment (quantile delta mapping)."""

    path: Path = Field(description="NetCDF of observed daily data (canonical names and units).")
    variables: tuple[str, ...] = Field(default=("tasmax", "tasmin"), min_length=1)
    description: str = Field(default="", description="What the reference is, for outputs.")


class TideGaugeSpec(_Model):
    """Tide-gauge annual maxima, the stations table and the station for coastal flooding."""

    annual_maxima: Path
    stations: Path
    coastal_station: str = Field(min_length=1, description="Station of the coastal-flood layer.")


class CoastalFloodSpec(_Model):
    """How the coastal-flood layer floods the land behind the defences (docs/surge.md 6).

    ``overtopping`` spreads the volume that crosses the crests during a synthetic storm tide
    (an M2 tide of ``tide_range_m`` plus a surge pulse of ``surge_peak_m`` lasting
    ``surge_duration_h``, shifted so that it peaks at each return level; the shape defaults are
    UNCONFIRMED assumptions, hazard_models.coast.storm_tide); ``bathtub`` floods every
    connected cell below the level (the static upper bound).
    """

    method: Literal["overtopping", "bathtub"] = "overtopping"
    tide_range_m: float = Field(default=SyntheticStormTide.tide_range_m, ge=0.0, le=20.0)
    surge_peak_m: float = Field(default=SyntheticStormTide.surge_peak_m, ge=0.0, le=10.0)
    surge_duration_h: float = Field(default=SyntheticStormTide.surge_duration_h, gt=0.0, le=240.0)


class CityProfile(_Model):
    """Everything a refresh of one city needs (docs/profile.md).

    Paths are absolute once loaded (:func:`load_profile` resolves them against the profile's
    folder). ``source`` is the profile file itself.
    """

    name: str = Field(min_length=1)
    region: RegionSpec
    projections: ProjectionsSpec
    observed_reference: ReferenceSpec | None = None
    tide_gauges: TideGaugeSpec
    assets: Path
    districts: Path
    dem: Path
    defence_lines: Path | None = None
    coastal_flood: CoastalFloodSpec = Field(default_factory=lambda: CoastalFloodSpec())
    warning_rules: Path | None = None
    horizons: tuple[str, ...] = Field(default=_HORIZON_NAMES, min_length=1)
    scenarios: tuple[str, ...] = Field(default=("ssp126", "ssp245", "ssp585"), min_length=1)
    start_year: int = Field(default=2025, ge=1950, le=2100)
    source: Path | None = Field(default=None, exclude=True)

    @model_validator(mode="after")
    def _known_names(self) -> CityProfile:
        unknown = [h for h in self.horizons if h not in _HORIZON_NAMES]
        if unknown:
            raise ValueError(f"horizons: unknown {unknown}, expected some of {_HORIZON_NAMES}")
        if "baseline" not in self.horizons:
            raise ValueError("horizons: expected 'baseline' among them (changes are against it)")
        bad = [s for s in self.scenarios if s not in FUTURE_SCENARIOS]
        if bad:
            raise ValueError(f"scenarios: unknown {bad}, expected some of {FUTURE_SCENARIOS}")
        return self

    @property
    def folder(self) -> Path:
        """The folder relative paths were resolved against."""
        return self.source.parent if self.source else Path.cwd()


#: Fields holding paths (dotted), checked to exist after resolution; glob is a pattern.
_PATH_FIELDS = (
    "region.polygon",
    "projections.store",
    "projections.catalog",
    "projections.directory",
    "observed_reference.path",
    "tide_gauges.annual_maxima",
    "tide_gauges.stations",
    "assets",
    "districts",
    "dem",
    "defence_lines",
    "warning_rules",
)


def _read_raw(path: Path) -> dict[str, Any]:
    """Read the profile file as a mapping (YAML or TOML by extension)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ProfileError(f"{path}: cannot read the profile: {exc.strerror or exc}") from exc
    try:
        raw = tomllib.loads(text) if path.suffix == ".toml" else yaml.safe_load(text)
    except (yaml.YAMLError, tomllib.TOMLDecodeError) as exc:
        kind = "TOML" if path.suffix == ".toml" else "YAML"
        raise ProfileError(f"{path}: not valid {kind}: {exc}") from exc
    if not isinstance(raw, dict):
        raise ProfileError(
            f"{path}: expected a mapping of profile fields, found {type(raw).__name__}"
        )
    return raw


def _resolve(raw: dict[str, Any], folder: Path) -> dict[str, Any]:
    """Return ``raw`` with relative paths (and the glob) made absolute against ``folder``."""
    out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in raw.items()}
    for dotted in (*_PATH_FIELDS, "projections.glob"):
        head, _, leaf = dotted.rpartition(".")
        section = out.get(head) if head else out
        if not isinstance(section, dict) or not isinstance(section.get(leaf), str):
            continue
        value = Path(section[leaf]).expanduser()
        section[leaf] = str(value if value.is_absolute() else folder / value)
    return out


def _field_value(profile: CityProfile, dotted: str) -> Any:
    value: Any = profile
    for part in dotted.split("."):
        value = getattr(value, part, None)
        if value is None:
            return None
    return value


def load_profile(path: Path) -> CityProfile:
    """Read, validate and resolve a city profile.

    Parameters
    ----------
    path : Path
        A ``.yaml``/``.yml`` or ``.toml`` profile file.

    Returns
    -------
    CityProfile
        With every path absolute and known to exist (a ``projections.glob`` must match at
        least one file).

    Raises
    ------
    ProfileError
        Naming the file, the field and what was expected: unreadable or malformed file, a
        wrong or missing field, an unknown horizon or scenario, a path that does not exist.
    """
    path = Path(path).resolve()
    raw = _read_raw(path)
    try:
        profile = CityProfile.model_validate(_resolve(raw, path.parent))
    except ValidationError as exc:
        raise ProfileError(describe(str(path), exc, prefix="field ")) from exc
    profile = profile.model_copy(update={"source": path})
    for dotted in _PATH_FIELDS:
        value = _field_value(profile, dotted)
        if value is not None and not Path(value).exists():
            raise ProfileError(f"{path}: field {dotted}: no such file or folder: {value}")
    pattern = profile.projections.glob
    if pattern is not None and not sorted(Path("/").glob(pattern.lstrip("/"))):
        raise ProfileError(f"{path}: field projections.glob: no file matches {pattern}")
    return profile


def find_profile(folder: Path) -> Path:
    """Return the profile file in ``folder`` (``profile.yaml``, ``.yml`` or ``.toml``).

    Raises
    ------
    ProfileError
        If ``folder`` holds none of :data:`PROFILE_NAMES`.
    """
    for name in PROFILE_NAMES:
        candidate = Path(folder) / name
        if candidate.is_file():
            return candidate
    raise ProfileError(
        f"{folder}: expected a city profile ({' or '.join(PROFILE_NAMES)}); "
        "`resilience sample --out DIR` writes one for the bundled sample (docs/profile.md)"
    )


def profile_text(profile: CityProfile, *, relative_to: Path | None = None, header: str = "") -> str:
    """Return ``profile`` as YAML, with paths relative to ``relative_to`` where below it."""

    def rel(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: rel(v) for k, v in value.items() if v is not None}
        if isinstance(value, (list, tuple)):
            return [rel(v) for v in value]
        if isinstance(value, Path):
            if relative_to is not None and value.is_relative_to(relative_to):
                return value.relative_to(relative_to).as_posix()
            return value.as_posix()
        return value

    body = yaml.safe_dump(rel(profile.model_dump()), sort_keys=False, allow_unicode=True)
    return header + body
