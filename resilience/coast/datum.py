"""Explicit conversion of heights between the vertical datums used in Shanghai.

Shanghai water levels, floodwall crests and ground levels are quoted on the **Wusong datum**
(吴淞基面, zero near the lowest tides at Wusongkou 1871-1900); national storm-surge
bulletins use the **1985 national height datum** (1985国家高程基准, mean sea level at Qingdao
1952-1979), and older maps the **1956 Yellow Sea** datum (domain.md, conventions). Nothing
in the engine converts between them implicitly: a caller names both datums, and the offsets
come from a :class:`DatumOffsets` it can replace.

Offsets (height on 1985 = height on D - zero_below_1985[D]):

* 1956 Yellow Sea: its zero lies 0.029 m below the 1985 zero (national survey bureau, 1987:
  the 1985 datum is 29 mm above the 1956 mean sea level). Widely quoted; not checked against
  the primary notice here.
* Wusong: **UNCONFIRMED** (domain.md open item 4: do not convert without the official
  offset). The default 1.717 m is the most widely quoted conversion ("1985 height = Wusong
  height - 1.717 m", equivalently Wusong = 1956 Yellow Sea + 1.688 m; baiwen13.com/article/
  242591.html, quoting Baidu Baike "1985国家高程基准"). Other published values for Shanghai
  differ: 1.6297 m below the 1956 zero (i.e. 1.6587 m below the 1985 zero; a 2020 compiled
  note at 360docs.net/doc/455146900.html, which also warns that the Wusong system "differs
  from place to place") and 1.953 m (same note, a chain via the abandoned Yellow River zero).
  The spread, about 0.06 m between the two Shanghai-style values, is larger than a decade of
  sea-level rise. Pass the official offset as ``DatumOffsets(wusong_below_1985_m=...)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, TypeVar

import numpy as np
import pandas as pd
import xarray as xr

from hazard_models.layer import SchemaError, append_history

__all__ = [
    "DEFAULT_OFFSETS",
    "DEFAULT_WUSONG_BELOW_1985_M",
    "DATUMS",
    "Datum",
    "DatumOffsets",
    "canonical_datum",
    "convert_height",
    "convert_layer_datum",
    "datum_shift_m",
]

Datum = Literal["Wusong", "1985 national", "1956 Yellow Sea"]
DATUMS: tuple[str, ...] = ("Wusong", "1985 national", "1956 Yellow Sea")
#: Depth of the Wusong zero below the 1985 zero, m. UNCONFIRMED (see module docstring).
DEFAULT_WUSONG_BELOW_1985_M = 1.717
#: Depth of the 1956 Yellow Sea zero below the 1985 zero, m (national survey bureau, 1987).
YELLOW_SEA_1956_BELOW_1985_M = 0.029
_ALIASES = {
    "wusong": "Wusong",
    "吴淞": "Wusong",
    "吴淞基面": "Wusong",
    "1985": "1985 national",
    "85": "1985 national",
    "1985 national": "1985 national",
    "national 1985": "1985 national",
    "1985国家高程基准": "1985 national",
    "1956": "1956 Yellow Sea",
    "1956 yellow sea": "1956 Yellow Sea",
    "yellow sea 1956": "1956 Yellow Sea",
}
Heights = TypeVar("Heights", float, np.ndarray, pd.Series, xr.DataArray)


@dataclass(frozen=True)
class DatumOffsets:
    """How far each datum's zero lies below the 1985 national zero, m.

    ``confirmed`` names the offsets checked against a primary source; the Wusong default is
    not (domain.md: UNCONFIRMED), and every conversion through it says so in ``history``.
    """

    wusong_below_1985_m: float = DEFAULT_WUSONG_BELOW_1985_M
    yellow_sea_1956_below_1985_m: float = YELLOW_SEA_1956_BELOW_1985_M
    confirmed: frozenset[str] = field(default_factory=frozenset)

    def below_1985_m(self, datum: str) -> float:
        """Return how far the zero of ``datum`` lies below the 1985 zero, m."""
        name = canonical_datum(datum)
        return {
            "Wusong": self.wusong_below_1985_m,
            "1985 national": 0.0,
            "1956 Yellow Sea": self.yellow_sea_1956_below_1985_m,
        }[name]

    def is_confirmed(self, datum: str) -> bool:
        """Return True if the offset of ``datum`` is confirmed (1985 needs none)."""
        name = canonical_datum(datum)
        return name == "1985 national" or name in self.confirmed


DEFAULT_OFFSETS = DatumOffsets()


def canonical_datum(name: str) -> str:
    """Return the canonical name of a datum (case-insensitive aliases such as "85", "吴淞").

    Raises
    ------
    SchemaError
        For an unknown name, listing the known datums.
    """
    key = str(name).strip().lower()
    if key in _ALIASES:
        return _ALIASES[key]
    raise SchemaError(f"datum: expected one of {list(DATUMS)} (or an alias), found {name!r}")


def datum_shift_m(
    from_datum: str, to_datum: str, *, offsets: DatumOffsets = DEFAULT_OFFSETS
) -> float:
    """Return the amount (m) to add to a height on ``from_datum`` to express it on ``to_datum``.

    Notes
    -----
    H_1985 = H_from - b_from and H_to = H_1985 + b_to, so H_to = H_from + (b_to - b_from),
    with b the depth of each zero below the 1985 zero. Wusong -> 1985 with the default
    offsets: -1.717 m (UNCONFIRMED).
    """
    return offsets.below_1985_m(to_datum) - offsets.below_1985_m(from_datum)


def _note(from_datum: str, to_datum: str, shift: float, offsets: DatumOffsets) -> str:
    flags = [
        d for d in (from_datum, to_datum) if not offsets.is_confirmed(d) and d != "1985 national"
    ]
    status = f"; offset UNCONFIRMED for {flags}" if flags else ""
    return f"convert_height: {from_datum} -> {to_datum} datum, {shift:+.4f} m{status}"


def convert_height(
    heights: Heights,
    from_datum: str,
    to_datum: str,
    *,
    offsets: DatumOffsets = DEFAULT_OFFSETS,
) -> Heights:
    """Return heights expressed on another datum.

    Parameters
    ----------
    heights : float, numpy.ndarray, pandas.Series or xarray.DataArray
        Heights in m on ``from_datum`` (differences such as a sea-level rise or a depth must
        not be converted: they do not depend on the datum).
    from_datum, to_datum : str
        Datum names or aliases (:func:`canonical_datum`).
    offsets : DatumOffsets
        Offsets to use; the default Wusong offset is UNCONFIRMED.

    Returns
    -------
    Same type as ``heights``
        Shifted by :func:`datum_shift_m`. A DataArray gets ``attrs["datum"] = to_datum`` and a
        ``history`` line that names the offset and whether it is confirmed.
    """
    source, target = canonical_datum(from_datum), canonical_datum(to_datum)
    if isinstance(heights, xr.DataArray):
        found = heights.attrs.get("datum")
        if found is not None and canonical_datum(found) != source:
            raise SchemaError(f"heights: attrs['datum'] is {found!r}, expected {source!r}")
    shift = datum_shift_m(source, target, offsets=offsets)
    if isinstance(heights, xr.DataArray):
        out = heights + shift
        out.attrs = dict(heights.attrs, datum=target)
        append_history(out.attrs, _note(source, target, shift, offsets))
        return out
    if isinstance(heights, pd.Series | np.ndarray):
        return heights + shift
    return float(heights) + shift


def convert_layer_datum(
    layer: xr.Dataset,
    to_datum: str,
    *,
    level_variables: tuple[str, ...] = ("still_water_level", "still_water_level_gev_loc"),
    offsets: DatumOffsets = DEFAULT_OFFSETS,
) -> xr.Dataset:
    """Return a station HazardLayer (the surge layer) with its levels on another datum.

    Only ``level_variables`` (heights) move; rises, scales and shapes are differences or
    dimensionless and stay. The station ``datum`` coordinate and the "<datum> datum" words of
    each long_name follow, and the layer's ``history`` names the offset used.

    Raises
    ------
    SchemaError
        If the layer has no single ``datum`` coordinate or lacks a level variable.
    """
    if "datum" not in layer.coords:
        raise SchemaError("layer: expected a 'datum' coordinate on dim station")
    found = sorted(set(layer["datum"].values.tolist()))
    if len(found) != 1:
        raise SchemaError(f"layer: datum: expected one datum, found {found}")
    source, target = canonical_datum(found[0]), canonical_datum(to_datum)
    shift = datum_shift_m(source, target, offsets=offsets)
    out = layer.copy()
    for name in level_variables:
        if name not in out.data_vars:
            raise SchemaError(f"layer: expected variable {name!r}, found {list(out.data_vars)}")
        attrs = dict(out[name].attrs)
        attrs["long_name"] = attrs.get("long_name", "").replace(
            f"{found[0]} datum", f"{target} datum"
        )
        out[name] = (out[name] + shift).assign_attrs(attrs)
    out = out.assign_coords(datum=("station", np.full(out.sizes["station"], target, dtype=object)))
    append_history(out.attrs, _note(source, target, shift, offsets))
    return out
