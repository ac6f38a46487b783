"""Shared readings of the shipped observations (each file is read once per test session)."""

import pytest

from resilience.observed.era5land import open_era5land
from resilience.observed.hourly import read_hourly_station


@pytest.fixture(scope="session")
def era5land():
    """The shipped ERA5-Land file, opened (about 1 s)."""
    return open_era5land()


@pytest.fixture(scope="session")
def hourly():
    """The shipped hourly station record, read (about 1 s)."""
    return read_hourly_station()
