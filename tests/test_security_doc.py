"""docs/security.md names only settings that exist, and every protection's setting."""

import re
from pathlib import Path

from keras_playground.config import Settings
from keras_playground.specs import Limits

DOC = (Path(__file__).parents[1] / "docs" / "security.md").read_text()
KNOWN = {f"PLAYGROUND_{name.upper()}" for name in Settings.model_fields}
KNOWN |= {f"PLAYGROUND_LIMITS__{name.upper()}" for name in Limits.model_fields}
PROTECTIONS = ["ALLOWED_ORIGINS", "RUNS_PER_ADDRESS_PER_MINUTE", "MAX_RUNS_PER_CLIENT", "MAX_ACTIVE_RUNS",
               "PAUSED_RUN_TIMEOUT", "SUBMISSIONS_PER_MINUTE", "ROOM_CHANGES_PER_MINUTE", "MAX_ROOMS",
               "INSTRUCTOR_PASSWORD", "ROOMS_NEED_PASSWORD", "REDIS_OUTAGE_SECONDS", "MAX_BODY_BYTES",
               "LIMITS__MAX_ABS_COORDINATE", "JOINS_PER_ADDRESS_PER_MINUTE",
               "ROOM_MISSES_PER_ADDRESS_PER_MINUTE"]


def test_every_setting_named_exists():
    named = set(re.findall(r"PLAYGROUND_[A-Z_]+[A-Z]", DOC))
    assert named - KNOWN == set()


def test_every_protection_names_its_setting():
    assert [name for name in PROTECTIONS if f"`PLAYGROUND_{name}`" not in DOC] == []


def test_the_rate_default_it_reasons_about_is_the_setting():
    default = Settings.model_fields["runs_per_address_per_minute"].default
    assert f"The default, {default}, is sized for a class behind one NAT" in DOC
