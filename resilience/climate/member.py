"""Labels of ensemble members on the ``model`` dim of Projections.

CMIP6 runs are told apart by ``source_id`` (the model) and ``variant_label`` (the member,
``r<realisation>i<initialisation>p<physics>f<forcing>``; CMIP6 DRS, Taylor et al. 2018). The
Projections contract has one ``model`` dim, so a run's label is its model name when only one
member of that model is pulled (``MIROC6``) and ``{model}_{member}`` for each of several
(``MIROC6_r1i1p1f1``, ``MIROC6_r2i1p1f1``). A model filter may name either form. Historical
and SSP files of one member share one label, so a member's SSP continues its own history.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["member_coords", "member_labels", "model_matches"]


def member_labels(pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """Return the ``model`` label of each (model, member): the model alone if it is its only one.

    Parameters
    ----------
    pairs : iterable of (str, str)
        (``source_id``, ``variant_label``) of every run pulled.

    Returns
    -------
    dict
        ``{(model, member): label}``: ``"MIROC6"`` when one member of MIROC6 is pulled,
        ``"MIROC6_r1i1p1f1"`` and ``"MIROC6_r2i1p1f1"`` when two are.
    """
    members: dict[str, set[str]] = {}
    for model, member in pairs:
        members.setdefault(model, set()).add(member)
    return {
        (model, member): model if len(found) == 1 else f"{model}_{member}"
        for model, found in members.items()
        for member in found
    }


def model_matches(wanted: Iterable[str] | None, model: str, member: str) -> bool:
    """Return True if ``wanted`` (None: every model) names ``model`` or ``{model}_{member}``."""
    if wanted is None:
        return True
    names = set(wanted)
    return model in names or f"{model}_{member}" in names


def member_coords(
    labels: Iterable[str], label_of: dict[tuple[str, str], str]
) -> dict[str, tuple[str, list[str], dict[str, str]]]:
    """Return the ``source_id`` and ``member_id`` coordinates along ``model`` for ``labels``.

    Parameters
    ----------
    labels : iterable of str
        The ``model`` coordinate, in order.
    label_of : dict
        From :func:`member_labels`.

    Returns
    -------
    dict
        ``{"source_id": ("model", [...], attrs), "member_id": ("model", [...], attrs)}``, for
        ``Dataset.assign_coords``.
    """
    run_of = {label: run for run, label in label_of.items()}
    runs = [run_of[label] for label in labels]
    return {
        "source_id": ("model", [r[0] for r in runs], {"long_name": "CMIP6 source_id (model)"}),
        "member_id": ("model", [r[1] for r in runs], {"long_name": "CMIP6 variant_label"}),
    }
