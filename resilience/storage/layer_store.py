"""LayerStore: a directory of versioned hazard layers with an atomic ``current`` pointer.

Layout::

    root/
      heat/
        v0001/heat.nc
        v0001/manifest.json
        v0002/...
        current            # text file holding "v0002"

Publishing validates the layer, writes the new version into a hidden temporary directory,
renames it into place (atomic on one file system) and only then replaces ``current`` with
``os.replace``. Readers therefore never see a half-written layer, and a refresh that fails at
any point leaves the last good version current (design.md, "Storage").
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import xarray as xr

from hazard_models.layer import SchemaError, synthetic_flag, validate_hazard_layer
from resilience.storage.atomic import write_text_atomic

__all__ = ["LayerStore", "LayerVersion"]

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_VERSION = re.compile(r"^v(\d{4,})$")


@dataclass(frozen=True)
class LayerVersion:
    """One published version of a layer.

    Attributes
    ----------
    name : str
        Layer name, e.g. ``"heat"``.
    version : str
        Version label, e.g. ``"v0003"``.
    path : Path
        The NetCDF file of the layer.
    manifest : dict
        Inputs, hashes, code version, creation time, variables and dims.
    """

    name: str
    version: str
    path: Path
    manifest: dict


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class LayerStore:
    """Versioned store of hazard layers under one root directory.

    Parameters
    ----------
    root : Path
        Directory of the store; created on first publish.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _layer_dir(self, name: str) -> Path:
        if not _NAME.match(name):
            raise ValueError(
                f"layer name {name!r}: expected lower-case letters, digits and '_', "
                "starting with a letter"
            )
        return self.root / name

    def names(self) -> list[str]:
        """Return the names of layers that have a current version, sorted."""
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if (p / "current").is_file())

    def versions(self, name: str) -> list[str]:
        """Return the published versions of ``name``, oldest first."""
        layer_dir = self._layer_dir(name)
        if not layer_dir.is_dir():
            return []
        found = [p.name for p in layer_dir.iterdir() if p.is_dir() and _VERSION.match(p.name)]
        return sorted(found, key=lambda v: int(v[1:]))

    def current(self, name: str) -> LayerVersion:
        """Return the current version of ``name``.

        Raises
        ------
        KeyError
            If nothing has been published under ``name``; the message lists what exists.
        """
        pointer = self._layer_dir(name) / "current"
        if not pointer.is_file():
            raise KeyError(
                f"layer {name!r} has no published version in {self.root}; "
                f"available: {self.names() or 'none'}"
            )
        return self._version(name, pointer.read_text(encoding="utf-8").strip())

    def _version(self, name: str, version: str) -> LayerVersion:
        version_dir = self._layer_dir(name) / version
        manifest_path = version_dir / "manifest.json"
        if not manifest_path.is_file():
            raise KeyError(f"layer {name!r} version {version!r} not found in {self.root}")
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        return LayerVersion(name, version, version_dir / f"{name}.nc", manifest)

    def open(self, name: str, version: str | None = None) -> xr.Dataset:
        """Open a layer (the current version by default) and validate it.

        Raises
        ------
        KeyError
            If the layer or version does not exist.
        SchemaError
            If the stored file no longer follows the HazardLayer contract.
        """
        entry = self.current(name) if version is None else self._version(name, version)
        ds = xr.open_dataset(entry.path)
        try:
            return validate_hazard_layer(ds)
        except SchemaError as error:
            ds.close()
            raise SchemaError(f"{entry.path}: {error}") from error

    def publish(
        self, name: str, layer: xr.Dataset, *, inputs: Mapping[str, str] | None = None
    ) -> LayerVersion:
        """Validate ``layer``, write it as a new version and make it current.

        Parameters
        ----------
        name : str
            Layer name (lower-case identifier).
        layer : xarray.Dataset
            A HazardLayer; dask-backed variables are computed while writing.
        inputs : mapping, optional
            Input name -> path or URI, recorded in the manifest.

        Returns
        -------
        LayerVersion
            The version just published.
        """
        validate_hazard_layer(layer)
        layer_dir = self._layer_dir(name)
        layer_dir.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=layer_dir, prefix=".staging-"))
        try:
            target = staging / f"{name}.nc"
            encoding = {v: {"zlib": True, "complevel": 1} for v in layer.data_vars}
            layer.to_netcdf(target, encoding=encoding)
            manifest = self._manifest(name, layer, target, inputs or {})
            (staging / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
            version = self._claim_version(layer_dir, staging)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        write_text_atomic(layer_dir / "current", version + "\n")
        return self._version(name, version)

    def _claim_version(self, layer_dir: Path, staging: Path) -> str:
        """Rename the staging directory to the next free version label."""
        existing = self.versions(layer_dir.name)
        number = int(existing[-1][1:]) + 1 if existing else 1
        while True:
            version = f"v{number:04d}"
            try:
                os.rename(staging, layer_dir / version)
                return version
            except OSError:
                if not (layer_dir / version).exists():
                    raise
                number += 1  # another publisher took this label first

    @staticmethod
    def _manifest(name: str, layer: xr.Dataset, path: Path, inputs: Mapping[str, str]) -> dict:
        return {
            "name": name,
            "hazard": layer.attrs.get("hazard"),
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "code_version": layer.attrs.get("code_version"),
            "inputs_sha256": layer.attrs.get("inputs_sha256"),
            "synthetic": synthetic_flag(layer.attrs),
            "layer_version": layer.attrs.get("layer_version"),
            "inputs": dict(inputs),
            "variables": {
                str(k): {"dims": list(v.dims), "units": v.attrs.get("units")}
                for k, v in layer.data_vars.items()
            },
            "file_sha256": _sha256(path),
            "file_bytes": path.stat().st_size,
        }
