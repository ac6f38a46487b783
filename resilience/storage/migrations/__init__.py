"""Alembic migrations of the engine's database: every schema change is a revision here.

:mod:`.migration` upgrades a database to the newest revision (a fresh one gets them all; one
written before migrations existed is checked against revision 0001 and adopted) and reads
its current revision; :mod:`.versions` holds the revisions, one plain module each, written
by hand and never edited once released. There is no ``alembic.ini`` and no ``env.py``: the
configuration is built in code, so it works from an installed package
(:func:`resilience.storage.database.make_engine` calls it; decisions.md D28). Imports only
``alembic`` and ``sqlalchemy``; start at :mod:`.migration`.
"""
