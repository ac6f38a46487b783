import pytest

from hazard_models.layer import SchemaError
from resilience.fitting.record import read_station_record


def write(tmp_path, text):
    path = tmp_path / "gauge.csv"
    path.write_text(text)
    return path


def body(n, start=1950):
    return "".join(f"{start + i},{4.0 + 0.01 * i}\n" for i in range(n))


def test_reads_values_and_covariate_skipping_gaps(tmp_path):
    path = write(tmp_path, "year,level_m\n" + body(12) + "1990,NA\n")
    record = read_station_record(path, column="level_m", covariate="year")
    assert len(record.values) == 12 and record.covariate[0] == 1950.0
    assert record.skipped_lines == [14]


def test_missing_column_names_what_exists(tmp_path):
    path = write(tmp_path, "year,level_m\n" + body(12))
    with pytest.raises(SchemaError, match="missing column\\(s\\) surge_m.*found year, level_m"):
        read_station_record(path, column="surge_m")


def test_text_in_numbers_names_line_and_field(tmp_path):
    path = write(tmp_path, "year,level_m\n" + body(5) + "1955,high\n" + body(8, 1960))
    with pytest.raises(
        SchemaError, match="line 7, field 'level_m': expected a number, found 'high'"
    ):
        read_station_record(path, column="level_m")


def test_too_few_values(tmp_path):
    path = write(tmp_path, "year,level_m\n" + body(6))
    with pytest.raises(SchemaError, match="expected at least 10 numeric values to fit, found 6"):
        read_station_record(path, column="level_m")


def test_constant_values_and_missing_file(tmp_path):
    path = write(tmp_path, "year,level_m\n" + "".join(f"{1950 + i},4.0\n" for i in range(12)))
    with pytest.raises(SchemaError, match="all 12 values are equal"):
        read_station_record(path, column="level_m")
    with pytest.raises(FileNotFoundError, match="nope.csv"):
        read_station_record(tmp_path / "nope.csv", column="level_m")
