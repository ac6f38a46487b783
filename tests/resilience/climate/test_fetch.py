"""resilience.climate.fetch against a real HTTP server on 127.0.0.1 serving small NetCDF files."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from resilience.climate import fetch
from resilience.climate.fetch import (
    MANIFEST_NAME,
    DownloadError,
    download,
    read_manifest,
)

_SPEC = importlib.util.spec_from_file_location(
    "resilience_test_http_server", Path(__file__).with_name("http_server.py")
)
http_server = importlib.util.module_from_spec(_SPEC)
sys.modules[_SPEC.name] = http_server  # dataclasses resolve annotations through sys.modules
_SPEC.loader.exec_module(http_server)
Route, serve = http_server.Route, http_server.serve

FAST = {"backoff_s": 0.01, "timeout_s": 5.0}  # tests must not sleep for real backoffs


def netcdf_bytes(tmp_path: Path, seed: int) -> bytes:
    """Return the bytes of a small CF NetCDF file of daily tasmax (K), seeded."""
    rng = np.random.default_rng(seed)
    ds = xr.Dataset(
        {
            "tasmax": (
                ("time", "lat", "lon"),
                290 + 5 * rng.standard_normal((60, 6, 6)),
                {"units": "K"},
            )
        },
        coords={"time": np.arange(60.0), "lat": np.arange(6.0), "lon": np.arange(6.0)},
    )
    ds["time"].attrs.update(units="days since 2050-01-01", calendar="noleap")
    path = tmp_path / f"make-{seed}.nc"
    ds.to_netcdf(path, engine="netcdf4")
    return path.read_bytes()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture()
def body(tmp_path: Path) -> bytes:
    return netcdf_bytes(tmp_path, seed=1)


def cache_listing(cache: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(cache.iterdir())}


def test_a_file_that_fails_twice_is_retried_and_arrives_intact(tmp_path, body):
    with serve({"/a.nc": Route(body, fail_first=2)}) as server:
        result = download(server.url("/a.nc"), tmp_path / "cache" / "a.nc", **FAST)
        assert server.routes["/a.nc"].requests == 3
    assert result.status == "downloaded" and result.attempts == 3
    assert result.path.read_bytes() == body and result.sha256 == sha(body)
    with xr.open_dataset(result.path) as ds:  # a real NetCDF file, readable
        assert ds["tasmax"].shape == (60, 6, 6)


def test_too_many_failures_give_a_clear_error_and_cache_nothing(tmp_path, body):
    cache = tmp_path / "cache"
    with serve({"/a.nc": Route(body, fail_first=9)}) as server:
        url = server.url("/a.nc")
        with pytest.raises(DownloadError, match=r"a\.nc: gave up after 3 attempts: HTTP 503"):
            download(url, cache / "a.nc", retries=2, **FAST)
    assert not (cache / "a.nc").exists() and read_manifest(cache) == {}


def test_a_truncated_response_is_resumed_with_range(tmp_path, body):
    with serve({"/a.nc": Route(body, truncate_first=1)}) as server:
        result = download(server.url("/a.nc"), tmp_path / "a.nc", **FAST)
        route = server.routes["/a.nc"]
    assert result.status == "resumed" and result.path.read_bytes() == body
    assert route.headers_seen[1]["Range"] == f"bytes={len(body) // 2}-"
    assert route.headers_seen[1]["If-Range"] == route.etag
    # The whole file crossed the wire exactly once: half, then the other half.
    assert route.bytes_sent == len(body) and result.bytes_transferred == len(body)
    assert not (tmp_path / "a.nc.part").exists()


def test_a_server_that_never_completes_fails_then_resumes_later(tmp_path, body):
    cache = tmp_path / "cache"
    with serve({"/a.nc": Route(body, truncate_first=99, ranges=False)}) as server:
        with pytest.raises(DownloadError, match="gave up after 2 attempts: connection lost"):
            download(server.url("/a.nc"), cache / "a.nc", retries=1, **FAST)
        assert not (cache / "a.nc").exists() and read_manifest(cache) == {}
        partial = (cache / "a.nc.part").stat().st_size
        assert 0 < partial < len(body)  # kept only under the .part name
        server.routes["/a.nc"].truncate_first = 0
        server.routes["/a.nc"].ranges = True
        result = download(server.url("/a.nc"), cache / "a.nc", **FAST)
    assert result.status == "resumed" and result.bytes_transferred == len(body) - partial
    assert result.path.read_bytes() == body


def test_a_wrong_checksum_is_an_error_and_leaves_the_cache_unchanged(tmp_path, body):
    cache = tmp_path / "cache"
    other = netcdf_bytes(tmp_path, seed=2)
    with serve({"/a.nc": Route(body), "/b.nc": Route(other)}) as server:
        download(server.url("/a.nc"), cache / "a.nc", expected_sha256=sha(body), **FAST)
        before = cache_listing(cache)
        with pytest.raises(DownloadError, match=r"b\.nc: sha256 [0-9a-f]{64} does not match"):
            download(server.url("/b.nc"), cache / "b.nc", expected_sha256=sha(body), **FAST)
    assert cache_listing(cache) == before  # no b.nc, no b.nc.part, same manifest
    assert set(json.loads((cache / MANIFEST_NAME).read_text())) == {"a.nc"}


def test_a_second_pull_sends_the_etag_and_transfers_nothing_on_304(tmp_path, body):
    with serve({"/a.nc": Route(body)}) as server:
        first = download(server.url("/a.nc"), tmp_path / "a.nc", **FAST)
        second = download(server.url("/a.nc"), tmp_path / "a.nc", **FAST)
        route = server.routes["/a.nc"]
    assert first.status == "downloaded" and first.etag == route.etag
    assert second.status == "not_modified" and second.bytes_transferred == 0
    assert route.bytes_sent == len(body) and route.requests == 2
    assert route.headers_seen[1]["If-None-Match"] == route.etag
    entry = read_manifest(tmp_path)["a.nc"]
    assert entry["sha256"] == sha(body) and entry["size_bytes"] == len(body)


def test_a_known_checksum_skips_the_request_and_a_changed_file_is_fetched(tmp_path, body):
    new = netcdf_bytes(tmp_path, seed=3)
    with serve({"/a.nc": Route(body)}) as server:
        download(server.url("/a.nc"), tmp_path / "a.nc", **FAST)
        again = download(server.url("/a.nc"), tmp_path / "a.nc", expected_sha256=sha(body))
        assert again.status == "cached" and server.routes["/a.nc"].requests == 1
        server.routes["/a.nc"].body = new  # upstream publishes a new version
        changed = download(server.url("/a.nc"), tmp_path / "a.nc", **FAST)
    assert changed.status == "downloaded" and (tmp_path / "a.nc").read_bytes() == new


def test_a_partial_file_of_an_older_version_restarts_from_zero(tmp_path, body):
    new = netcdf_bytes(tmp_path, seed=4)
    with serve({"/a.nc": Route(body, truncate_first=1)}) as server:
        with pytest.raises(DownloadError):
            download(server.url("/a.nc"), tmp_path / "a.nc", retries=0, **FAST)
        server.routes["/a.nc"].body = new  # If-Range no longer matches: a full 200
        result = download(server.url("/a.nc"), tmp_path / "a.nc", **FAST)
    assert result.status == "downloaded" and result.path.read_bytes() == new


def test_404_names_the_url(tmp_path):
    with serve({}) as server:
        url = server.url("/missing/tasmax.nc")
        with pytest.raises(DownloadError, match=rf"^{url}: HTTP 404 Not Found"):
            download(url, tmp_path / "tasmax.nc", **FAST)
    assert list(tmp_path.iterdir()) == []


def flip_last_byte(path: Path, *, mtime_ns: int | None = None) -> None:
    """Corrupt one byte in place (size kept); optionally set the mtime back to ``mtime_ns``."""
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    if mtime_ns is not None:
        os.utime(path, ns=(mtime_ns, mtime_ns))


def test_a_cached_file_changed_on_disk_is_fetched_again_not_served(tmp_path, body):
    with serve({"/a.nc": Route(body)}) as server:
        download(server.url("/a.nc"), tmp_path / "a.nc", expected_sha256=sha(body), **FAST)
        flip_last_byte(tmp_path / "a.nc")  # a real edit: same size, new mtime
        again = download(server.url("/a.nc"), tmp_path / "a.nc", expected_sha256=sha(body))
        assert server.routes["/a.nc"].requests == 2
        assert "If-None-Match" not in server.routes["/a.nc"].headers_seen[1]  # no 304 allowed
    assert again.status == "downloaded" and (tmp_path / "a.nc").read_bytes() == body


def test_an_edit_in_the_same_timestamp_tick_as_the_download_is_seen(tmp_path, body):
    """Size and mtime of a file written just before it was hashed are not trusted."""
    target = tmp_path / "a.nc"
    with serve({"/a.nc": Route(body)}) as server:
        download(server.url("/a.nc"), target, expected_sha256=sha(body), **FAST)
        flip_last_byte(target, mtime_ns=target.stat().st_mtime_ns)  # within one tick
        again = download(server.url("/a.nc"), target, expected_sha256=sha(body), **FAST)
    assert again.status == "downloaded" and target.read_bytes() == body


def test_an_old_unchanged_file_is_hashed_once_then_trusted(tmp_path, body, monkeypatch):
    target = tmp_path / "a.nc"
    with serve({"/a.nc": Route(body)}) as server:
        download(server.url("/a.nc"), target, expected_sha256=sha(body), **FAST)
        old = time.time_ns() - 3600 * 10**9
        os.utime(target, ns=(old, old))  # e.g. restored from a backup: mtime moved, bytes same
        hashed: list[Path] = []
        real = fetch.sha256_file
        monkeypatch.setattr(fetch, "sha256_file", lambda p: hashed.append(p) or real(p))
        first = download(server.url("/a.nc"), target, expected_sha256=sha(body), **FAST)
        second = download(server.url("/a.nc"), target, expected_sha256=sha(body), **FAST)
        assert server.routes["/a.nc"].requests == 1
    assert first.status == second.status == "cached"
    assert hashed == [target]  # the first check re-hashed and refreshed the entry
    entry = read_manifest(tmp_path)["a.nc"]
    assert entry["mtime_ns"] == old and entry["verified_ns"] - old >= fetch.RACY_WINDOW_NS
