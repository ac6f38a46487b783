"""The demo's closing summary: headline numbers, then every output path."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

__all__ = ["headline_rows", "print_demo_summary"]

# People's Square, the urban centre (domain.md: metro spot check 121.4706 E, 31.2349 N).
CENTRE_LON, CENTRE_LAT = 121.47, 31.23
HEADLINES: tuple[tuple[str, str, dict[str, object], str], ...] = (
    ("heat", "tx_days_above_35", {}, "days/yr Tmax >= 35 degC"),
    ("heat", "txx", {"return_period": 20}, "20-yr Tmax, degC"),
    ("heat", "tropical_nights", {}, "nights/yr Tmin >= 25 degC"),
    ("rain", "rx1day", {"return_period": 20}, "20-yr Rx1day, mm/day"),
    (
        "idf",
        "idf_intensity",
        {"return_period": 5, "duration": 60},
        "5-yr 1-h design rain, mm/h",
    ),
    (
        "surge",
        "still_water_level",
        {"return_period": 100, "station": "huangpu_park"},
        "100-yr still water, m Wusong",
    ),
)


def headline_rows(layers: dict[str, Any], scenarios: tuple[str, ...] = ("ssp245", "ssp585")):
    """Yield (label, baseline, {scenario: far-horizon value}) from opened layers (median)."""
    for hazard, variable, selection, label in HEADLINES:
        layer = layers.get(hazard)
        if layer is None or variable not in layer:
            continue
        data = layer[variable]
        if "lat" in data.dims:
            data = data.sel(lat=CENTRE_LAT, lon=CENTRE_LON, method="nearest")
        if "quantile" in data.dims:
            data = data.sel(quantile=0.5, method="nearest")
        for dim, value in selection.items():
            if dim in data.dims:
                data = data.sel({dim: value})
        present = [s for s in scenarios if s in data["scenario"].values]
        if not present:
            continue
        base = float(data.sel(scenario=present[0], horizon="baseline"))
        far = {s: float(data.sel(scenario=s, horizon="far")) for s in present}
        yield label, base, far


def print_demo_summary(console: Console, result: Any, *, elapsed_s: float) -> None:
    """Print what the demo produced: headline hazards, risk, check, warnings and paths."""
    from resilience.storage.layer_store import LayerStore

    store = LayerStore(result.refresh.layers["heat"].parents[2])
    layers = {name: store.open(name) for name in store.names()}
    hazards = Table(
        title="Hazards: baseline (1995-2014) vs far horizon (2081-2100), median",
        caption=f"at the centre ({CENTRE_LON} E, {CENTRE_LAT} N); still water at Huangpu Park",
    )
    hazards.add_column("metric")
    hazards.add_column("baseline", justify="right")
    hazards.add_column("ssp245 far", justify="right")
    hazards.add_column("ssp585 far", justify="right")
    for label, base, far in headline_rows(layers):
        hazards.add_row(
            label, f"{base:.2f}", *(f"{far.get(s, float('nan')):.2f}" for s in ("ssp245", "ssp585"))
        )
    console.print(hazards)
    adjustment = result.refresh.projections.bias_adjustment
    if adjustment:
        console.print(f"Projections bias-adjusted: {adjustment}", highlight=False, soft_wrap=True)
    synthetic = result.refresh.risk.synthetic
    console.print(
        f"Inputs: synthetic = {synthetic} (every layer, the risk table, the check and each CAP "
        "message say so; sample/SAMPLE.json lists what is real)",
        highlight=False,
        soft_wrap=True,
    )
    risk = result.refresh.risk
    console.print(f"Risk: {risk.rows} rows for {risk.assets} assets. Assets rated very high:")
    for hazard, counts in sorted(risk.very_high.items()):
        text = ", ".join(f"{label} {n}" for label, n in counts.items())
        console.print(f"  {hazard:<6} {text}", highlight=False, soft_wrap=True)
    check = result.check
    score = "n/a" if check.score is None else f"{check.score:.0f}/25"
    console.print(
        f"Feasibility check #{check.check_id}: verdict [bold]{check.verdict}[/], score {score}"
    )
    counts = ", ".join(f"{n} {kind}" for kind, n in sorted(result.warnings.by_type.items()))
    console.print(f"Warnings: {result.warnings.messages} CAP 1.2 messages ({counts})")
    for line in result.warnings.digest:
        console.print(f"  {line}", highlight=False, soft_wrap=True)
    if result.observed:
        console.print("Observed (real records shipped in resilience/data/observed):")
        for line in result.observed:
            console.print(f"  {line}", highlight=False, soft_wrap=True)
    rows = [(f"hazard layer ({name})", path) for name, path in result.refresh.layers.items()]
    rows += [
        ("risk table (GeoParquet)", risk.parquet),
        ("risk table (GeoPackage)", risk.gpkg),
        ("risk table (CSV)", risk.csv),
        ("feasibility report (HTML)", check.html),
        ("feasibility result (JSON)", check.json_path),
        ("feasibility report (PDF)", check.pdf),
        ("CAP 1.2 messages", result.warnings.out_dir),
        ("sample inputs", result.sample_dir),
        ("city profile", result.refresh.profile),
    ]
    console.print(f"\n[bold]Outputs[/] (demo finished in {elapsed_s:.0f} s):")
    for label, path in rows:
        if path is not None:  # e.g. no PDF when the report was written without one
            console.print(f"  {label:<26} {path}", highlight=False, soft_wrap=True)
    if risk.exports_skipped:
        console.print(f"  {'risk table exports':<26} {risk.exports_skipped}", highlight=False)
