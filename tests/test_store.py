"""Run stores, the same suite on both: an SQLite file and a shared Redis."""

import threading

from keras_playground.store import SqliteRunStore, hash_token
from keras_playground.store.record import LimitReached

SPEC = {"dataset": {"name": "line"}}
TIMEOUT = 30  # seconds any single wait may take


def test_a_run_is_recorded_from_creation_to_its_end(store):
    store.create("r1", "secret", "alice", SPEC)
    record = store.get("r1")
    assert (record.state, record.spec, record.client, record.ended) == ("queued", SPEC, "alice", None)
    assert record.token_hash == hash_token("secret") and store.model("r1") is None
    store.finish("r1", "finished", [{"kind": "epoch", "epoch": 1}], {"kind": "done", "state": "finished"},
                 b"PK-model")
    record = store.get("r1")
    assert record.state == "finished" and record.ended >= record.created
    assert record.history == [{"kind": "epoch", "epoch": 1}] and record.done["state"] == "finished"
    assert store.model("r1") == b"PK-model"
    assert store.get("nobody") is None


def test_active_runs_are_counted_per_client(store):
    for run_id, client in (("a", "alice"), ("b", "alice"), ("c", "bob")):
        store.create(run_id, "t", client, SPEC)
    assert store.active_count() == 3 and store.active_count("alice") == 2
    store.finish("a", "stopped", [], None)
    assert store.active_count() == 2 and store.active_count("alice") == 1 and store.active_count("eve") == 0


def test_recent_lists_newest_first_and_by_client(store):
    for run_id, client in (("a", "alice"), ("b", "bob"), ("c", "alice")):
        store.create(run_id, "t", client, SPEC)
    assert [r.id for r in store.recent(10)] == ["c", "b", "a"]
    assert [r.id for r in store.recent(10, "alice")] == ["c", "a"]
    assert [r.id for r in store.recent(1)] == ["c"]


def test_unfinished_runs_can_be_marked_interrupted(store):
    store.create("a", "t", "x", SPEC)
    store.create("b", "t", "x", SPEC)
    store.finish("b", "finished", [], None)
    assert store.mark_interrupted(["a", "b"]) == 1
    assert store.get("a").state == "interrupted" and store.get("b").state == "finished"


def test_pruning_keeps_the_newest_ended_runs_and_every_active_one(store):
    for run_id in ("old", "older_active", "mid", "new"):
        store.create(run_id, "t", "x", SPEC)
    for run_id in ("old", "mid", "new"):
        store.finish(run_id, "finished", [], None, b"m")
    # creation order: old, older_active, mid, new; keep the 2 newest
    assert store.prune(2) == 1
    assert store.get("old") is None and store.model("old") is None
    assert store.get("older_active") is not None and store.get("mid") is not None


def test_recovery_ends_stale_runs_only_where_one_process_trains_them_all(store):
    store.create("a", "t", "x", SPEC)
    recovered = store.recover()
    if isinstance(store, SqliteRunStore):
        assert recovered == 1 and store.get("a").state == "interrupted"
    else:  # a worker elsewhere may be training it; the watchdog ends it if that worker dies
        assert recovered == 0 and store.get("a").state == "queued"


def create_at_once(store, callers, clients, per_client, total):
    """`callers` threads create a run each at the same moment; what each got back."""
    start, results = threading.Barrier(callers), {}

    def create(i):
        start.wait(TIMEOUT)
        results[f"r{i}"] = store.create_within(f"r{i}", "t", clients[i % len(clients)], SPEC,
                                               per_client=per_client, total=total)

    threads = [threading.Thread(target=create, args=(i,)) for i in range(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)
    assert len(results) == callers
    return results


def test_simultaneous_creates_of_one_client_never_pass_its_cap(store):
    results = create_at_once(store, 30, ["alice"], per_client=3, total=64)
    created = [run_id for run_id, refused in results.items() if refused is None]
    assert len(created) == 3 and store.active_count("alice") == 3 and store.active_count() == 3
    assert {refused for refused in results.values() if refused} == {LimitReached("client", 3)}
    assert all(store.get(f"r{i}") is None for i in range(30) if f"r{i}" not in created)


def test_simultaneous_creates_of_many_clients_never_pass_the_servers_cap(store):
    results = create_at_once(store, 30, [f"c{i}" for i in range(30)], per_client=3, total=7)
    assert sum(1 for refused in results.values() if refused is None) == 7
    assert {refused for refused in results.values() if refused} == {LimitReached("total", 7)}
    assert store.active_count() == 7


def test_a_run_that_ends_frees_its_clients_place(store):
    for run_id in ("a", "b"):
        assert store.create_within(run_id, "t", "alice", SPEC, per_client=2, total=10) is None
    assert store.create_within("c", "t", "alice", SPEC, per_client=2, total=10) == LimitReached("client", 2)
    store.finish("a", "finished", [], None)
    assert store.create_within("c", "t", "alice", SPEC, per_client=2, total=10) is None
    assert store.mark_interrupted(["b"]) == 1 and store.active_count("alice") == 1
    assert store.create_within("d", "t", "alice", SPEC, per_client=2, total=10) is None
    store.finish("c", "stopped", [], None)
    store.prune(0)  # only ended runs are pruned; the count of active ones stays right
    assert store.active_count("alice") == 1 and store.get("d").state == "queued"
    assert store.create_within("e", "t", "alice", SPEC, per_client=2, total=10) is None
    assert store.create_within("f", "t", "alice", SPEC, per_client=2, total=10) == LimitReached("client", 2)


def test_creating_a_recorded_run_again_changes_nothing(store):
    """A create retried after its reply was lost (a Redis blip) neither refuses nor counts twice."""
    assert store.create_within("a", "secret", "alice", SPEC, per_client=1, total=10) is None
    assert store.create_within("a", "other", "alice", {"x": 1}, per_client=1, total=10) is None
    assert store.active_count("alice") == 1 and store.active_count() == 1
    assert store.get("a").token_hash == hash_token("secret") and store.get("a").spec == SPEC
