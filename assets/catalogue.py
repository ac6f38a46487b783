"""Catalogue of asset types: the design standards and sensitivities each type carries.

Every number cites its source; values that ``docs/domain.md`` (shared brief) marks
UNCONFIRMED are flagged ``confirmed=False`` here. They are defaults only: an inventory row or a
feasibility submission may override each standard, and ``with_overrides`` builds a changed
catalogue from a user's table.

Sources
-------
[GB50068]  GB 50068 (unified standard for reliability design of building structures): design
           working life 50 yr for ordinary, 100 yr for monumental/especially important works.
[SHDRAIN]  Shanghai urban rainwater drainage plan 2020-2035 (approved 2020-06-17): pipes 3-5 yr,
           underpasses and sunken plazas >= 30 yr, waterlogging prevention 50-100 yr.
[IEEE]     IEEE C57.12.00-2010: oil-immersed transformers, usual service ambient <= 40 degC.
[CMA]      CMA high-temperature signals: 35 / 37 / 40 degC (domain.md 1.2).
[JRC]      Huizinga, de Moel & Szewczyk (2017), Global flood depth-damage functions,
           EUR 28552 EN, doi:10.2760/16510 -- Asia curves.
[EU2021]   Commission Notice 2021/C 373/01, climate proofing: sensitivity High/Medium/Low.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Literal

__all__ = ["ASSET_TYPES", "AssetType", "DamageCurveName", "asset_type", "with_overrides"]

DamageCurveName = Literal["residential", "commercial", "industrial", "roads"]
Sensitivity = Literal[1, 2, 3]  # 1 low, 2 medium, 3 high [EU2021]


@dataclass(frozen=True)
class AssetType:
    """Design standards and sensitivities of one asset type.

    Attributes
    ----------
    name : str
        Identifier used in the ``asset_type`` column.
    label : str
        Human-readable name.
    heat_threshold_degc : float
        Annual-maximum daily Tmax (degC) above which operation is impaired.
    drainage_return_period_years : float
        Return period (yr) of the daily rainfall the site's drainage is designed for; the
        standard is that period's baseline level at the site.
    damage_curve : {"residential", "commercial", "industrial", "roads"}
        JRC Asia depth-damage curve used for flood damage [JRC].
    design_life_years : int
        Default design working life [GB50068].
    sensitivity : mapping of hazard to 1-3
        Sensitivity to ``heat``, ``rain`` and ``surge`` [EU2021 method; values are ours].
    confirmed : bool
        False when a default above rests on an UNCONFIRMED fact (see ``sources``).
    sources : str
        Source keys (module docstring) and notes for the values.
    """

    name: str
    label: str
    heat_threshold_degc: float
    drainage_return_period_years: float
    damage_curve: DamageCurveName
    design_life_years: int
    sensitivity: Mapping[str, Sensitivity] = field(default_factory=dict)
    confirmed: bool = True
    sources: str = ""


ASSET_TYPES: dict[str, AssetType] = {
    t.name: t
    for t in (
        AssetType(
            "metro_station",
            "Metro station",
            40.0,
            100,
            "commercial",
            100,
            {"heat": 2, "rain": 3, "surge": 3},
            confirmed=False,
            sources="[SHDRAIN] 50-100 yr waterlogging prevention (upper value for underground "
            "stations); 100-yr design life for metro is UNCONFIRMED (domain.md 5.4); 40 degC "
            "ventilation/cooling limit is UNCONFIRMED.",
        ),
        AssetType(
            "railway_station",
            "Railway station",
            40.0,
            50,
            "commercial",
            100,
            {"heat": 2, "rain": 2, "surge": 2},
            confirmed=False,
            sources="[SHDRAIN] 50 yr; [GB50068] 100 yr for especially important works; heat "
            "limit UNCONFIRMED.",
        ),
        AssetType(
            "airport",
            "Airport",
            40.0,
            50,
            "commercial",
            100,
            {"heat": 2, "rain": 2, "surge": 3},
            confirmed=False,
            sources="[SHDRAIN] 50 yr; heat limit (runway/aircraft performance) UNCONFIRMED.",
        ),
        AssetType(
            "hospital",
            "Hospital",
            35.0,
            100,
            "commercial",
            50,
            {"heat": 3, "rain": 2, "surge": 3},
            confirmed=False,
            sources="[CMA] 35 degC high-temperature threshold for patients' heat stress; "
            "[GB50068] 50 yr; hospital flood standard UNCONFIRMED (domain.md 5.2).",
        ),
        AssetType(
            "substation",
            "Power substation",
            40.0,
            100,
            "industrial",
            50,
            {"heat": 3, "rain": 2, "surge": 3},
            sources="[IEEE] 40 degC ambient limit for oil-immersed transformers; [SHDRAIN]; "
            "[GB50068] 50 yr.",
        ),
        AssetType(
            "water_plant",
            "Water treatment plant",
            40.0,
            50,
            "industrial",
            50,
            {"heat": 1, "rain": 2, "surge": 3},
            confirmed=False,
            sources="[SHDRAIN] 50 yr; [GB50068] 50 yr; heat limit UNCONFIRMED.",
        ),
        AssetType(
            "tunnel",
            "Road or river tunnel",
            40.0,
            30,
            "roads",
            100,
            {"heat": 1, "rain": 3, "surge": 3},
            confirmed=False,
            sources="[SHDRAIN] >= 30 yr for underpasses; 100-yr tunnel design life UNCONFIRMED.",
        ),
        AssetType(
            "bridge",
            "Bridge",
            40.0,
            5,
            "roads",
            100,
            {"heat": 2, "rain": 1, "surge": 2},
            confirmed=False,
            sources="[SHDRAIN] 3-5 yr pipe drainage; 100-yr bridge design life UNCONFIRMED.",
        ),
    )
}


def asset_type(name: str) -> AssetType:
    """Return the catalogue entry for ``name``.

    Raises
    ------
    KeyError
        If the type is unknown; the message lists the known types.
    """
    try:
        return ASSET_TYPES[name]
    except KeyError:
        raise KeyError(
            f"unknown asset_type {name!r}: expected one of {sorted(ASSET_TYPES)}"
        ) from None


def with_overrides(overrides: Mapping[str, Mapping[str, object]]) -> dict[str, AssetType]:
    """Return a copy of the catalogue with some fields replaced per type.

    Parameters
    ----------
    overrides : mapping
        ``{asset_type: {field: value}}``, e.g. ``{"metro_station": {"heat_threshold_degc": 38}}``.

    Raises
    ------
    KeyError
        For an unknown asset type or field.
    """
    catalogue = dict(ASSET_TYPES)
    for name, fields in overrides.items():
        base = asset_type(name)
        unknown = set(fields) - set(base.__dataclass_fields__)
        if unknown:
            raise KeyError(f"asset_type {name!r}: unknown fields {sorted(unknown)}")
        catalogue[name] = replace(base, **fields)  # type: ignore[arg-type]
    return catalogue
