import stat

import pytest

from resilience.storage.atomic import atomic_path, write_text_atomic


def test_write_replaces_whole_file_with_readable_permissions(tmp_path):
    target = tmp_path / "sub" / "report.html"
    write_text_atomic(target, "first")
    write_text_atomic(target, "second")
    assert target.read_text() == "second"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert [p.name for p in target.parent.iterdir()] == ["report.html"]


def test_failure_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "table.csv"
    write_text_atomic(target, "good")
    with pytest.raises(RuntimeError, match="crash"):
        with atomic_path(target) as temporary:
            temporary.write_text("half-writ")
            raise RuntimeError("crash mid-write")
    assert target.read_text() == "good"
    assert [p.name for p in tmp_path.iterdir()] == ["table.csv"]


def test_temporary_path_does_not_exist_unless_asked(tmp_path):
    with atomic_path(tmp_path / "a.gpkg") as temporary:
        assert not temporary.exists() and temporary.suffix == ".gpkg"
        temporary.write_text("x")
    with atomic_path(tmp_path / "b.csv", create=True) as temporary:
        assert temporary.exists()


def test_copy_file_atomic_copies_every_byte_and_leaves_no_temporary(tmp_path):
    from resilience.storage.atomic import copy_file_atomic

    source = tmp_path / "table.csv"
    data = bytes(range(256)) * 9000  # more than one 1 MiB block
    source.write_bytes(data)
    target = tmp_path / "published" / "table.csv"
    target.parent.mkdir()
    target.write_bytes(b"an older table")
    copy_file_atomic(source, target)
    assert target.read_bytes() == data
    assert sorted(p.name for p in target.parent.iterdir()) == ["table.csv"]
