"""The JTWC track reader (resilience.coast.typhoon_io) on the shipped file and bad files."""

from __future__ import annotations

import pytest

from hazard_models.layer import SchemaError
from resilience.coast.typhoon_io import read_typhoon_tracks, shipped_typhoon_days


def test_read_the_shipped_tracks():
    tracks = read_typhoon_tracks()
    # PROVENANCE.md of resilience/data/typhoon: 3278 six-hourly points of 95 storms.
    assert len(tracks) == 3278 and tracks["jtwc_sn"].nunique() == 95
    assert str(tracks["time_utc"].dt.tz) == "UTC"
    assert tracks.attrs["source"].endswith("jtwc_wp_tracks_within300km_shanghai_1945-2021.csv")


def test_shipped_typhoon_days():
    days = shipped_typhoon_days()
    # 155 storm-days of 95 storms within 300 km (docs/surge.md, section 7); In-Fa (2021)
    # was within 100 km on 26 July local time.
    assert len(days) == 155 and days["jtwc_sn"].nunique() == 95
    near = shipped_typhoon_days(radius_km=100.0)
    in_fa = near[near["storm_name"] == "IN-FA"]["date"].dt.strftime("%Y-%m-%d").tolist()
    assert "2021-07-26" in in_fa and len(near) < len(days)


def test_errors_name_file_line_and_field(tmp_path):
    bad = tmp_path / "tracks.csv"
    bad.write_text(
        "jtwc_sn,storm_name,time_utc,dist_to_shanghai_km\n"
        "202109,IN-FA,2021-07-26T00:00Z,64.3\n"
        "202109,IN-FA,yesterday,80\n"
    )
    with pytest.raises(SchemaError, match="line 3, field 'time_utc': expected an ISO UTC time"):
        read_typhoon_tracks(bad)
    bad.write_text(
        "jtwc_sn,storm_name,time_utc,dist_to_shanghai_km\n202109,IN-FA,2021-07-26T00:00Z,far\n"
    )
    with pytest.raises(SchemaError, match="line 2, field 'dist_to_shanghai_km': expected a num"):
        read_typhoon_tracks(bad)
    bad.write_text("jtwc_sn,time_utc\n202109,2021-07-26T00:00Z\n")
    with pytest.raises(SchemaError, match="missing column"):
        read_typhoon_tracks(bad)
    with pytest.raises(FileNotFoundError, match="file not found"):
        read_typhoon_tracks(tmp_path / "absent.csv")
