"""One settings object for the whole engine, read from a TOML file and ``RESILIENCE_*``.

Precedence, highest first: keyword arguments, environment variables (``RESILIENCE_DATA_DIR``,
``RESILIENCE_DATABASE_URL``, ``RESILIENCE_DASK_ADDRESS``, ``RESILIENCE_USE_PREFECT`` ...),
the TOML file named by ``RESILIENCE_CONFIG`` (default ``resilience.toml`` in the working
directory, if present), then the defaults below. The defaults are the embedded mode: a SQLite
file under the data directory, dask's local scheduler and Prefect's local (ephemeral) mode.
A larger deployment changes only settings: a PostgreSQL URL, a dask.distributed address and
a Prefect server (``PREFECT_API_URL``, read by Prefect itself).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

__all__ = ["Settings", "SettingsError", "get_settings"]

DEFAULT_CONFIG_FILE = "resilience.toml"


class Settings(BaseSettings):
    """Engine settings.

    Attributes
    ----------
    data_dir : Path
        Root for the layer store, the SQLite database and caches.
    database_url : str or None
        SQLAlchemy URL; ``None`` means ``sqlite:///{data_dir}/resilience.db``.
    dask_address : str or None
        Address of a dask.distributed scheduler; ``None`` uses dask's local scheduler.
    use_prefect : bool
        Run pipelines as Prefect flows (True) or as plain function calls (False).
    rain_uplift_method : {"daily_change", "clausius_clapeyron"}
        How sub-daily design rainfall is uplifted for future horizons (rain hazard).
    design_life_target_probability : float
        Largest acceptable chance that a design standard is exceeded at least once over the
        design life; used by feasibility verdicts and adaptation advice. Project choice,
        not a national standard (see ``docs/science.md``).
    risk_export_max_rows : int or None
        Largest risk table (rows) also written as GeoPackage and CSV beside its GeoParquet;
        default 1,048,575, the rows an Excel sheet holds under its header. None: always;
        0: never. A larger table is GeoParquet only, and the refresh says so
        (docs/decisions.md D42).
    """

    model_config = SettingsConfigDict(env_prefix="RESILIENCE_", extra="forbid")

    data_dir: Path = Field(default=Path("resilience-data"))
    database_url: str | None = None
    dask_address: str | None = None
    use_prefect: bool = True
    rain_uplift_method: Literal["daily_change", "clausius_clapeyron"] = "daily_change"
    design_life_target_probability: float = Field(default=0.10, gt=0.0, lt=1.0)
    risk_export_max_rows: int | None = Field(default=1_048_575, ge=0)

    @field_validator("data_dir")
    @classmethod
    def _expand(cls, value: Path) -> Path:
        return Path(os.path.expanduser(str(value)))

    @property
    def resolved_database_url(self) -> str:
        """Return the database URL, defaulting to a SQLite file in ``data_dir``."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'resilience.db').resolve()}"

    @property
    def layer_store_dir(self) -> Path:
        """Return the directory of the versioned layer store."""
        return self.data_dir / "layers"

    @property
    def risk_dir(self) -> Path:
        """Return the directory of the published risk table (written by each refresh)."""
        return self.data_dir / "risk"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Read keyword arguments, then environment, then the TOML file."""
        toml_file = os.environ.get("RESILIENCE_CONFIG", DEFAULT_CONFIG_FILE)
        return (
            init_settings,
            env_settings,
            TomlConfigSettingsSource(settings_cls, toml_file=toml_file),
        )


class SettingsError(ValueError):
    """A setting has a wrong value; the message names its source and each field, one a line."""


def get_settings(config_file: str | Path | None = None, **overrides: Any) -> Settings:
    """Load settings, optionally from an explicit TOML file.

    Parameters
    ----------
    config_file : str or Path, optional
        TOML file to read instead of ``$RESILIENCE_CONFIG`` / ``resilience.toml``.
    **overrides
        Field values that win over every other source.

    Raises
    ------
    FileNotFoundError
        If ``config_file`` is given and does not exist.
    SettingsError
        If a value is wrong; the message names the settings file (or the environment) and
        each field with what was expected, one per line.
    """
    if config_file is None:
        return _validated(os.environ.get("RESILIENCE_CONFIG", DEFAULT_CONFIG_FILE), overrides)
    path = Path(config_file)
    if not path.is_file():
        raise FileNotFoundError(f"settings file {path} does not exist")
    previous = os.environ.get("RESILIENCE_CONFIG")
    os.environ["RESILIENCE_CONFIG"] = str(path)
    try:
        return _validated(str(path), overrides)
    finally:
        if previous is None:
            os.environ.pop("RESILIENCE_CONFIG", None)
        else:
            os.environ["RESILIENCE_CONFIG"] = previous


def _validated(toml_file: str, overrides: dict[str, Any]) -> Settings:
    from pydantic import ValidationError

    from resilience.validation_text import describe

    try:
        return Settings(**overrides)
    except ValidationError as error:
        source = f"settings ({toml_file}, RESILIENCE_* environment variables or options)"
        raise SettingsError(describe(source, error)) from error
