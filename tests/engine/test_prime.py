"""Priming: a training process pays its one-time costs at start, on throwaway runs that
leave nothing behind for the runs that come after."""

import logging

import pytest

from keras_playground.backends import prime
from keras_playground.config import Settings
from keras_playground.engine import prime as priming
from keras_playground.engine.cohort import COHORTS
from keras_playground.engine.pool import PROGRAMS
from keras_playground.engine.prime import prime_process
from keras_playground.engine.tiers import COMPILER


def _process_state():
    COMPILER.wait_idle(120)  # no other test's compile still under way
    return COMPILER.compiled, PROGRAMS.programs(), COHORTS.figures(), len(COHORTS._cohorts)


@pytest.mark.xla_tier
def test_priming_takes_a_class_through_xla_and_its_ends_and_keeps_nothing():
    compiled, programs, figures, cohorts = _process_state()
    report = prime_process(xla=True)
    assert report["cohort_tier"] == "xla"  # the class's stacked program, compiled by XLA
    assert report["ends"] == 3  # two members and a run alone, each ended with its archive
    assert COMPILER.compiled == compiled + 1  # that one compile: a solo program's pays nothing more
    # The process's own pool and cohorts, as they were: a real run meets none of the primer's.
    assert (PROGRAMS.programs(), COHORTS.figures(), len(COHORTS._cohorts)) == (programs, figures, cohorts)


def test_priming_without_the_xla_tier_compiles_nothing():
    compiled, *_ = _process_state()
    report = prime_process(xla=False)
    assert (report["cohort_tier"], report["ends"]) == ("traced", 3)
    assert COMPILER.compiled == compiled


def test_a_server_primes_unless_told_not_to_and_survives_a_failed_priming(monkeypatch, caplog):
    calls = []
    monkeypatch.setattr(priming, "prime_process", lambda **options: calls.append(options) or
                        {"seconds": 0.5, "cohort_tier": "traced", "ends": 3})
    prime(Settings(prime=False))
    assert calls == []
    with caplog.at_level(logging.INFO, logger="keras_playground.backends"):
        prime(Settings(prime=True, xla_tier=False, grid_resolution=32))
    assert calls == [{"xla": False, "resolution": 32, "thumb": 16}]
    assert "primed the training process in 0.5 s" in caplog.text

    def broken(**options):
        raise RuntimeError("no room")

    monkeypatch.setattr(priming, "prime_process", broken)
    with caplog.at_level(logging.WARNING, logger="keras_playground.backends"):
        prime(Settings(prime=True))  # logged, not raised: the server starts all the same
    assert "priming the training process failed" in caplog.text
