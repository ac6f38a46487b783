"""The fault catalogue of issue 13: every test here reproduces one fault.

Mark each test ``@pytest.mark.fault("13.N", "what goes wrong")`` with the issue item and
the fault; the run ends with a summary of how many faults were tried and how many were
handled (the test passed), per item, so the catalogue reads as the engine's record. The
hooks that count them live in ``tests/conftest.py``: under pytest-xdist only the top
conftest is loaded by the process that prints the summary.
"""
