"""Every setting is documented, and the environment reaches it."""

from pathlib import Path

import pydantic
import pytest

from keras_playground.config import Settings
from keras_playground.specs import Limits

DOC = (Path(__file__).parents[1] / "docs" / "settings.md").read_text()


def test_every_setting_and_limit_is_documented():
    names = [f"PLAYGROUND_{name.upper()}" for name in Settings.model_fields if name != "limits"]
    names += [f"PLAYGROUND_LIMITS__{name.upper()}" for name in Limits.model_fields]
    missing = [name for name in names if f"`{name}`" not in DOC]
    assert missing == []


def test_environment_variables_set_settings_and_nested_limits(monkeypatch):
    monkeypatch.setenv("PLAYGROUND_MAX_ACTIVE_RUNS", "7")
    monkeypatch.setenv("PLAYGROUND_LIMITS__MAX_UNITS", "128")
    settings = Settings()
    assert settings.max_active_runs == 7
    assert settings.limits.max_units == 128 and settings.limits.max_layers == 8


def test_a_setting_out_of_its_bounds_is_refused_by_name_and_bound(monkeypatch):
    monkeypatch.setenv("PLAYGROUND_XLA_PROGRAMS", "-1")
    with pytest.raises(pydantic.ValidationError) as refused:
        Settings()
    assert "xla_programs" in str(refused.value) and "greater than or equal to 0" in str(refused.value)
    monkeypatch.setenv("PLAYGROUND_XLA_PROGRAMS", "0")  # none: the XLA tier compiles nothing
    assert Settings().xla_programs == 0
