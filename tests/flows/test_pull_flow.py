"""The pull_projections Prefect flow and its fetch-sources task on small local catalogues."""

import hashlib
import importlib.util
import os
import shutil
import sys
import time
from pathlib import Path

import pytest
import xarray as xr
import yaml

from resilience.climate import verified_cache
from resilience.climate.catalog import write_sample_catalog
from resilience.climate.selection import PullError
from resilience.climate.verified_cache import VERIFIED_MANIFEST_NAME, read_verified_manifest
from resilience.sample.projections import write_sample_projections

pytestmark = pytest.mark.slow

_SPEC = importlib.util.spec_from_file_location(
    "resilience_test_pull_flow_http_server",
    Path(__file__).parents[1] / "resilience" / "climate" / "http_server.py",
)
http_server = importlib.util.module_from_spec(_SPEC)
sys.modules[_SPEC.name] = http_server
_SPEC.loader.exec_module(http_server)
Route, serve = http_server.Route, http_server.serve


def test_pull_flow_writes_projections_and_keeps_its_verification_in_the_cache(
    tmp_path, prefect_harness
):
    from flows.pull import pull_projections_flow

    source = tmp_path / "projections"
    write_sample_projections(
        source,
        models=("SYNTH-ESM-A",),
        experiments={"historical": range(1995, 2015)},
        variables=("pr",),
    )
    catalog = write_sample_catalog(source)
    kwargs = dict(
        catalog_path=catalog,
        cache_dir=tmp_path / "cache",
        variables=["pr"],
        horizons=["baseline"],
        region="shanghai",
    )
    path = pull_projections_flow(out_dir=tmp_path / "out", **kwargs)
    ds = xr.open_dataset(path, decode_times=xr.coders.CFDatetimeCoder(use_cftime=True))
    assert ds["pr"].attrs["units"] == "mm/day" and ds.sizes["time"] == 20 * 365
    manifest = read_verified_manifest(tmp_path / "cache")
    assert sorted(manifest) == sorted(str(p.resolve()) for p in source.glob("*.nc"))
    again = pull_projections_flow(out_dir=tmp_path / "out2", **kwargs)
    assert again.name == "projections.nc"


def fetch(*args):
    """Run the fetch-sources task once inside a flow run, as the pull and refresh flows do."""
    from prefect import flow

    from flows.pull import fetch_sources

    @flow(name="fetch-once")
    def fetch_once() -> list[str]:
        return fetch_sources(*args)

    return fetch_once()


def write_local_catalogue(folder: Path) -> Path:
    """Write two yearly pr files, written an hour ago, and their catalogue; return it."""
    write_sample_projections(
        folder / "projections",
        models=("SYNTH-ESM-A",),
        experiments={"historical": [2000, 2001]},
        variables=("pr",),
    )
    old = time.time_ns() - 3600 * 10**9  # files written long ago: the manifest trusts them
    for path in (folder / "projections").glob("*.nc"):
        os.utime(path, ns=(old, old))
    return write_sample_catalog(folder / "projections")


def flip_last_byte(path: Path) -> None:
    """Corrupt one byte in place as an editor would: same size, new mtime."""
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))


def truncate_keeping_mtime(path: Path) -> None:
    """Cut the file short and set its modification time back."""
    stat = path.stat()
    path.write_bytes(path.read_bytes()[:-64])
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))


@pytest.mark.parametrize("change", [flip_last_byte, truncate_keeping_mtime])
def test_fetch_sources_verifies_a_file_changed_after_a_successful_run(
    tmp_path, prefect_harness, monkeypatch, change
):
    catalog = write_local_catalogue(tmp_path)
    args = (catalog, ["pr"], ["baseline"], tmp_path / "cache", 2)
    first = fetch(*args)
    victim = Path(first[1])
    expected = yaml.safe_load(catalog.read_text())["sources"][0]["checksums"][victim.name]
    change(victim)
    found = hashlib.sha256(victim.read_bytes()).hexdigest()
    hashed: list[Path] = []
    real = verified_cache.sha256_file
    monkeypatch.setattr(verified_cache, "sha256_file", lambda p: hashed.append(p) or real(p))
    with pytest.raises(PullError) as caught:
        fetch(*args)
    assert f"{victim}: sha256 {found} does not match the catalogue's {expected}" in str(
        caught.value
    )
    assert hashed == [victim]  # the unchanged file was not read; no retry of a corrupt file


def test_fetch_sources_in_a_copied_folder_returns_only_that_folders_paths(
    tmp_path, prefect_harness
):
    served = tmp_path / "served"
    [made] = write_sample_projections(
        served, models=("SYNTH-ESM-A",), experiments={"historical": [2000]}, variables=("tasmax",)
    )
    body = made.read_bytes()
    with serve({f"/{made.name}": Route(body)}) as server:
        folder_a = tmp_path / "a"
        catalog = write_local_catalogue(folder_a)
        data = yaml.safe_load(catalog.read_text())
        data["sources"].append(
            {
                "name": "mirror",
                "driver": "http",
                "urls": [server.url(f"/{made.name}")],
                "variables": ["tasmax"],
                "models": ["SYNTH-ESM-A"],
                "experiments": ["historical"],
                "years": ["2000"],
                "checksums": {made.name: hashlib.sha256(body).hexdigest()},
            }
        )
        catalog.write_text(yaml.safe_dump(data, sort_keys=False))
        request = (["pr", "tasmax"], ["baseline"])
        in_a = fetch(catalog, *request, folder_a / "cache", 2)
        assert all(Path(p).is_relative_to(folder_a) for p in in_a) and len(in_a) == 3
        folder_b = tmp_path / "b"
        shutil.copytree(folder_a / "projections", folder_b / "projections")  # same catalogue
        in_b = fetch(folder_b / "projections" / "catalog.yaml", *request, folder_b / "cache", 2)
    assert all(Path(p).is_relative_to(folder_b) for p in in_b)
    assert [Path(p).name for p in in_b] == [Path(p).name for p in in_a]
    downloaded = [Path(p) for p in in_b if Path(p).name == made.name]
    assert downloaded == [folder_b / "cache" / "mirror" / made.name]
    assert downloaded[0].read_bytes() == body
    verified = read_verified_manifest(folder_b / "cache")
    assert all(Path(k).is_relative_to(folder_b) for k in verified) and len(verified) == 2
    assert (folder_b / "cache" / VERIFIED_MANIFEST_NAME).is_file()


def test_a_checksum_mismatch_is_not_retried_but_other_failures_are():
    from prefect.states import Failed

    from flows.pull import _retry_unless_corrupt
    from resilience.climate.selection import FileSpec
    from resilience.climate.verified_cache import ChecksumError

    spec = FileSpec("sample", "local", "/d/a.nc", "a.nc", ("pr",), ("M",), ("historical",), (2000,))
    corrupt = ChecksumError(Path("/d/a.nc"), expected="0" * 64, found="1" * 64, source="sample")
    assert not _retry_unless_corrupt(None, None, Failed(data=PullError([(spec, corrupt)])))
    gone = FileNotFoundError("/d/a.nc: does not exist")
    assert _retry_unless_corrupt(None, None, Failed(data=PullError([(spec, gone)])))
    assert _retry_unless_corrupt(
        None, None, Failed(data=PullError([(spec, corrupt), (spec, gone)]))
    )
    assert _retry_unless_corrupt(None, None, Failed(data=OSError("disk full")))
