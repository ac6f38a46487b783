"""resilience.climate.verified_cache: every run verifies, unchanged files are not re-hashed."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml

from resilience.climate import verified_cache
from resilience.climate.catalog import load_catalog, write_sample_catalog
from resilience.climate.selection import FileSpec, PullError, select
from resilience.climate.verified_cache import (
    VERIFIED_MANIFEST_NAME,
    ChecksumError,
    pull_verified,
    read_verified_manifest,
)
from resilience.sample.projections import write_sample_projections

_SPEC = importlib.util.spec_from_file_location(
    "resilience_test_verified_cache_http_server", Path(__file__).with_name("http_server.py")
)
http_server = importlib.util.module_from_spec(_SPEC)
sys.modules[_SPEC.name] = http_server
_SPEC.loader.exec_module(http_server)
Route, serve = http_server.Route, http_server.serve

YEARS = (2000, 2001, 2002)
#: A modification time an hour before now: files "written long ago", so that the manifest
#: may trust them (a file modified within RACY_WINDOW_NS of its hashing is hashed again).
HOUR_NS = 3600 * 10**9


def write_folder(folder: Path) -> Path:
    """Write three yearly pr files and their catalogue (with sha256s); return the catalogue."""
    write_sample_projections(
        folder / "projections",
        models=("SYNTH-ESM-A",),
        experiments={"historical": YEARS},
        variables=("pr",),
    )
    catalog = write_sample_catalog(folder / "projections")
    age_files(folder / "projections")
    return catalog


def age_files(folder: Path) -> None:
    """Set every .nc file's access and modification times to an hour ago."""
    old = time.time_ns() - HOUR_NS
    for path in folder.rglob("*.nc"):
        os.utime(path, ns=(old, old))


def specs_of(catalog: Path) -> list[FileSpec]:
    return select(load_catalog(catalog), variables=["pr"], horizons=["baseline"])


@pytest.fixture()
def hashed(monkeypatch) -> list[Path]:
    """Record every file that verified_cache hashes, in order."""
    seen: list[Path] = []
    real = verified_cache.sha256_file

    def counting(path: Path) -> str:
        seen.append(Path(path))
        return real(path)

    monkeypatch.setattr(verified_cache, "sha256_file", counting)
    return seen


def flip_one_byte(path: Path) -> None:
    """Change the last byte in place, as an editor would (size kept, mtime now)."""
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))


def test_a_second_pull_hashes_nothing_and_the_manifest_holds_what_was_verified(tmp_path, hashed):
    catalog = write_folder(tmp_path)
    specs = specs_of(catalog)
    cache = tmp_path / "cache"
    first = pull_verified(specs, cache)
    assert first == [Path(s.location) for s in specs] and len(hashed) == 3
    manifest = read_verified_manifest(cache)
    assert sorted(manifest) == sorted(str(Path(s.location).resolve()) for s in specs)
    for spec in specs:
        entry = manifest[str(Path(spec.location).resolve())]
        stat = Path(spec.location).stat()
        assert entry["sha256"] == spec.sha256
        assert (entry["size_bytes"], entry["mtime_ns"]) == (stat.st_size, stat.st_mtime_ns)
    hashed.clear()
    again = pull_verified(specs, cache)
    assert again == first and hashed == []  # size and mtime unchanged: nothing read


def corrupt_same_size(path: Path) -> None:
    flip_one_byte(path)  # a real edit: the mtime moves to now


def truncate_mtime_restored(path: Path) -> None:
    stat = path.stat()
    path.write_bytes(path.read_bytes()[:-100])
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def append_a_byte(path: Path) -> None:
    with path.open("ab") as handle:
        handle.write(b"\0")


@pytest.mark.parametrize("change", [corrupt_same_size, truncate_mtime_restored, append_a_byte])
def test_a_changed_file_is_hashed_again_and_fails_naming_file_and_checksums(
    tmp_path, hashed, change
):
    catalog = write_folder(tmp_path)
    specs = specs_of(catalog)
    cache = tmp_path / "cache"
    pull_verified(specs, cache)
    victim = Path(specs[1].location)
    change(victim)
    found = hashlib.sha256(victim.read_bytes()).hexdigest()
    hashed.clear()
    with pytest.raises(PullError) as caught:
        pull_verified(specs, cache)
    assert hashed == [victim]  # only the changed file was read again
    message = str(caught.value)
    assert f"{victim}: sha256 {found} does not match the catalogue's {specs[1].sha256}" in message
    [(spec, error)] = caught.value.failures
    assert spec == specs[1] and isinstance(error, ChecksumError)
    assert (error.path, error.expected, error.found) == (victim, specs[1].sha256, found)
    # The failed file left the manifest, so it is hashed (and fails) on every run after.
    assert str(victim.resolve()) not in read_verified_manifest(cache)
    with pytest.raises(PullError, match="does not match the catalogue's"):
        pull_verified(specs, cache)


def test_an_edit_in_the_same_timestamp_tick_as_the_verification_is_caught(tmp_path):
    """A file hashed soon after it was written is not trusted by size and mtime next time.

    Timestamps have the resolution of a kernel tick (several ms) or worse, so a write right
    after verification can leave the mtime as it was; os.utime stands in for that here.
    """
    catalog = write_folder(tmp_path)
    specs = specs_of(catalog)
    victim = Path(specs[0].location)
    now = time.time_ns()
    os.utime(victim, ns=(now, now))  # just written
    pull_verified(specs, tmp_path / "cache")
    flip_one_byte(victim)
    os.utime(victim, ns=(now, now))  # the same tick: size and mtime as verified
    with pytest.raises(PullError, match=rf"{victim}: sha256 [0-9a-f]{{64}} does not match"):
        pull_verified(specs, tmp_path / "cache")


def test_the_documented_limit_size_and_mtime_restored_needs_rehash(tmp_path):
    """An edit that restores size and mtime is invisible to the manifest; rehash finds it."""
    catalog = write_folder(tmp_path)
    specs = specs_of(catalog)
    pull_verified(specs, tmp_path / "cache")
    victim = Path(specs[2].location)
    stat = victim.stat()
    flip_one_byte(victim)
    os.utime(victim, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    # The limit documented in verified_cache and docs/pull.md: this passes unseen...
    assert pull_verified(specs, tmp_path / "cache")[2] == victim
    # ...and a full re-hash is the remedy.
    with pytest.raises(PullError, match=f"{victim}: sha256"):
        pull_verified(specs, tmp_path / "cache", rehash=True)


def test_a_new_catalogue_checksum_is_checked_even_for_a_file_in_the_manifest(tmp_path, hashed):
    catalog = write_folder(tmp_path)
    pull_verified(specs_of(catalog), tmp_path / "cache")
    data = yaml.safe_load(catalog.read_text())
    name = next(iter(data["sources"][0]["checksums"]))
    data["sources"][0]["checksums"][name] = "0" * 64
    catalog.write_text(yaml.safe_dump(data, sort_keys=False))
    hashed.clear()
    with pytest.raises(
        PullError, match=f"{name}: sha256 [0-9a-f]{{64}} does not match .* {'0' * 64}"
    ):
        pull_verified(specs_of(catalog), tmp_path / "cache")
    assert [p.name for p in hashed] == [name]


def test_a_copied_folder_is_verified_on_its_own_and_returns_only_its_own_paths(tmp_path, hashed):
    cache = tmp_path / "shared-cache"  # the worst case: both folders share one cache
    first = pull_verified(specs_of(write_folder(tmp_path / "a")), cache)
    # copytree keeps sizes and mtimes, so only a manifest keyed by path tells the copies apart.
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    hashed.clear()
    second = pull_verified(specs_of(tmp_path / "b" / "projections" / "catalog.yaml"), cache)
    assert all(Path(p).is_relative_to(tmp_path / "b") for p in second)
    assert [Path(p).name for p in second] == [Path(p).name for p in first]
    assert sorted(hashed) == sorted(second)  # b's files were read, not trusted from a's entries


def test_a_lost_manifest_update_only_costs_a_rehash_never_a_wrong_pass(tmp_path, hashed):
    """Two runs at once: the slower one's write drops the other's entries, or restores old ones."""
    catalog = write_folder(tmp_path)
    specs = specs_of(catalog)
    cache = tmp_path / "cache"
    manifest = cache / VERIFIED_MANIFEST_NAME
    pull_verified(specs[:1], cache)
    stale = manifest.read_text()  # what the slower run read before the other one wrote
    pull_verified(specs, cache)
    manifest.write_text(stale)  # the slower run's write: specs[1:] entries are lost
    hashed.clear()
    pull_verified(specs, cache)
    assert sorted(hashed) == sorted(Path(s.location) for s in specs[1:])
    # A stale entry for a file that has changed since does not make it pass.
    old = manifest.read_text()
    flip_one_byte(Path(specs[0].location))
    pull_verified(specs[1:], cache)  # another run writes without touching specs[0]
    manifest.write_text(old)
    with pytest.raises(PullError, match=f"{specs[0].location}: sha256"):
        pull_verified(specs, cache)


def test_threads_pulling_at_once_keep_a_valid_manifest(tmp_path):
    catalog = write_folder(tmp_path)
    specs = specs_of(catalog)
    cache = tmp_path / "cache"
    errors: list[BaseException] = []

    def run(subset: list[FileSpec]) -> None:
        try:
            for _ in range(5):
                pull_verified(subset, cache, concurrency=2, rehash=True)
        except BaseException as err:  # reported below
            errors.append(err)

    threads = [threading.Thread(target=run, args=([s],)) for s in specs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    entries = json.loads((cache / VERIFIED_MANIFEST_NAME).read_text())
    assert sorted(entries) == sorted(str(Path(s.location).resolve()) for s in specs)


def test_an_unreadable_manifest_means_everything_is_hashed_again(tmp_path, hashed, caplog):
    catalog = write_folder(tmp_path)
    specs = specs_of(catalog)
    cache = tmp_path / "cache"
    pull_verified(specs, cache)
    (cache / VERIFIED_MANIFEST_NAME).write_text("{not json")
    hashed.clear()
    assert pull_verified(specs, cache) == [Path(s.location) for s in specs]
    assert len(hashed) == 3 and "every file will be hashed again" in caplog.text
    assert len(read_verified_manifest(cache)) == 3  # rewritten whole


def test_a_missing_file_is_named(tmp_path):
    catalog = write_folder(tmp_path)
    specs = specs_of(catalog)
    Path(specs[0].location).unlink()
    with pytest.raises(PullError, match=rf"{specs[0].location}: does not exist; source 'sample'"):
        pull_verified(specs, tmp_path / "cache")


def test_local_and_http_sources_keep_their_order_and_downloads_stay_in_the_cache(tmp_path):
    catalog = write_folder(tmp_path)
    data = yaml.safe_load(catalog.read_text())
    served = tmp_path / "served"
    [made] = write_sample_projections(
        served, models=("SYNTH-ESM-A",), experiments={"historical": [2000]}, variables=("tasmax",)
    )
    body = made.read_bytes()
    with serve({f"/{made.name}": Route(body)}) as server:
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
        specs = select(load_catalog(catalog), variables=["pr", "tasmax"], horizons=["baseline"])
        located = pull_verified(specs, tmp_path / "cache")
    assert [s.driver for s in specs] == ["local", "local", "local", "http"]
    assert located[:3] == [Path(s.location) for s in specs[:3]]
    assert located[3] == tmp_path / "cache" / "mirror" / made.name
    assert located[3].read_bytes() == body


def test_concurrency_below_one_is_refused(tmp_path):
    with pytest.raises(ValueError, match="concurrency: expected >= 1, found 0"):
        pull_verified([], tmp_path, concurrency=0)
