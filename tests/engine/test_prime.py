"""Priming: a training process pays its one-time costs at start, on throwaway runs that
leave nothing behind for the runs that come after, and says whether it did."""

import math

import pytest

from keras_playground.engine import prime as priming
from keras_playground.engine.cohort import COHORTS
from keras_playground.engine.pool import PROGRAMS
from keras_playground.engine.prime import prime_process
from keras_playground.engine.session import TrainingSession
from keras_playground.engine.tiers import COMPILER


def _process_state():
    COMPILER.wait_idle(120)  # no other test's compile still under way
    return COMPILER.compiled, PROGRAMS.programs(), COHORTS.figures(), len(COHORTS._cohorts)


def _ended_well(report):
    return (len(report["test_losses"]) == 3 and all(math.isfinite(loss) for loss in report["test_losses"])
            and all(size > 1000 for size in report["archive_bytes"]))  # two members and a run alone


@pytest.mark.xla_tier
def test_priming_takes_a_class_through_xla_and_its_ends_and_keeps_nothing():
    compiled, programs, figures, cohorts = _process_state()
    report = prime_process(xla=True)
    assert report["cohort_tier"] == "xla"  # the class's stacked program, compiled by XLA
    assert _ended_well(report)  # each run ended: its test figures and its .keras archive
    assert COMPILER.compiled == compiled + 1  # that one compile: a solo program's pays nothing more
    # The process's own pool and cohorts, as they were: a real run meets none of the primer's.
    assert (PROGRAMS.programs(), COHORTS.figures(), len(COHORTS._cohorts)) == (programs, figures, cohorts)


def test_priming_without_the_xla_tier_compiles_nothing():
    compiled, *_ = _process_state()
    report = prime_process(xla=False)
    assert report["cohort_tier"] == "traced" and _ended_well(report)
    assert COMPILER.compiled == compiled


def test_a_run_that_fails_while_priming_fails_the_priming(monkeypatch):
    def broken(self):
        raise RuntimeError("out of memory")

    monkeypatch.setattr(TrainingSession, "train_epoch", broken)
    with pytest.raises(RuntimeError, match="out of memory"):
        prime_process(xla=False)


def test_a_server_primes_as_told_and_says_so_and_starts_even_when_priming_fails(make_client, monkeypatch):
    calls = []
    monkeypatch.setattr(priming, "prime_process", lambda **options: calls.append(options) or
                        {"seconds": 0.5, "cohort_tier": "traced"})
    assert "primed" not in make_client(prime=False).get("/api/health").json()
    assert calls == []
    health = make_client(prime=True, xla_programs=7, grid_resolution=32).get("/api/health").json()
    assert health["primed"] is True and health["status"] == "ok"
    assert calls == [{"xla": False, "resolution": 32, "thumb": 16}]  # the suite's servers have no XLA tier
    assert COMPILER.max_programs == 7  # the server's budget of XLA compiles, from its settings

    def broken(**options):
        raise RuntimeError("no room")

    monkeypatch.setattr(priming, "prime_process", broken)
    health = make_client(prime=True).get("/api/health").json()
    assert health["primed"] is False and health["status"] == "ok"  # logged, and the server serves
