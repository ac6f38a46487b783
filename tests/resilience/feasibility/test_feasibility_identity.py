"""The result hash (issue 14 item 2): stable for the same inputs, changed by any input."""

import hashlib

import pytest

from resilience.feasibility import identity
from resilience.feasibility.check import run_check
from resilience.feasibility.identity import canonical_json, result_hash


def test_canonical_json_is_sorted_compact_utf8():
    document = {"b": [1, 2.5, None], "a": {"z": "上海", "y": True}}
    text = canonical_json(document)
    assert text == '{"a":{"y":true,"z":"上海"},"b":[1,2.5,null]}'
    # pinned digest: the same in every process and on every machine
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    assert digest == "e8a5937edc5ef8afbea712b4105a7ed5c437b6c6f624c7eb81685ac1af33014f"


def test_same_inputs_give_the_same_hash(hot_layers, submission):
    first, second = run_check(submission, hot_layers), run_check(submission, hot_layers)
    assert first.check_id != second.check_id  # a new check each time ...
    assert first.result_hash == second.result_hash  # ... of the same inputs
    assert len(first.result_hash) == 64
    assert first.code_version.startswith("resilience ")
    assert first.parameters["target_probability"] == 0.10
    expected = result_hash(
        submission.model_dump(mode="json"),
        hot_layers,
        code=first.code_version,
        parameters=first.parameters,
    )
    assert first.result_hash == expected


def _hash(layers, submission, **kwargs):
    return run_check(submission, layers, **kwargs).result_hash


@pytest.mark.parametrize(
    "change",
    [
        "submission",
        "inputs_sha256",
        "layer_version",
        "file_sha256",
        "target",
        "code_version",
    ],
)
def test_any_changed_input_changes_the_hash(hot_layers, submission, monkeypatch, change):
    before = _hash(hot_layers, submission)
    kwargs = {}
    if change == "submission":
        submission = submission.model_copy(update={"criticality": 5})
    elif change in ("inputs_sha256", "layer_version", "file_sha256"):
        hot_layers["rain"] = hot_layers["rain"].assign_attrs({change: "another"})
    elif change == "target":
        kwargs["target_probability"] = 0.05
    else:
        monkeypatch.setattr(identity, "code_version", lambda: "resilience 9.9.9")
        import resilience.feasibility.check as check

        monkeypatch.setattr(check, "code_version", lambda: "resilience 9.9.9")
    assert _hash(hot_layers, submission, **kwargs) != before


_IN_ANOTHER_PROCESS = """
import importlib.util, sys
spec = importlib.util.spec_from_file_location("factory", sys.argv[1])
factory = importlib.util.module_from_spec(spec)
spec.loader.exec_module(factory)
from resilience.feasibility.check import run_check
from resilience.feasibility.models import Submission
submission = Submission.model_validate_json(sys.argv[2])
print(run_check(submission, factory.make_layers(heat_loc=39.0, surge_loc=5.2)).result_hash)
"""


def test_hash_is_the_same_in_a_fresh_process(hot_layers, submission):
    # a new interpreter has another hash seed: no set or dict order may leak into the hash
    import subprocess
    import sys
    from pathlib import Path

    factory = Path(__file__).with_name("conftest.py")
    result = subprocess.run(
        [sys.executable, "-c", _IN_ANOTHER_PROCESS, str(factory), submission.model_dump_json()],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONHASHSEED": "12345", "PATH": ""},
        cwd=Path(__file__).parents[3],
    )
    assert result.stdout.strip() == run_check(submission, hot_layers).result_hash
