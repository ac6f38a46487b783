"""``resilience cascade``: critical nodes and the service at risk through dependencies.

Reads the published RiskTable (``<data_dir>/risk/risk_table.parquet``, written by the refresh)
and the inventory it was computed from (named in ``risk_table.provenance.json``, or
``--inventory``), builds the dependency graph (:mod:`assets.dependencies`), adds the
service-loss columns (:mod:`assets.service_loss`) and prints, in tables that read at 80 columns,
the critical nodes and the expected number of metro stations, hospitals and water plants
losing service per hazard, scenario and horizon; it draws the network on geographic
positions (``docs/cascade.md``).

Start-up stays light: only typer and rich load with this module. Registered in
``resilience/cli/main.py``::

    from resilience.cli.cascade import cascade_command
    app.command("cascade")(cascade_command)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal, NoReturn

import typer
from rich import box
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    import geopandas as gpd
    import networkx as nx
    import pandas as pd

    from assets.dependencies import DependencyReport

__all__ = [
    "cascade_command",
    "format_critical_nodes",
    "format_header",
    "format_service_at_risk",
    "plot_cascade",
    "read_published_risk",
]

_SHORT_TYPE = {"metro_station": "stn", "hospital": "hosp", "water_plant": "water"}


def read_published_risk(
    risk_dir: Path, inventory: Path | None = None
) -> tuple[pd.DataFrame, gpd.GeoDataFrame, Path]:
    """Return the published RiskTable, its inventory and the inventory's path.

    Raises
    ------
    FileNotFoundError
        If the table, its provenance (when ``inventory`` is not given) or the inventory is
        missing, naming the file and what writes it.
    """
    from resilience.geodata.inventory_io import read_inventory
    from resilience.storage.risk_io import read_risk_table

    table_path = Path(risk_dir) / "risk_table.parquet"
    if not table_path.is_file():
        raise FileNotFoundError(
            f"{table_path}: no published risk table (run `resilience refresh` or `resilience "
            "demo` first, or give --risk-dir)"
        )
    if inventory is None:
        provenance = Path(risk_dir) / "risk_table.provenance.json"
        if not provenance.is_file():
            raise FileNotFoundError(f"{provenance}: missing; give the inventory with --inventory")
        named = json.loads(provenance.read_text()).get("inventory", {}).get("path")
        if not named:
            raise FileNotFoundError(f"{provenance}: names no inventory; give --inventory")
        inventory = Path(named)
    if not Path(inventory).is_file():
        raise FileNotFoundError(f"{inventory}: inventory not found; give --inventory")
    return read_risk_table(table_path), read_inventory(Path(inventory)), Path(inventory)


def format_critical_nodes(
    critical: pd.DataFrame, table: pd.DataFrame, *, scenario: str, horizon: str, top: int
) -> Table:
    """Return the ``top`` critical nodes with their direct probability in one climate.

    ``down`` counts all assets that lose service when the node fails, ``stn``, ``hosp`` and
    ``water`` the metro stations, hospitals and water plants among them; ``p`` is the
    node's largest direct probability over hazards in ``scenario`` and ``horizon``;
    ``exp. lost`` = p x down, the expected number of assets losing service through it.
    """
    rows = table[(table["scenario"] == scenario) & (table["horizon"] == horizon)]
    basis = table.attrs.get("service_loss", {}).get("basis", "annual")
    direct = rows.groupby("asset_id")[f"{basis}_exceedance_probability"].max()
    out = Table(
        title=f"Critical nodes ({scenario}, {horizon}; p {basis.replace('_', ' ')})",
        title_justify="left",
        box=box.SIMPLE_HEAD,
    )
    out.add_column("asset", no_wrap=True)
    out.add_column("type", no_wrap=True)
    for name in ("down", "stn", "hosp", "water", "p", "exp. lost"):
        out.add_column(name, justify="right", no_wrap=True)
    for _, node in critical.head(top).iterrows():
        p = float(direct.get(node["asset_id"], float("nan")))
        out.add_row(
            str(node["asset_id"]),
            str(node["asset_type"]),
            str(node["downstream_assets"]),
            str(node["downstream_metro_station"]),
            str(node["downstream_hospital"]),
            str(node["downstream_water_plant"]),
            f"{p:.3f}",
            f"{p * node['downstream_assets']:.1f}",
        )
    return out


def _horizon_rank(horizon: str) -> tuple[int, str]:
    """Order AR6 horizons in time (docs/design.md), others after them by name."""
    order = ("baseline", "near", "mid", "far")
    return (order.index(horizon) if horizon in order else len(order), horizon)


def format_service_at_risk(summary: pd.DataFrame, hazard: str) -> Table:
    """Return one hazard's expected services lost per scenario and horizon.

    For each service (``/N``: the number of such assets), ``direct`` is the expected number
    failing by their own hazard and ``cascade`` the expected number losing service with
    their dependencies, as the dependent-independent bounds.
    """
    rows = summary[summary["hazard"] == hazard]
    out = Table(
        title=f"Service at risk, {hazard}: expected assets losing service",
        title_justify="left",
        caption="direct: own hazard only; cascade: with dependencies (dependent-independent)",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    out.add_column("climate", no_wrap=True)
    types = [t for t in _SHORT_TYPE if t in set(rows["asset_type"])]
    for asset_type in types:
        count = int(rows.loc[rows["asset_type"] == asset_type, "assets"].max())
        out.add_column(f"{_SHORT_TYPE[asset_type]}/{count}", justify="right", no_wrap=True)
        out.add_column("cascade", justify="right", no_wrap=True)
    groups = dict(list(rows.groupby(["scenario", "horizon"], sort=True)))
    for scenario, horizon in sorted(groups, key=lambda k: (k[0], _horizon_rank(k[1]))):
        group = groups[(scenario, horizon)]
        cells = []
        for asset_type in types:
            one = group[group["asset_type"] == asset_type].iloc[0]
            digits = 0 if one["assets"] >= 100 else 1  # keeps the table within 80 columns
            mark = "*" if one["unknown"] else ""  # sums over the known assets only
            cells += [
                f"{one['direct']:.{digits}f}",
                f"{one['lower']:.{digits}f}-{one['upper']:.{digits}f}{mark}",
            ]
        out.add_row(f"{scenario} {horizon}", *cells)
    if int(rows["unknown"].max()) > 0:
        out.caption = (
            f"{out.caption}; *: up to {int(rows['unknown'].max())} assets of unknown "
            "probability (outside a layer) left out of the sums"
        )
    return out


def plot_cascade(
    graph: nx.DiGraph,
    assets: gpd.GeoDataFrame,
    table: pd.DataFrame,
    path: Path,
    *,
    scenario: str,
    horizon: str,
) -> Path:
    """Draw the network on geographic positions, coloured by service-loss probability.

    Node colour = the largest ``service_loss_probability`` over hazards in ``scenario`` and
    ``horizon``; size grows with the node's downstream assets. Written atomically as PNG.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import networkx as nx
    import numpy as np

    from resilience.storage.atomic import atomic_path

    points = assets.set_index(assets["asset_id"].astype(str)).geometry.representative_point()
    positions = {n: (points[n].x, points[n].y) for n in graph if n in points.index}
    rows = table[(table["scenario"] == scenario) & (table["horizon"] == horizon)]
    loss = rows.groupby("asset_id")["service_loss_probability"].max()
    nodes = list(positions)
    colour = np.array([float(loss.get(n, np.nan)) for n in nodes])
    size = np.array([6 + 3 * np.sqrt(len(nx.descendants(graph, n))) for n in nodes]) ** 1.5
    figure, axes = plt.subplots(figsize=(8, 8))
    nx.draw_networkx_edges(
        graph, positions, ax=axes, edgelist=[e for e in graph.edges if set(e) <= set(nodes)],
        width=0.4, alpha=0.35, arrows=False, edge_color="0.5",
    )  # fmt: skip
    drawn = nx.draw_networkx_nodes(
        graph, positions, nodelist=nodes, node_color=colour, node_size=size, cmap="viridis",
        vmin=0.0, vmax=max(float(np.nanmax(colour)) if np.isfinite(colour).any() else 1.0, 1e-6),
        ax=axes,
    )  # fmt: skip
    labelled = {n: n for n in nodes if graph.out_degree(n) and len(nx.descendants(graph, n)) >= 20}
    nx.draw_networkx_labels(graph, positions, labels=labelled, font_size=7, ax=axes)
    figure.colorbar(drawn, ax=axes, shrink=0.7, label="service-loss probability (max over hazards)")
    axes.set_title(f"Dependency network, {scenario} {horizon}")
    axes.set_xlabel("longitude (degrees east)")
    axes.set_ylabel("latitude (degrees north)")
    axes.set_aspect(1 / np.cos(np.radians(np.mean([p[1] for p in positions.values()]))))
    axes.tick_params(left=True, bottom=True, labelleft=True, labelbottom=True)
    path = Path(path)
    with atomic_path(path) as temporary:
        figure.savefig(temporary, format="png", dpi=110, bbox_inches="tight")
    plt.close(figure)
    return path


def format_header(
    graph: nx.DiGraph, report: DependencyReport, inventory: Path, *, attrs: dict
) -> list[str]:
    """Return the header lines: the inventory, the graph's findings and the rule in force.

    Cycles are only counted (the sample's metro stretches are cycles by design); unknown
    ids and assets of unknown supply are listed (the first five).
    """
    settings = attrs["service_loss"]
    bound = "" if settings["upper_exact"] else " (upper propagated: an upper bound)"
    lines = [
        f"Inventory: {inventory}",
        f"{graph.number_of_nodes()} assets, {graph.number_of_edges()} dependencies, "
        f"{len(report.cycles)} cycles (each fails as one), {len(report.unsupplied)} of "
        "unknown supply",
        f"Rule: {settings['rule']}; bounds dependent-independent{bound}; basis {settings['basis']}",
    ]
    findings = [m for m in report.messages() if not m.startswith("cycle of")]
    return lines + [f"note: {m}" for m in findings[:5]]


def _pick(values: pd.Series, wanted: str | None, preferred: str, what: str) -> str:
    present = sorted(set(values.astype(str)))
    if wanted is not None:
        if wanted not in present:
            _fail(f"--{what} {wanted!r} is not in the risk table; expected one of {present}")
        return wanted
    return preferred if preferred in present else present[-1]


def cascade_command(
    risk_dir: Annotated[
        Path | None,
        typer.Option("--risk-dir", help="Published risk table folder (default <data_dir>/risk)."),
    ] = None,
    inventory: Annotated[
        Path | None,
        typer.Option("--inventory", help="Inventory file (default: the table's provenance)."),
    ] = None,
    rule: Annotated[
        str, typer.Option("--rule", help="Headline bound: dependent (default) or independent.")
    ] = "dependent",
    basis: Annotated[
        str, typer.Option("--basis", help="Direct probability: annual (default) or design_life.")
    ] = "annual",
    scenario: Annotated[
        str | None, typer.Option("--scenario", help="Climate of the node table and figure.")
    ] = None,
    horizon: Annotated[
        str | None, typer.Option("--horizon", help="Horizon of the node table and figure.")
    ] = None,
    top: Annotated[int, typer.Option("--top", help="Critical nodes shown.")] = 10,
    figure: Annotated[
        Path | None, typer.Option("--figure", help="Network figure, PNG (default cascade.png).")
    ] = Path("cascade.png"),
    no_figure: Annotated[bool, typer.Option("--no-figure", help="Draw no figure.")] = False,
    config: Annotated[
        Path | None, typer.Option("--config", help="Settings TOML file (default: resilience.toml).")
    ] = None,
) -> None:
    """Critical nodes and the service at risk through dependencies, per scenario and horizon."""
    from assets.dependencies import build_dependency_graph, check_dependencies, rank_critical_nodes
    from assets.service_loss import add_service_loss, service_at_risk
    from hazard_models.layer import SchemaError

    if rule not in ("dependent", "independent") or basis not in ("annual", "design_life"):
        _fail("--rule must be dependent or independent; --basis annual or design_life")
    if risk_dir is None:
        from resilience.settings import SettingsError, get_settings

        try:
            risk_dir = get_settings(config).risk_dir
        except (FileNotFoundError, SettingsError) as error:
            _fail(str(error))
    try:
        table, assets, inventory_path = read_published_risk(risk_dir, inventory)
        graph = build_dependency_graph(assets)
        chosen_rule: Literal["dependent", "independent"] = (
            "independent" if rule == "independent" else "dependent"
        )
        chosen_basis: Literal["annual", "design_life"] = (
            "design_life" if basis == "design_life" else "annual"
        )
        table = add_service_loss(table, graph, rule=chosen_rule, basis=chosen_basis)
    except (FileNotFoundError, SchemaError, ValueError) as error:
        _fail(str(error))
    report = check_dependencies(assets)
    scenario = _pick(table["scenario"], scenario, "ssp585", "scenario")
    horizon = _pick(table["horizon"], horizon, "far", "horizon")
    console = Console(width=80)
    for line in format_header(graph, report, inventory_path, attrs=table.attrs):
        console.print(line, highlight=False)
    critical = rank_critical_nodes(graph)
    nodes = format_critical_nodes(critical, table, scenario=scenario, horizon=horizon, top=top)
    console.print(nodes)
    summary = service_at_risk(table)
    for hazard in sorted(set(summary["hazard"])):
        console.print(format_service_at_risk(summary, hazard))
    if figure is not None and not no_figure:
        written = plot_cascade(graph, assets, table, figure, scenario=scenario, horizon=horizon)
        console.print(f"figure: {written}", highlight=False)


def _fail(message: str) -> NoReturn:
    from rich.markup import escape

    Console(stderr=True, soft_wrap=True).print(f"[bold red]error:[/] {escape(message)}")
    raise typer.Exit(code=2)
