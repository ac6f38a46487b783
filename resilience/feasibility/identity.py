"""The identity of a check: a reproducible hash of everything that determines its result.

``result_hash`` = sha256 of the canonical JSON (keys sorted, no whitespace, UTF-8) of the
submission (``model_dump(mode="json")``, standards filled from the catalogue), each layer's
identity (version, full ``inputs_sha256``, code version, synthetic flag and, when the layer
carries it, the published file's sha256), the engine's code version and the parameters that
change the result (the target probability ...) and, when the check has a dependencies
section, its inputs: the inventory's sha256, the sha256 of the risk table's provenance file,
where suppliers' probabilities came from, and the status and reason (the section's numbers
follow from those, the layers and the code; floats are left out so that no last-bit
difference between machines changes the hash). A submission without ``depends_on`` hashes
as before the field existed. The check's own id and timestamp are left
out, so the same inputs give the same hash in the CLI, the API and a flow, and a re-submission
can be recognised.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING

import xarray as xr

from hazard_models.layer import synthetic_flag

if TYPE_CHECKING:
    from resilience.feasibility.dependency_models import DependencyAssessment

__all__ = [
    "LAYER_IDENTITY_ATTRS",
    "canonical_json",
    "code_version",
    "dependency_identity",
    "layer_identity",
    "result_hash",
]

#: HazardLayer global attributes that identify a layer's content (docs/design.md); the
#: ``file_sha256`` attribute is optional (set by whoever opened a published file).
LAYER_IDENTITY_ATTRS: tuple[str, ...] = (
    "hazard",
    "layer_version",
    "inputs_sha256",
    "code_version",
    "file_sha256",
)


def code_version() -> str:
    """Return the version of the ``resilience`` package that computes the check."""
    from resilience import __version__

    return f"resilience {__version__}"


def canonical_json(value: object) -> str:
    """Return JSON with sorted keys and no whitespace (RFC 8785-like canonical form)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def layer_identity(layer: xr.Dataset) -> dict[str, str]:
    """Return the attributes that identify one layer's content, as strings."""
    identity = {k: str(layer.attrs[k]) for k in LAYER_IDENTITY_ATTRS if k in layer.attrs}
    identity["synthetic"] = synthetic_flag(layer.attrs)
    return identity


def dependency_identity(section: DependencyAssessment | None) -> dict[str, str] | None:
    """Return the inputs of a check's dependencies section that enter the hash (None: none).

    Not ``reason``: its text names the data folder, so the same inputs read through another
    path (``data`` or ``/srv/data``) would hash differently; status, source and the two
    sha256 already identify what was read.
    """
    if section is None:
        return None
    return section.model_dump(
        mode="json",
        include={"status", "source", "inventory_sha256", "risk_table_provenance_sha256"},
    )


def result_hash(
    submission: Mapping[str, object],
    layers: Mapping[str, xr.Dataset],
    *,
    code: str,
    parameters: Mapping[str, object],
    dependencies: Mapping[str, object] | None = None,
) -> str:
    """Return the sha256 (hex) of a check's inputs.

    Parameters
    ----------
    submission : mapping
        ``Submission.model_dump(mode="json")``.
    layers : mapping of str to xarray.Dataset
        The layers the check used (only their identifying attributes enter).
    code : str
        The engine's code version (:func:`code_version`).
    parameters : mapping
        Settings that change the result, e.g. ``{"target_probability": 0.1}``.
    dependencies : mapping, optional
        :func:`dependency_identity` of the check's dependencies section; None: left out.

    Returns
    -------
    str
        64 hexadecimal digits.
    """
    submitted = dict(submission)
    if submitted.get("depends_on", "") is None:  # as before the field existed
        submitted.pop("depends_on")
    document = {
        "submission": submitted,
        "layers": {name: layer_identity(layer) for name, layer in layers.items()},
        "code_version": code,
        "parameters": dict(parameters),
    }
    if dependencies is not None:
        document["dependencies"] = dict(dependencies)
    return hashlib.sha256(canonical_json(document).encode("utf-8")).hexdigest()
