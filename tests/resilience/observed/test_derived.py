"""The shipped observed folder: provenance, checksums, regenerated derived files, `fit` on them."""

import hashlib
import importlib.util
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from resilience.cli.main import app
from resilience.observed.shipped import (
    ERA5LAND_FILE,
    GHCN_STATIONS,
    HOURLY_FILE,
    OBSERVED_EVENTS_FILE,
    PSMSL_STATIONS,
    annual_maxima_file_name,
    observed_dir,
    observed_file,
)

ROOT = Path(__file__).resolve().parents[3]
PROVENANCE = observed_file("PROVENANCE.md")
COPIED = [
    ERA5LAND_FILE,
    HOURLY_FILE,
    *(s.monthly_file for s in GHCN_STATIONS.values()),
    *(f for _, f in PSMSL_STATIONS.values()),
    "psmsl/979.docu.txt",
    "psmsl/934.docu.txt",
    "psmsl/stations.csv",
]
DERIVED = [*(annual_maxima_file_name(s) for s in GHCN_STATIONS.values()), OBSERVED_EVENTS_FILE]


def load_script():
    spec = importlib.util.spec_from_file_location(
        "make_observed_files", observed_dir() / "make_observed_files.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_provenance_lists_every_file_with_its_checksum():
    text = PROVENANCE.read_text(encoding="utf-8")
    for name in (*COPIED, *DERIVED, "make_observed_files.py"):
        assert Path(name).name in text, name
    for name in COPIED:
        digest = hashlib.sha256(observed_file(name).read_bytes()).hexdigest()
        assert digest in text, f"{name}: sha256 {digest} not in PROVENANCE.md"
    for phrase in ("CC BY 4.0", "Copernicus", "Menne", "Holgate", "Liang", "@"):
        assert phrase in text
    index = (observed_dir().parent / "PROVENANCE.md").read_text(encoding="utf-8")
    assert "| `observed/` |" in index


def test_every_shipped_file_is_listed_in_provenance():
    text = PROVENANCE.read_text(encoding="utf-8")
    shipped = [p for p in observed_dir().rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    unlisted = [p.name for p in shipped if p.name != "PROVENANCE.md" and p.name not in text]
    assert unlisted == []


def test_derived_files_regenerate_identically(tmp_path):
    written = load_script().write_observed_files(tmp_path)
    assert sorted(p.name for p in written) == sorted(DERIVED)
    for path in written:
        shipped = observed_file(path.name).read_bytes()
        assert path.read_bytes() == shipped, f"{path.name} differs: rerun make_observed_files.py"


def test_the_product_never_reads_the_shared_folder():
    sources = [
        *(ROOT / "resilience" / "observed").glob("*.py"),
        observed_dir() / "make_observed_files.py",
    ]
    assert [p.name for p in sources if "/work/shared" in p.read_text(encoding="utf-8")] == []


@pytest.mark.parametrize(("column", "years"), [("tmax_degc", 26), ("prcp_mm", 23)])
def test_resilience_fit_reads_the_annual_maxima(column, years):
    """`resilience fit` skips the empty cells of incomplete years (35 rows, 1991-2025)."""
    path = observed_file(annual_maxima_file_name(GHCN_STATIONS["58362"]))
    result = CliRunner().invoke(app, ["fit", str(path), "--column", column, "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["n"] == years
