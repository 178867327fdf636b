"""docs/performance.md says what the engine does: the modules it names exist, and the
numbers it quotes from the code (capacities, calls before a compile, the gather wait, the
settings) are the code's."""

import re
from pathlib import Path

import keras_playground
from keras_playground.config import Settings
from keras_playground.engine import cohort, cohort_lane

PACKAGE = Path(keras_playground.__file__).parent
DOC = (PACKAGE.parents[1] / "docs" / "performance.md").read_text()


def test_every_module_the_page_names_exists():
    named = set(re.findall(r"`((?:engine|bench|jobs)/[a-z_]+\.py)`", DOC))
    assert named and sorted(m for m in named if not (PACKAGE / m).exists()) == []


def test_the_numbers_it_quotes_are_the_codes():
    capacities = ", ".join(str(c) for c in cohort.CAPACITIES[:-1]) + f" or {cohort.CAPACITIES[-1]}"
    assert capacities in DOC  # "2, 4, 8, 16 or 32"
    assert f"held for {['', 'one', 'two', 'three', 'four'][cohort.STEADY_CALLS]} calls" in DOC
    assert f"({cohort.GATHER_SECONDS * 1000:.0f} ms at most)" in DOC
    assert "a cohort has one" in DOC and "One a\n    cohort" in cohort_lane.Lane.__doc__


def test_the_settings_it_names_exist():
    named = set(re.findall(r"`PLAYGROUND_([A-Z_]+)", DOC))
    assert named and sorted(n for n in named if n.lower() not in Settings.model_fields) == []
