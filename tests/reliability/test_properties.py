"""Property-based tests (hypothesis): the input parsers fail only with their own clear errors.

Whatever a user writes into a submission, a rule file or a city profile, the parser either
accepts it, with every number finite and in range, or raises the error type the CLI turns
into a one-line message (ValidationError, RuleError, ProfileError): never a traceback from
deeper inside.
"""

from __future__ import annotations

import copy
import math
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from resilience.early_warning.rule_models import RuleError
from resilience.early_warning.rules import default_rules_path, parse_rules
from resilience.feasibility.models import Submission
from resilience.profile import ProfileError, load_profile
from resilience.sample.bundle import EXAMPLE_SUBMISSION

JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)
SHIPPED_RULES = yaml.safe_load(Path(default_rules_path()).read_text(encoding="utf-8"))


@settings(max_examples=300, deadline=None)
@given(field=st.sampled_from(sorted(EXAMPLE_SUBMISSION)), value=JUNK)
def test_a_submission_with_any_value_is_valid_and_finite_or_refused(field, value):
    raw = {**EXAMPLE_SUBMISSION, field: value}
    try:
        submission = Submission.model_validate(raw)
    except ValidationError:
        return
    for name, number in submission.model_dump().items():
        if isinstance(number, float):
            assert math.isfinite(number), (name, number)
    if field != "project_name" and isinstance(value, bool):
        raise AssertionError(f"{field}: a boolean was accepted as a number")


def _leaves(node, path=()):
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _leaves(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _leaves(value, (*path, index))
    else:
        yield path


LEAF_PATHS = list(_leaves(SHIPPED_RULES))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(index=st.integers(min_value=0, max_value=len(LEAF_PATHS) - 1), value=JUNK)
def test_a_rule_file_with_any_leaf_changed_parses_or_names_the_problem(index, value):
    raw = copy.deepcopy(SHIPPED_RULES)
    node = raw
    path = LEAF_PATHS[index]
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    try:
        parse_rules(raw, name="fuzzed.yaml")
    except RuleError as error:
        assert str(error).startswith("fuzzed.yaml")


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=st.text(max_size=300))
def test_a_profile_file_with_any_text_loads_or_names_the_problem(tmp_path, text):
    path = tmp_path / "profile.yaml"
    path.write_text(text, encoding="utf-8")
    try:
        load_profile(path)
    except ProfileError as error:
        assert str(path) in str(error)
