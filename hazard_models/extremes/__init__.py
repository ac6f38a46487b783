"""The extreme-value engine: GEV, GPD and Gumbel fits, return levels, uncertainty, fit tests.

Pure numpy/xarray, vectorised over series; imports only :mod:`hazard_models.layer` from the
rest of ``hazard_models``. Start reading at :mod:`.gev` (the distribution) and
:mod:`.gev_fit` (:func:`fit_gev`, numpy or dask xarray); block maxima also by :mod:`.gumbel`
and with a covariate by :mod:`.nonstationary`; peaks over a threshold by :mod:`.gpd`
(likelihood in :mod:`.gpd_mle`), :mod:`.threshold` and :mod:`.gpd_bootstrap`; regional
pooling by :mod:`.regional`; intervals by :mod:`.uncertainty` (delta, bootstrap) and
:mod:`.profile` (profile likelihood); fits of one series under any shape bound, and the
deviance of the bound, by :mod:`.shape_bound`; goodness of fit by :mod:`.goodness`.

This module is the public face: the names below are the stable API. Modules inside the
package import each other directly (never this ``__init__``), so it has no cycles.
"""

from hazard_models.extremes.gev import (
    annual_probability_by_year,
    design_life_exceedance,
    exceedance_probability,
    gev_cdf,
    gev_nllh,
    return_level,
    return_levels,
)
from hazard_models.extremes.gev_fit import FIT_STATUSES, FitMethod, fit_gev
from hazard_models.extremes.profile import (
    ProfileInterval,
    profile_gev_return_level,
    profile_gpd_return_level,
)
from hazard_models.extremes.shape_bound import deviance_where_bound, flag_shape_at_bound

__all__ = [
    "FIT_STATUSES",
    "FitMethod",
    "ProfileInterval",
    "annual_probability_by_year",
    "design_life_exceedance",
    "deviance_where_bound",
    "exceedance_probability",
    "fit_gev",
    "flag_shape_at_bound",
    "gev_cdf",
    "gev_nllh",
    "profile_gev_return_level",
    "profile_gpd_return_level",
    "return_level",
    "return_levels",
]
