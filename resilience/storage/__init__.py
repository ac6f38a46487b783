"""Everything the engine keeps: the database, hazard-layer files, results and their provenance.

:mod:`.tables` (every database table) and :mod:`.database` (engine, transactional sessions
and cross-process locks; SQLite in WAL mode by default, PostgreSQL through settings);
:mod:`.atomic` (temporary file, then rename: nothing is left half-written);
:mod:`.layer_store` (publishing hazard layers as a set, opening them verified) with
:mod:`.layer_checks` (plausibility before publish); :mod:`.risk_io` (the RiskTable as
GeoPackage and CSV) with :mod:`.csv_safe` (no formula injection); :mod:`.csv_rows` (CSV
reading with file, line and field in every error); :mod:`.provenance` (content hashes).
The bottom layer of ``resilience``: imports ``hazard_models`` and ``assets`` contracts only,
no other ``resilience`` subpackage. Start at :mod:`.layer_store`.
"""
