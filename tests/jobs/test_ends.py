"""How runs end, through their one owner (`RunEnds`): the record is stored first, then the
one final event goes out; and what the embedded runner does with its runs at shutdown."""

import re
import threading
import time

from keras_playground.engine.control import Command
from keras_playground.jobs.bus import MemoryBus
from keras_playground.jobs.ends import RunEnds
from keras_playground.jobs.local import LocalRunner
from keras_playground.jobs.training import Trainer
from keras_playground.jobs.views import RunView
from keras_playground.specs import DoneEvent, parse_spec
from keras_playground.store import SqliteRunStore

SPEC = {"dataset": {"name": "line", "n_train": 40, "n_val": 10, "n_test": 10},
        "training": {"epochs": 5000, "batch_size": 8}}
EPOCHS = [{"kind": "epoch", "epoch": 1, "loss": 0.7, "metric": 0.5, "learning_rate": 0.01, "seconds": 0.01}]


class Watched:
    """A store that notes, at each `finish`, what the bus had told by then."""

    def __init__(self, store, bus):
        self.store, self.bus, self.told_before_stored = store, bus, []

    def __getattr__(self, name):
        return getattr(self.store, name)

    def finish(self, run_id, *args, **kwargs):
        self.told_before_stored.append([e["kind"] for e in self.bus.replay(run_id)])
        return self.store.finish(run_id, *args, **kwargs)


def ends_with(tmp_path):
    store, bus = SqliteRunStore(tmp_path), MemoryBus()
    watched = Watched(store, bus)
    for run_id in ("a", "b", "c", "d"):
        store.create(run_id, "token", "client", SPEC)
        bus.open(run_id)
    return RunEnds(watched, bus), watched, store, bus


def done(state="finished", epochs=1):
    return DoneEvent(state=state, epochs=epochs, loss=0.5, metric=0.9, val_loss=0.5, val_metric=0.9,
                     test_loss=0.5, test_metric=0.9, metric_name="accuracy", confusion_matrix=None, parameters=3)


def test_each_way_a_run_ends_stores_its_record_then_tells_it_once(tmp_path):
    ends, watched, store, bus = ends_with(tmp_path)
    released = []
    assert ends.finished("a", done(), EPOCHS, lambda: b"PK-model", before_publish=lambda: released.append("a"))
    ends.stopped_before_start("b")
    ends.failed("c", EPOCHS, message="Its worker stopped.")
    ends.interrupted("d", "The server was shut down.", EPOCHS)

    assert [(store.get(r).state, len(store.get(r).history)) for r in "abcd"] == [
        ("finished", 1), ("stopped", 0), ("failed", 1), ("interrupted", 1)]
    assert store.model("a") == b"PK-model" and store.active_count() == 0 and released == ["a"]
    assert watched.told_before_stored == [[], [], [], []]  # every end stored before it was told
    assert [bus.replay(r)[-1]["kind"] for r in "abcd"] == ["done", "done", "error", "error"]
    assert bus.replay("b")[-1]["message"] == "Stopped before it started."
    assert bus.replay("c")[-1]["message"] == "Its worker stopped."
    # A watcher who comes once the run has left the bus reads the same words, from the record.
    assert RunView.of(store.get("c"), None).events()[-1] == {"kind": "error", "message": "Its worker stopped."}
    assert RunView.of(store.get("d"), None).as_json()["error"] == "The server was shut down."

    ends.failed("a", message="told again")  # a run ends once: a second end changes nothing
    ends.interrupted("b", "told again")
    assert [e["kind"] for e in bus.replay("a")].count("done") == 1
    assert all(e["kind"] != "error" for e in bus.replay("a") + bus.replay("b"))
    assert (store.get("a").state, store.get("b").state) == ("finished", "stopped")


def test_a_failure_is_logged_under_an_id_and_watchers_read_only_the_id(tmp_path, caplog):
    ends, _, store, bus = ends_with(tmp_path)
    ends.failed("a", EPOCHS, error=OSError(28, "No space left on device", "/srv/secret/runs.sqlite3"))
    told = bus.replay("a")[-1]["message"]
    error_id = re.match(r"Training failed \(error ([0-9a-f]{8})\)", told)[1]
    assert "secret" not in told and store.get("a").error == told
    assert any(error_id in r.getMessage() and "secret" in str(r.exc_info[1]) for r in caplog.records)


def test_a_finished_run_whose_record_cannot_be_stored_fails_visibly_instead_of_done(tmp_path):
    ends, watched, store, bus = ends_with(tmp_path)
    full = watched.finish

    def refuse(*args, **kwargs):
        raise OSError(28, "No space left on device")

    watched.finish = refuse
    assert not ends.finished("a", done(), EPOCHS)
    assert [e["kind"] for e in bus.replay("a")] == ["error"] and store.get("a").ended is None
    assert ends.pending.waiting() == ["a"]  # its failed end, kept to store
    watched.finish = full
    ends.pending.retry_now()
    assert store.get("a").state == "failed" and store.get("a").history == EPOCHS


def wait_until(predicate, timeout=60):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached within the timeout"
        time.sleep(0.01)


def test_a_server_shutting_down_ends_its_runs_interrupted_and_keeps_their_epochs(tmp_path):
    store, bus = SqliteRunStore(tmp_path), MemoryBus()
    runner = LocalRunner(Trainer(RunEnds(store, bus)), threads=1)
    for run_id in ("training", "queued"):
        store.create(run_id, "token", "client", SPEC)
        bus.open(run_id)
        runner.submit(run_id, parse_spec(SPEC))
    wait_until(lambda: any(e["kind"] == "epoch" for e in bus.replay("training")))
    stopper = threading.Thread(target=runner.shutdown)
    stopper.start()
    stopper.join(60)

    trained, waited = store.get("training"), store.get("queued")
    assert trained.state == "interrupted" and len(trained.history) >= 1
    assert waited.state == "interrupted" and waited.history == []
    for run_id in ("training", "queued"):
        end = bus.replay(run_id)[-1]
        assert end["kind"] == "error" and "shut down before the run finished" in end["message"]
    assert not runner.control("training", Command("stop"))  # it takes no more commands
    store.close()
