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
[CMA]      CMA high-temperature signals: 35 / 37 / 40 degC (domain.md 1.2); a day with Tmax
           >= 35 degC is a high-temperature day (高温日).
[SHHEAT]   Shanghai days >= 35 degC a year (domain.md 4.4): pre-2010 normal about 9 d, 2010
           (central urban) 30 d, 2022 50 d, record 55 d (1934).
[JRC]      Huizinga, de Moel & Szewczyk (2017), Global flood depth-damage functions,
           EUR 28552 EN, doi:10.2760/16510 -- Asia curves.
[EU2021]   Commission Notice 2021/C 373/01, climate proofing: sensitivity High/Medium/Low.
[SEAWALL]  Shanghai seawall standards (shared domain.md 2.2): 100-yr tide + force-11/12 wind
           after the 1997-2002 upgrade; 82.8 of 116.3 km of Pudong's main seawall >= 200-yr.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Literal

__all__ = [
    "ASSET_TYPES",
    "HEAT_STANDARD_BASIS",
    "AssetType",
    "DamageCurveName",
    "HeatStandard",
    "asset_type",
    "with_overrides",
]

DamageCurveName = Literal["residential", "commercial", "industrial", "roads"]
#: What a heat standard means. ``equipment``: a design temperature compared with the annual
#: maximum of daily Tmax (TXx), annual p = P(TXx > standard) from the pooled GEV.
#: ``hot_days``: a number of days per year with Tmax >= ``heat_threshold_degc`` that a
#: building's cooling and heat-stress plans are designed for, annual p = P(a year's count >
#: standard) (``assets.hot_days``).
HeatStandard = Literal["equipment", "hot_days"]
#: Plain-language basis of each kind of heat standard (HazardRow.standard_basis).
HEAT_STANDARD_BASIS: dict[str, str] = {
    "equipment": "equipment design temperature (degC) against the annual maximum of daily "
    "Tmax (TXx), pooled GEV",
    "hot_days": "days per year with daily Tmax >= {threshold:g} degC that the building's "
    "cooling and heat-stress plans are designed for, against the year's count (negative "
    "binomial around the layer's mean)",
}
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
        ``equipment``: the design temperature, annual-maximum daily Tmax (degC) above which
        operation is impaired. ``hot_days``: the daily Tmax (degC) that makes a day hot
        (35 degC [CMA]; the heat layer has counts for 35, 37 and 40 degC).
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
    heat_standard : {"equipment", "hot_days"}
        What the heat standard means (:data:`HeatStandard`).
    heat_days_standard : float or None
        ``hot_days`` only: days per year with Tmax >= ``heat_threshold_degc`` the design
        is planned for.
    heat_basis : str
        Source of the heat semantics and of the default standard.
    hazards : tuple of str
        Hazards a check of this type answers; the others are reported as not applicable
        (a seawall is judged on surge only: its heat and drainage are not what it is for).
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
    heat_standard: HeatStandard = "equipment"
    heat_days_standard: float | None = None
    heat_basis: str = ""
    hazards: tuple[str, ...] = ("heat", "rain", "surge")


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
            heat_basis="station ventilation and cooling design temperature against TXx; "
            "40 degC is UNCONFIRMED",
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
            heat_basis="station equipment design temperature against TXx; 40 degC is UNCONFIRMED",
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
            heat_basis="runway and aircraft performance temperature against TXx; 40 degC is "
            "UNCONFIRMED",
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
            sources="[CMA] 35 degC high-temperature day; [SHHEAT] 30 d/yr design count "
            "(project choice); "
            "[GB50068] 50 yr; hospital flood standard UNCONFIRMED (domain.md 5.2).",
            heat_standard="hot_days",
            heat_days_standard=30.0,
            heat_basis="[CMA] a hot day is Tmax >= 35 degC; the building's cooling plant and "
            "heat-stress plans are designed for 30 such days a year, the 2010 central-urban "
            "count [SHHEAT], about three times the pre-2010 normal (9 d) and below the 2022 "
            "(50 d) and 1934 (55 d) records: a project choice, UNCONFIRMED as a hospital "
            "standard",
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
            heat_basis="[IEEE] C57.12.00: oil-immersed transformers rated for an ambient of "
            "at most 40 degC, against TXx",
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
            heat_basis="plant equipment design temperature against TXx; 40 degC is UNCONFIRMED",
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
            heat_basis="ventilation and equipment design temperature against TXx; 40 degC is "
            "UNCONFIRMED",
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
            heat_basis="bearing and expansion-joint design temperature against TXx; 40 degC "
            "is UNCONFIRMED",
        ),
        AssetType(
            "seawall",
            "Seawall or floodwall",
            40.0,
            5,
            "roads",
            100,
            {"heat": 1, "rain": 1, "surge": 3},
            confirmed=False,
            sources="[SEAWALL] Shanghai seawalls since the 1997-2002 upgrade: 100-yr high tide "
            "+ force-11/12 wind-waves, mid/long-term target 200-yr (domain.md 2.2); the crest "
            "level is the submission's protection_level_m; 100-yr design life UNCONFIRMED.",
            heat_basis="not applicable: a seawall is checked for surge only",
            hazards=("surge",),
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
