import pandas as pd

from flows.steps import very_high_counts


def test_very_high_counts_assets_once_per_column():
    table = pd.DataFrame(
        {
            "asset_id": ["a", "a", "b", "b", "c"],
            "hazard": ["heat", "heat", "heat", "surge", "surge"],
            "scenario": ["ssp245", "ssp585", "ssp585", "ssp585", "ssp245"],
            "horizon": ["baseline", "far", "far", "far", "near"],
            "risk_class": ["very high", "very high", "very high", "very high", "very high"],
        }
    )
    assert very_high_counts(table) == {
        "heat": {"baseline": 1, "ssp245 far": 0, "ssp585 far": 2},
        "surge": {"baseline": 0, "ssp245 far": 0, "ssp585 far": 1},
    }
