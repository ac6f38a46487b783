"""LayerStore: a directory of versioned hazard layers, made current one set at a time.

Layout::

    root/
      current.json         # the current set: {"layers": {"heat": "v0002", ...}, ...}
      heat/
        v0001/heat.nc
        v0001/manifest.json
        v0002/...
        current            # "v0002": a mirror of current.json, for older readers

Publishing validates the layer (the HazardLayer contract, then the plausibility of its
values, :mod:`.layer_checks`, on the file just written), writes the new version into a
hidden ``.staging-<pid>-*`` directory and renames it into place (atomic on one file
system). A version is *staged* until it is made current.

**Set publish (D27).** :meth:`LayerStore.promote` switches the current versions of several
layers in one step: it rewrites ``current.json`` (the one pointer every reader uses) with
``os.replace``, under a lock so that two promoters do not lose each other's layers. A
refresh publishes its layers with ``make_current=False``, reads its own staged versions
while it builds the later ones, and promotes the set at the end: a run killed at any point
leaves the previous set current, never heat from one run and surge from another. The
per-layer ``current`` files are rewritten after ``current.json`` as mirrors; a store with no
``current.json`` (written before D27) is read through them. ``publish(make_current=True)``
(the default) is a promotion of a set of one.

**Integrity.** :meth:`LayerStore.open` checks the file against the sha256 recorded in its
manifest before opening it, once per process per file state: a verified
``(path, size, mtime)`` is cached at module level. An edited or truncated file is refused
with :class:`LayerIntegrityError` naming the file and the expected and found sha256.

**Reuse.** A version published with a ``step_sha256`` (the key of the step that built it:
inputs by content, parameters, code) records it in its manifest; :meth:`LayerStore.find`
returns the newest version of a layer with that key whose file still matches its sha256,
so a rerun with nothing changed reuses it instead of publishing an equal version
(docs/operations.md, "Reruns and caching").

**Leftovers.** Each publish first removes what a killed run left beside the layers:
``.staging-<pid>-*`` directories whose process is gone (or older than a day), and temporary
pointer files (``.current.*``) older than :data:`STALE_AFTER_S`. A concurrent run's staging
is kept: its process is alive (pids are of this host; the store is not shared across hosts).
Versions staged by a killed run and never promoted stay on disk, unused, like old versions.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import xarray as xr

from hazard_models.layer import SchemaError, synthetic_flag, validate_hazard_layer
from resilience.compute import release_memory
from resilience.storage.atomic import folder_lock, write_text_atomic
from resilience.storage.layer_checks import validate_layer_plausible
from resilience.storage.provenance import sha256_file

__all__ = ["STALE_AFTER_S", "LayerIntegrityError", "LayerStore", "LayerVersion"]

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_VERSION = re.compile(r"^v(\d{4,})$")
_STAGING = re.compile(r"^\.staging-(?:(\d+)-)?")
SET_FILE = "current.json"
_LOCK_FILE = ".promote.lock"
#: Age (seconds) after which a temporary file or an unowned staging directory is a leftover.
STALE_AFTER_S = 600.0
_OWNED_STALE_AFTER_S = 86400.0  # a live pid that old is a reused pid, not a publisher

#: Files whose sha256 matched their manifest in this process: path -> (size, mtime_ns, sha256).
_VERIFIED: dict[str, tuple[int, int, str]] = {}


class LayerIntegrityError(SchemaError):
    """A stored layer file or pointer is not what the store recorded; says expected vs found."""


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


def _verify_file(entry: LayerVersion) -> None:
    """Check ``entry.path`` against its manifest's sha256 (cached per file state)."""
    manifest_path = entry.path.with_name("manifest.json")
    expected = entry.manifest.get("file_sha256")
    if not isinstance(expected, str):
        raise LayerIntegrityError(f"{manifest_path}: expected a 'file_sha256' entry, found none")
    try:
        stat = entry.path.stat()
    except FileNotFoundError:
        raise LayerIntegrityError(
            f"{entry.path}: no such file; expected the layer file of sha256 {expected} "
            f"recorded in {manifest_path}"
        ) from None
    key = str(entry.path)
    if _VERIFIED.get(key) == (stat.st_size, stat.st_mtime_ns, expected):
        return
    found = sha256_file(entry.path)
    if found != expected:
        raise LayerIntegrityError(
            f"{entry.path}: expected sha256 {expected} ({entry.manifest.get('file_bytes')} "
            f"bytes, recorded in {manifest_path}), found sha256 {found} ({stat.st_size} bytes); "
            "the file was changed or truncated after publishing"
        )
    _VERIFIED[key] = (stat.st_size, stat.st_mtime_ns, expected)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


def _is_leftover(path: Path, now: float) -> bool:
    """Whether ``path`` (a staging directory or temporary pointer) was left by a dead run."""
    try:
        age = now - path.lstat().st_mtime
    except FileNotFoundError:
        return False
    match = _STAGING.match(path.name)
    if match and match.group(1):
        pid = int(match.group(1))
        if pid == os.getpid():
            return False
        return not _pid_alive(pid) or age > _OWNED_STALE_AFTER_S
    return age > STALE_AFTER_S


def _sweep(folder: Path) -> None:
    """Remove staging directories and temporary pointer files left by killed runs."""
    if not folder.is_dir():
        return
    now = time.time()
    for path in folder.iterdir():
        if not (path.name.startswith(".staging-") or path.name.startswith(".current.")):
            continue
        if _is_leftover(path, now):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)


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

    def _pointers(self) -> dict[str, str]:
        """Return layer name -> current version: ``current.json``, then legacy pointers."""
        pointers: dict[str, str] = {}
        if not self.root.is_dir():
            return pointers
        for folder in self.root.iterdir():
            legacy = folder / "current"
            if _NAME.match(folder.name) and legacy.is_file():
                pointers[folder.name] = legacy.read_text(encoding="utf-8").strip()
        set_file = self.root / SET_FILE
        if set_file.is_file():
            try:
                layers = json.loads(set_file.read_text(encoding="utf-8"))["layers"]
                valid = all(_VERSION.match(v) for v in layers.values())
            except (ValueError, KeyError, TypeError, AttributeError):
                valid = False
            if not valid:
                raise LayerIntegrityError(
                    f'{set_file}: expected JSON {{"layers": {{name: "v0001", ...}}}}, '
                    "found something else; it is written only by LayerStore.promote"
                )
            pointers.update(layers)
        return pointers

    def names(self) -> list[str]:
        """Return the names of layers that have a current version, sorted."""
        return sorted(self._pointers())

    def versions(self, name: str) -> list[str]:
        """Return the published versions of ``name`` (current or staged), oldest first."""
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
            If nothing has been made current under ``name``; the message lists what exists.
        """
        self._layer_dir(name)
        pointers = self._pointers()
        if name not in pointers:
            raise KeyError(
                f"layer {name!r} has no published version in {self.root}; "
                f"available: {sorted(pointers) or 'none'}"
            )
        return self._version(name, pointers[name])

    def _version(self, name: str, version: str) -> LayerVersion:
        version_dir = self._layer_dir(name) / version
        manifest_path = version_dir / "manifest.json"
        if not _VERSION.match(version) or not manifest_path.is_file():
            raise KeyError(f"layer {name!r} version {version!r} not found in {self.root}")
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        return LayerVersion(name, version, version_dir / f"{name}.nc", manifest)

    def entry(self, name: str, version: str | None = None) -> LayerVersion:
        """Return ``version`` of ``name`` (staged or current), or the current one if None.

        Raises
        ------
        KeyError
            If the layer or version does not exist.
        """
        return self.current(name) if version is None else self._version(name, version)

    def open(self, name: str, version: str | None = None) -> xr.Dataset:
        """Open a layer (the current version by default), verify and validate it.

        Raises
        ------
        KeyError
            If the layer or version does not exist.
        LayerIntegrityError
            If the file's sha256 is not the one in its manifest (edited, truncated).
        SchemaError
            If the stored file no longer follows the HazardLayer contract.
        """
        entry = self.entry(name, version)
        _verify_file(entry)
        ds = xr.open_dataset(entry.path)
        # The verified file's sha256 identifies the content a result was computed from
        # (resilience.feasibility.identity); it lives in the manifest, not in the file.
        ds.attrs["file_sha256"] = str(entry.manifest.get("file_sha256", ""))
        try:
            return validate_hazard_layer(ds)
        except SchemaError as error:
            ds.close()
            raise SchemaError(f"{entry.path}: {error}") from error

    def publish(
        self,
        name: str,
        layer: xr.Dataset,
        *,
        inputs: Mapping[str, str] | None = None,
        make_current: bool = True,
        step_sha256: str | None = None,
    ) -> LayerVersion:
        """Validate ``layer``, write it as a new version and (by default) make it current.

        Parameters
        ----------
        name : str
            Layer name (lower-case identifier).
        layer : xarray.Dataset
            A HazardLayer; dask-backed variables are computed while writing.
        inputs : mapping, optional
            Input name -> path or URI, recorded in the manifest.
        make_current : bool
            If False the version is only staged: readable by version, made current later,
            with the other layers of its run, by :meth:`promote`.
        step_sha256 : str, optional
            The key of the step that built the layer (its inputs' hashes, parameters and
            code, :func:`resilience.storage.provenance.step_sha256`), recorded in the
            manifest so that :meth:`find` can offer this version to a rerun.

        Returns
        -------
        LayerVersion
            The version just published.

        Raises
        ------
        SchemaError
            If ``layer`` breaks the HazardLayer contract.
        LayerPlausibilityError
            If its values are implausible (:mod:`.layer_checks`), naming the layer, the
            variable and the expected range; nothing is published then.
        """
        validate_hazard_layer(layer)
        layer_dir = self._layer_dir(name)
        layer_dir.mkdir(parents=True, exist_ok=True)
        _sweep(layer_dir)
        _sweep(self.root)
        staging = Path(tempfile.mkdtemp(dir=layer_dir, prefix=f".staging-{os.getpid()}-"))
        try:
            target = staging / f"{name}.nc"
            encoding = {v: {"zlib": True, "complevel": 1} for v in layer.data_vars}
            layer.to_netcdf(target, encoding=encoding)
            with xr.open_dataset(target) as written:  # check what readers will get
                validate_layer_plausible(written, name)  # a variable at a time
            manifest = self._manifest(name, layer, target, inputs or {})
            if step_sha256:
                manifest["step_sha256"] = step_sha256
            (staging / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
            version = self._claim_version(layer_dir, staging)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        release_memory()  # the layer's written copy and checks, freed (resilience.compute)
        entry = self._version(name, version)
        stat = entry.path.stat()
        _VERIFIED[str(entry.path)] = (stat.st_size, stat.st_mtime_ns, manifest["file_sha256"])
        if make_current:
            self.promote({name: version})
        return entry

    def find(self, name: str, step_sha256: str) -> LayerVersion | None:
        """Return the newest version of ``name`` built by the step key ``step_sha256``.

        A rerun whose inputs, parameters and code are unchanged reuses that version instead
        of building an equal one (docs/operations.md, "Reruns and caching"). Only a version
        whose file still matches its manifest's sha256 is offered.

        Parameters
        ----------
        name : str
            Layer name.
        step_sha256 : str
            The step key; an empty key finds nothing.

        Returns
        -------
        LayerVersion or None
            The newest matching version (staged or current), or None.
        """
        if not step_sha256:
            return None
        for version in reversed(self.versions(name)):
            try:
                entry = self._version(name, version)
                if entry.manifest.get("step_sha256") != step_sha256:
                    continue
                _verify_file(entry)
            except (KeyError, ValueError, LayerIntegrityError):
                continue  # a half-removed version or an edited file: not reusable
            return entry
        return None

    def _lock(self) -> AbstractContextManager[None]:
        return folder_lock(self.root, _LOCK_FILE)

    def promote(self, versions: Mapping[str, str]) -> dict[str, LayerVersion]:
        """Make a set of published versions current together, in one atomic step.

        Parameters
        ----------
        versions : mapping
            Layer name -> version label (``"v0003"``), e.g. every layer of one refresh.
            Layers not named keep their current version.

        Returns
        -------
        dict
            Layer name -> the LayerVersion now current.

        Raises
        ------
        KeyError
            If a version does not exist; nothing is switched then.
        LayerIntegrityError
            If a version's file does not match its manifest; nothing is switched then.
        """
        entries = {name: self._version(name, version) for name, version in versions.items()}
        for entry in entries.values():
            _verify_file(entry)
        with self._lock():
            pointers = self._pointers()
            pointers.update(versions)
            record = {
                "layers": dict(sorted(pointers.items())),
                "promoted": datetime.now(UTC).isoformat(timespec="seconds"),
                "last_set": sorted(versions),
            }
            write_text_atomic(self.root / SET_FILE, json.dumps(record, indent=2) + "\n")
            for name, version in versions.items():  # mirrors for readers older than D27
                write_text_atomic(self._layer_dir(name) / "current", version + "\n")
        return entries

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
            "file_sha256": sha256_file(path),
            "file_bytes": path.stat().st_size,
        }
