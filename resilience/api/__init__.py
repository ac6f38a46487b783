"""The REST API (FastAPI): feasibility checks and their review, warnings, feeds, CAP messages.

:mod:`.app` builds the application (``resilience serve``) from the routers of :mod:`.checks`
and :mod:`.alerts`; :mod:`.auth` maps a request's key to its caller and role, :mod:`.keys`
keeps keys in the database, :mod:`.legacy_keys` reads the keys file of before, and
:mod:`.limits` refuses oversized bodies and words validation errors. Start at :mod:`.app`;
docs/api.md is the reference. May import every ``resilience`` subpackage but ``cli``.
"""
