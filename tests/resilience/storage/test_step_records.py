"""Tests of the step records that let a rerun reuse a step's outputs (storage.provenance)."""

from __future__ import annotations

from resilience.storage.provenance import read_step_record, sha256_file, write_step_record


def test_a_record_is_honoured_only_for_its_key_and_intact_outputs(tmp_path):
    output = tmp_path / "table.csv"
    output.write_text("a,b\n1,2\n")
    record = tmp_path / "table.step.json"
    write_step_record(record, "key-1", outputs=[output], payload={"rows": 1})
    assert read_step_record(record, "key-1") == {"rows": 1}
    assert read_step_record(record, "key-2") is None  # another key: run again
    assert read_step_record(record, "") is None
    output.write_text("a,b\n1,3\n")  # edited since: run again
    assert read_step_record(record, "key-1") is None
    output.unlink()  # deleted since: run again, no error
    assert read_step_record(record, "key-1") is None


def test_an_empty_key_removes_an_older_record_and_a_broken_record_counts_as_none(tmp_path):
    record = tmp_path / "step.json"
    write_step_record(record, "key-1", payload={})
    assert read_step_record(record, "key-1") == {}
    write_step_record(record, "", payload={})  # a step that cannot be keyed: no stale record
    assert not record.exists()
    record.write_text("{not json")
    assert read_step_record(record, "key-1") is None


def test_sha256_file_is_the_digest_of_the_bytes(tmp_path):
    import hashlib

    path = tmp_path / "blob"
    data = bytes(range(256)) * 9000  # more than one 1 MiB block
    path.write_bytes(data)
    assert sha256_file(path) == hashlib.sha256(data).hexdigest()
