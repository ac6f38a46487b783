"""Rainstorms: yearly rain indices, the rain hazard layer, and the future IDF layer.

:mod:`.indices` holds yearly indices (Rx1day, Rx5day, rainstorm days, R95pTOT...);
:mod:`.layer` builds the rain HazardLayer; :mod:`.idf` holds the storm-intensity formula and
the Chicago design storm, and :mod:`.idf_layer` the future intensity-duration-frequency layer.
May import the top of ``hazard_models`` and :mod:`hazard_models.extremes`; never ``heat`` or
``coast``. Start at :mod:`.layer`.
"""
