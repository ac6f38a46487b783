"""The command line (typer): one module per command group, composed in :mod:`.main`.

:mod:`.main` holds the application and the top-level commands (sample, demo, refresh, fit,
pull, layers, version) and adds :mod:`.check` and the groups :mod:`.keys`, :mod:`.hazards`,
:mod:`.surge`, :mod:`.flood`, :mod:`.compound` and :mod:`.warn`; :mod:`.summary` prints the
demo's summary.
The composition root: it may import any package, and ``flows`` inside a command only (so
that start-up stays light, decisions.md D3). ``resilience.cli:app`` is the console entry.
"""

from resilience.cli.main import app

__all__ = ["app"]
