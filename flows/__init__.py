"""Prefect 3 flows: thin orchestration of the ``resilience`` library, coarse tasks only.

:mod:`.refresh` (the scheduled refresh of one city profile: projections, bias adjustment,
hazard layers, overlay, risk) over the steps of :mod:`.projection_steps` and :mod:`.steps`;
:mod:`.pull` (climate projections from a catalogue); :mod:`.issue_warnings` (forecast intake
to CAP alerts and delivery); :mod:`.feasibility` (feasibility checks of a folder of
submissions, through the same service as the CLI and the API); :mod:`.demo` (the
``make demo`` job); :mod:`.deployments` (the entry points that ``prefect.yaml`` deploys on a
schedule). The only package that imports Prefect; parallelism inside arrays is dask's job.
"""
