"""The worker's side of scoring challenge submissions (the web's is classroom.scoring).

A web replica of a lab server sends `score_submission` to a worker (beside `train_run`)
and waits on a Redis list of its own; the worker scores the run's saved model on the
challenge's hidden test set (`score_run`) and answers there (`answer_scoring`).
TensorFlow is imported when a run is first scored, so importing this costs the web nothing.
"""

from __future__ import annotations

import json
import logging

import redis

from ..store import RunStore

log = logging.getLogger(__name__)

ANSWER_TTL = 120  # seconds an unread answer is kept


def answer_key(namespace: str, request_id: str) -> str:
    return f"{namespace}:scored:{request_id}"


def score_run(runs: RunStore, run_id: str, features: list[str], dataset: dict, hidden_seed: int) -> float | None:
    """The run's accuracy on the hidden test set; None if its model is not kept."""
    from ..engine.scoring import hidden_set_accuracy  # TensorFlow: only where runs are scored

    model = runs.model(run_id)
    if model is None:
        return None
    return hidden_set_accuracy(model, features, dataset, hidden_seed)


def answer_scoring(client: redis.Redis, runs: RunStore, namespace: str, request_id: str, run_id: str,
                   features: list[str], dataset: dict, hidden_seed: int) -> None:
    """The worker's side of `RedisScorer.score`: score and answer on the request's list."""
    try:
        answer = {"accuracy": score_run(runs, run_id, features, dataset, hidden_seed)}
    except Exception as exc:  # the web replica waiting must hear of it, not time out
        log.exception("scoring run %s failed", run_id)
        answer = {"error": f"{type(exc).__name__}: {exc}"}
    key = answer_key(namespace, request_id)
    with client.pipeline() as pipe:
        pipe.rpush(key, json.dumps(answer))
        pipe.expire(key, ANSWER_TTL)
        pipe.execute()
