"""Who supplies whom in the sample inventory: ``depends_on`` and its ``depends_on_source``.

No operator's supply map is public, so every link is an assumption, and each row says
which (docs/cascade.md, section 3): the nearest substation in the data (500 kV only), the
nearest drinking-water treatment plant for hospitals, and, for metro stations inside a
stretch of one line (between transfer, terminal or branch stations), their neighbours on
the stretch both ways, so that a stretch is a cycle that fails as one
(``assets.dependencies``).
"""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pandas as pd

from assets.dependencies import supply_needs
from resilience.geodata.geography import data_path

__all__ = ["sample_dependencies"]

#: Drinking-water treatment plants of the facilities table (public knowledge: the plants of
#: Shanghai Chengtou Water Group; the reservoirs supply raw water, the Bailonggang and Zhuyuan
#: plants treat wastewater), which hospitals draw on (docs/cascade.md).
_DRINKING_WATER_PLANTS = frozenset(
    {"water-yangshupu", "water-changqiao", "water-linjiang", "water-nanshi", "water-minhang"}
)
#: depends_on_source of each rule: every link is an assumption (no operator's supply map).
_SOURCE_POWER = (
    "assumed: nearest substation in the data (500 kV; the 110/220 kV and traction "
    "substations that feed it are not in the data)"
)
_SOURCE_WATER = "assumed: nearest drinking-water treatment plant"
_SOURCE_STRETCH = (
    "assumed: adjacent stations of its stretch between transfer or terminal stations (a "
    "flooded station closes the stretch; station order from the metro file)"
)
_SOURCE_NONE = "none recorded: substations' grid and bridges' needs are not in the data"


def _nearest(frame: pd.DataFrame, targets: pd.DataFrame) -> np.ndarray:
    """Return the asset_id of the nearest row of ``targets`` for every row of ``frame``."""
    lon, lat = frame["lon"].to_numpy(float), frame["lat"].to_numpy(float)
    target_lon, target_lat = targets["lon"].to_numpy(float), targets["lat"].to_numpy(float)
    cos_lat = np.cos(np.radians((lat[:, None] + target_lat[None, :]) / 2))
    dx = np.radians(target_lon[None, :] - lon[:, None]) * cos_lat
    dy = np.radians(target_lat[None, :] - lat[:, None])
    nearest = np.hypot(dx, dy).argmin(axis=1)  # local equirectangular distance
    return targets["asset_id"].to_numpy()[nearest]


def _metro_stretch_links(
    frame: pd.DataFrame, distinct_same_name: frozenset[str]
) -> dict[str, list[str]]:
    """Return, per interior metro station, its adjacent interior stations on the same line.

    A stretch is a run of stations between two boundary stations of one line: a transfer
    station (several lines), a terminal or a branch point (not two neighbours on the line),
    where trains are ASSUMED to turn back. Linking the interior stations of a stretch both
    ways makes the stretch one strongly connected component, which fails as one
    (docs/cascade.md): a flooded station, or its lost supply, closes its stretch.
    """
    raw = pd.read_csv(data_path("assets", "shanghai_metro_stations_2017.csv"))
    metro = frame[frame["asset_type"] == "metro_station"]
    ids: dict[str, str] = {}
    for asset_id, name, lines in zip(
        metro["asset_id"], metro["name_zh"], metro["lines"], strict=True
    ):
        ids[f"{name}#{lines}" if name in distinct_same_name else name] = asset_id
    raw["asset_id"] = [
        ids.get(f"{n}#{line}" if n in distinct_same_name else n)
        for n, line in zip(raw["station_name_zh"], raw["line_no"], strict=True)
    ]
    raw = raw.dropna(subset=["asset_id"]).sort_values(["line_direction_name", "seq"])
    pairs: set[tuple[int, str, str]] = set()
    for (line, _), run in raw.groupby(["line_no", "line_direction_name"]):
        stops = run["asset_id"].tolist()
        pairs |= {(int(line), min(a, b), max(a, b)) for a, b in pairwise(stops) if a != b}
    neighbours: dict[tuple[int, str], set[str]] = {}
    for line, a, b in pairs:
        neighbours.setdefault((line, a), set()).add(b)
        neighbours.setdefault((line, b), set()).add(a)
    transfer = set(metro.loc[metro["lines"].str.contains(";"), "asset_id"])
    interior = {
        key for key, near in neighbours.items() if len(near) == 2 and key[1] not in transfer
    }
    links: dict[str, list[str]] = {}
    for line, station in sorted(interior):
        near = sorted(n for n in neighbours[(line, station)] if (line, n) in interior)
        links.setdefault(station, []).extend(near)
    return links


def sample_dependencies(
    frame: pd.DataFrame, *, distinct_same_name: frozenset[str] = frozenset()
) -> tuple[list[list[str]], list[str]]:
    """Return ``depends_on`` and ``depends_on_source`` of the sample's assets.

    Each asset needs the nearest asset of each type :func:`assets.dependencies.supply_needs`
    names for its type (every type but substations and bridges: the nearest substation;
    hospitals also the nearest drinking-water treatment plant); an interior metro station
    needs the adjacent interior stations of its stretch (:func:`_metro_stretch_links`). All
    assumed.

    Parameters
    ----------
    frame : pandas.DataFrame
        The sample's assets with ``asset_id``, ``asset_type``, ``lon`` and ``lat``
        (degrees, WGS-84) and, for metro stations, ``name_zh`` and ``lines`` (``"1;2"``).
    distinct_same_name : frozenset of str
        Chinese station names shared by separate stations (their key is ``name#line``, as
        in ``resilience.sample.inventory``).

    Returns
    -------
    (list of list of str, list of str)
        Per row, the asset_ids it needs and the reason (``"assumed: ..."``).
    """
    power = _nearest(frame, frame[frame["asset_type"] == "substation"])
    water = _nearest(frame, frame[frame["asset_id"].isin(_DRINKING_WATER_PLANTS)])
    stretch = _metro_stretch_links(frame, distinct_same_name)
    depends: list[list[str]] = []
    sources: list[str] = []
    rows = zip(frame["asset_id"], frame["asset_type"], power, water, strict=True)
    for asset_id, asset_type, substation, plant in rows:
        needs = supply_needs(asset_type)  # the one rule, assets.dependencies.SUPPLY_NEEDS
        links, why = [], []
        if "substation" in needs:
            links.append(str(substation))
            why.append(_SOURCE_POWER)
        if "water_plant" in needs:
            links.append(str(plant))
            why.append(_SOURCE_WATER)
        if asset_id in stretch:
            links.extend(stretch[asset_id])
            why.append(_SOURCE_STRETCH)
        depends.append(links)
        sources.append("; ".join(why) if why else _SOURCE_NONE)
    return depends, sources
