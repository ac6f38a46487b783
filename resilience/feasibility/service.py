"""One way to run a feasibility check, shared by the CLI, the REST API and the flows.

Every caller goes through :func:`check_submission`, so the same submission against the same
layer versions, code version and settings gives the same :class:`CheckResult` (and the same
``result_hash``) whether it came from ``resilience check``, ``POST /v1/checks`` or a flow. The
dependencies section draws on the inventory and risk table published in ``settings.risk_dir``
("not assessed", with the reason, when there are none).
"""

from __future__ import annotations

from pathlib import Path

from resilience.feasibility.check import FeasibilityError, run_check
from resilience.feasibility.layer_cache import LayerCache, shared_layer_cache
from resilience.feasibility.models import CheckResult, Submission
from resilience.feasibility.supply_data import open_supply_data
from resilience.settings import Settings

__all__ = ["check_submission", "layer_cache_for"]


def layer_cache_for(settings: Settings) -> LayerCache:
    """Return this process's layer cache of the settings' layer store.

    Parameters
    ----------
    settings : Settings
        Gives ``layer_store_dir``.

    Returns
    -------
    LayerCache
        Shared per store path (:func:`resilience.feasibility.layer_cache.shared_layer_cache`).
    """
    return shared_layer_cache(Path(settings.layer_store_dir))


def check_submission(
    submission: Submission, settings: Settings, *, cache: LayerCache | None = None
) -> CheckResult:
    """Check a validated submission against the current published layers.

    Parameters
    ----------
    submission : Submission
        The validated project.
    settings : Settings
        Gives the layer store and ``design_life_target_probability``.
    cache : LayerCache, optional
        Default: this process's cache of the settings' store.

    Returns
    -------
    CheckResult
        With ``result_hash`` over (submission, layer versions, code version, parameters).

    Raises
    ------
    FeasibilityError
        If the store has no published layers, a layer is missing, or the site is outside a
        layer or the layers' domain (the message names the layer and its extent).
    """
    cache = cache or layer_cache_for(settings)
    if not cache.store.names():
        raise FeasibilityError(
            f"no published layers in {cache.store.root}; run `resilience refresh` or "
            "`resilience demo`"
        )
    return run_check(
        submission,
        cache.layers(),
        target_probability=settings.design_life_target_probability,
        validated=True,
        supply=open_supply_data(settings.risk_dir),
    )
