"""Keep the hazard layers a feasibility check needs open, verified and validated, per process.

A check reads three layers (heat, rain, surge). Opening a layer verifies its file against the
sha256 in its manifest and validates the HazardLayer contract
(:meth:`resilience.storage.layer_store.LayerStore.open`); doing that for every check costs
most of a warm check's time. :class:`LayerCache` does it once per layer version and keeps the
layer loaded in memory, so later checks reuse it.

Cache key: the layer file's path, the sha256 recorded in its manifest, and the file's size
and modification time. A newly promoted version has another path (``heat/v0003/heat.nc``),
so it is picked up by the next check without a restart; a file edited on disk after
publishing changes its size or mtime, so it is opened again, and the store's sha256
verification refuses it (:class:`~resilience.storage.layer_store.LayerIntegrityError`)
instead of serving the stale copy. One entry is kept per layer name: an old version is
dropped when a new one replaces it.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

import xarray as xr

from resilience.storage.layer_store import LayerStore, LayerVersion

__all__ = ["CHECK_LAYERS", "LayerCache", "shared_layer_cache"]

#: The layers a feasibility check reads (``resilience.feasibility.check``; decisions.md D2).
CHECK_LAYERS: tuple[str, ...] = ("heat", "rain", "surge")

_Key = tuple[str, str, int, int]


def _key(entry: LayerVersion) -> _Key:
    """Return (path, manifest sha256, size, mtime_ns) of a layer version's file."""
    stat = entry.path.stat()
    return (str(entry.path), str(entry.manifest.get("file_sha256")), stat.st_size, stat.st_mtime_ns)


class LayerCache:
    """Current layers of one :class:`LayerStore`, opened and validated once per version.

    Parameters
    ----------
    root : Path
        Root directory of the layer store.

    Attributes
    ----------
    opens : int
        How many times a layer file was opened (verified, validated and loaded): a test and
        benchmark hook.
    """

    def __init__(self, root: Path) -> None:
        self.store = LayerStore(Path(root))
        self.opens = 0
        self._entries: dict[str, tuple[_Key, xr.Dataset]] = {}
        self._lock = threading.Lock()

    def layer(self, name: str) -> xr.Dataset:
        """Return the current version of layer ``name``, opening it only if it changed.

        Parameters
        ----------
        name : str
            Layer name, e.g. ``"heat"``.

        Returns
        -------
        xarray.Dataset
            The layer, loaded in memory (no open file handle); treat it as read-only, it is
            shared by every later check.

        Raises
        ------
        KeyError
            If the store has no current version of ``name``.
        LayerIntegrityError
            If the file no longer matches the sha256 of its manifest.
        SchemaError
            If the stored file breaks the HazardLayer contract.
        """
        entry = self.store.current(name)
        try:
            key = _key(entry)
        except FileNotFoundError:
            key = (str(entry.path), "", -1, -1)  # store.open names the missing file
        with self._lock:
            cached = self._entries.get(name)
            if cached is not None and cached[0] == key:
                return cached[1]
            with self.store.open(name, entry.version) as opened:
                layer = opened.load()
            self.opens += 1
            self._entries[name] = (key, layer)
            return layer

    def layers(self, names: Sequence[str] = CHECK_LAYERS) -> dict[str, xr.Dataset]:
        """Return ``{name: layer}`` for those of ``names`` the store has a current version of.

        Layers the store lacks are left out: ``run_check`` names them in its error.

        Parameters
        ----------
        names : sequence of str, optional
            Layer names; default the three a check needs (:data:`CHECK_LAYERS`).

        Returns
        -------
        dict of str to xarray.Dataset
            As :meth:`layer` returns them.
        """
        available = set(self.store.names())
        return {name: self.layer(name) for name in names if name in available}


_SHARED: dict[str, LayerCache] = {}
_SHARED_LOCK = threading.Lock()


def shared_layer_cache(root: Path) -> LayerCache:
    """Return this process's :class:`LayerCache` of the store at ``root`` (made on first use).

    Parameters
    ----------
    root : Path
        Root directory of the layer store; caches are kept per resolved path.

    Returns
    -------
    LayerCache
        The same object for every call with the same store.
    """
    resolved = str(Path(root).resolve())
    with _SHARED_LOCK:
        if resolved not in _SHARED:
            _SHARED[resolved] = LayerCache(Path(resolved))
        return _SHARED[resolved]
