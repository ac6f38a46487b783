"""The revisions, in order: ``r0001_initial`` (the schema of release 0.1.0) and after.

Each module sets ``revision`` and ``down_revision`` and defines ``upgrade()`` and
``downgrade()``; a revision freezes the tables it needs as Core ``Table`` objects of its own
instead of importing :mod:`resilience.storage.tables`, whose models move on. Alembic loads
these files by path (this ``__init__`` is skipped); importing them runs nothing.
"""
