"""Prefect 3 flows: thin orchestration of the ``resilience`` library, coarse tasks only.

:mod:`.refresh` (the scheduled risk refresh: sample or pull, hazard layers, overlay, risk,
publish) over the steps of :mod:`.steps`; :mod:`.pull` (climate projections from a
catalogue); :mod:`.issue_warnings` (forecast intake to CAP alerts and delivery); :mod:`.demo`
(the ``make demo`` job); :mod:`.deployments` (serving them on a schedule). The only package
that imports Prefect; parallelism inside arrays is dask's job.
"""
