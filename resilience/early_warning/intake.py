"""Forecast intake for the warnings flow: find new forecast files, issue each once, deliver.

A forecast file is identified by the SHA-256 of its bytes: table ``forecast_runs`` records each
file issued (path, issue time, counts), so the flow never issues a file twice, and a renamed
copy is recognised. Files are issued oldest forecast first (their ``issued`` attribute), so a
newer forecast always supersedes an older one (:mod:`~resilience.early_warning.supersede`).
The record is written after the messages: a crash in between re-issues the file on the next
run, which changes nothing (the lifecycle is idempotent) and then records it.

These are the steps of ``flows/issue_warnings.py``; each takes and returns paths, strings
and small models, never Datasets.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import xarray as xr
from pydantic import BaseModel
from sqlalchemy import DateTime, Integer, String, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Mapped, mapped_column

from resilience.early_warning.delivery import DeliveryReport, deliver_due, replay_clock
from resilience.storage.database import make_engine, session_scope
from resilience.storage.tables import Base

__all__ = [
    "ForecastOutcome",
    "ForecastRun",
    "deliver_once",
    "file_sha256",
    "issue_forecast",
    "pending_forecasts",
]


class ForecastRun(Base):
    """A forecast file the warnings flow has issued."""

    __tablename__ = "forecast_runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    path: Mapped[str] = mapped_column(String(1000))
    issued: Mapped[str] = mapped_column(String(40))
    messages: Mapped[int] = mapped_column(Integer)
    new_messages: Mapped[int] = mapped_column(Integer)
    withdrawn: Mapped[int] = mapped_column(Integer)
    processed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ForecastOutcome(BaseModel):
    """What issuing one forecast file did (``already_done``: it had been issued before)."""

    path: Path
    sha256: str
    issued: str
    messages: int = 0
    new_messages: int = 0
    withdrawn: int = 0
    skipped_rules: dict[str, str] = {}
    already_done: bool = False
    #: Data-quality problems of the forecast (gaps, held rules): issued on what it holds.
    data_quality: list[str] = []


def _engine(database_url: str) -> Engine:
    engine = make_engine(database_url)
    Base.metadata.create_all(engine, tables=[ForecastRun.__table__])  # type: ignore[list-item]
    return engine


def file_sha256(path: Path) -> str:
    """Return the SHA-256 (hex) of a file's bytes (``provenance.sha256_file``)."""
    from resilience.storage.provenance import sha256_file

    return sha256_file(path)


def _issued(path: Path) -> str:
    with xr.open_dataset(path) as ds:
        return str(ds.attrs.get("issued", ""))


def pending_forecasts(directory: Path, database_url: str, pattern: str = "*.nc") -> list[Path]:
    """Return the forecast files in ``directory`` not yet issued, oldest forecast first.

    Parameters
    ----------
    directory : Path
        Where forecasts arrive.
    database_url : str
        The alert database (holds ``forecast_runs``).
    pattern : str
        Glob of forecast files.

    Returns
    -------
    list of Path
        Sorted by the ``issued`` attribute (ISO 8601), then by name.

    Raises
    ------
    FileNotFoundError
        If ``directory`` does not exist.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"{directory}: no such directory; expected forecast files")
    engine = _engine(database_url)
    try:
        with session_scope(engine) as session:
            done = set(session.scalars(select(ForecastRun.sha256)))
    finally:
        engine.dispose()
    new = [p for p in sorted(directory.glob(pattern)) if file_sha256(p) not in done]
    return sorted(new, key=lambda p: (_issued(p), p.name))


def issue_forecast(
    path: Path,
    database_url: str,
    out_dir: Path,
    *,
    rules_path: Path | None = None,
    districts_path: Path | None = None,
    assets_path: Path | None = None,
    layer_store: Path | None = None,
) -> ForecastOutcome:
    """Issue the CAP messages of one forecast file, unless it was issued before.

    Parameters
    ----------
    path : Path
        Forecast NetCDF file.
    database_url : str
        The alert database.
    out_dir : Path
        Directory for the CAP files.
    rules_path, districts_path, assets_path : Path, optional
        Rule set, district boundaries, asset inventory (default: shipped rules and
        districts; no inventory, so asset rules are skipped).
    layer_store : Path, optional
        Layer store for hazard-layer thresholds.

    Returns
    -------
    ForecastOutcome
    """
    from resilience.early_warning.rules import load_rules
    from resilience.early_warning.run import load_inputs, run_warnings
    from resilience.geodata.geography import open_districts

    sha = file_sha256(path)
    engine = _engine(database_url)
    try:
        with session_scope(engine) as session:
            done = session.scalars(select(ForecastRun).where(ForecastRun.sha256 == sha)).first()
        if done is not None:
            return ForecastOutcome(
                path=Path(path), sha256=sha, issued=done.issued, already_done=True
            )
        inputs = load_inputs(
            load_rules(rules_path), assets_path=assets_path, layer_store=layer_store
        )
        run = run_warnings(
            Path(path),
            rules_path=rules_path,
            districts=open_districts(districts_path),
            database_url=database_url,
            out_dir=Path(out_dir),
            assets=inputs.assets,  # type: ignore[arg-type]  # a GeoDataFrame or None
            layers=inputs.layers,
        )
        outcome = ForecastOutcome(
            path=Path(path),
            sha256=sha,
            issued=run.issued_at.isoformat(),
            messages=len(run.messages) - run.withdrawn,
            new_messages=run.new_messages,
            withdrawn=run.withdrawn,
            skipped_rules=run.skipped_rules,
            data_quality=list(run.data_quality),
        )
        with session_scope(engine) as session:
            session.add(
                ForecastRun(
                    sha256=sha,
                    path=str(path),
                    issued=outcome.issued,
                    messages=outcome.messages,
                    new_messages=outcome.new_messages,
                    withdrawn=outcome.withdrawn,
                    processed_at=datetime.now(UTC),
                )
            )
        return outcome
    finally:
        engine.dispose()


def deliver_once(
    database_url: str,
    config_path: Path,
    *,
    rules_path: Path | None = None,
    replay_from: str | None = None,
) -> DeliveryReport:
    """Run one delivery pass of the outbox (see :func:`~.delivery.deliver_due`).

    Parameters
    ----------
    database_url : str
        The alert database.
    config_path : Path
        Delivery configuration YAML (checked against the rule set's channels).
    rules_path : Path, optional
        Rule set (default: the shipped rules).
    replay_from : str, optional
        ISO 8601 time with offset at which to start the clock (replays of exercises); default
        the system clock.

    Returns
    -------
    DeliveryReport
    """
    from resilience.early_warning.delivery_config import load_delivery_config
    from resilience.early_warning.rules import load_rules

    config = load_delivery_config(Path(config_path), rules=load_rules(rules_path))
    clock = replay_clock(replay_from)
    engine = make_engine(database_url)
    try:
        return deliver_due(engine, config, clock=clock)
    finally:
        engine.dispose()
