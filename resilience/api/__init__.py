"""The REST API (FastAPI): warnings, feeds and CAP messages over HTTP, with per-agency keys.

:mod:`.app` builds the application (``resilience serve``); web pages and the feasibility
service will live beside it. May import every ``resilience`` subpackage but ``cli``.
"""
