"""Scoring challenge submissions away from the web's event loop and request threads.

Scoring a run loads its saved model and predicts the hidden test set (about 0.1 s of
CPU). `LocalScorer` does it on a small thread pool of its own (embedded mode);
`RedisScorer` sends it to a worker (`score_submission`, beside `train_run`; its side is
`jobs.scoring.answer_scoring`) and waits for the answer on a Redis list of its own, so a
web replica of a lab server never spends its CPU on it. Which one a server uses is
chosen where the backends are built, not here.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from abc import ABC, abstractmethod
from concurrent.futures import ThreadPoolExecutor

import dramatiq

from ..jobs.distributed import declare_scoring_actor
from ..jobs.scoring import answer_key, score_run
from ..specs import TryLater
from ..store import RunStore
from ..store.redis_client import AsyncClients
from .models import Challenge

SCORE_TIMEOUT = 30.0  # seconds the web waits for a worker's score


class ScoringUnavailable(TryLater):
    """No worker scored the submission in time: a 503, try again in `retry_after` seconds."""

    status = 503


class Scorer(ABC):
    @abstractmethod
    async def score(self, run_id: str, features: list[str], challenge: Challenge) -> float | None:
        """The run's accuracy on the challenge's hidden test set; None if its model is not kept."""

    def close(self) -> None:
        pass


class LocalScorer(Scorer):
    """On threads of its own: neither the event loop nor the request threads wait on a model.
    (`score_run` imports TensorFlow when it first scores, not when the web starts.)"""

    def __init__(self, runs: RunStore, threads: int = 1):
        self.runs = runs
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="scoring")

    async def score(self, run_id: str, features: list[str], challenge: Challenge) -> float | None:
        future = self._pool.submit(score_run, self.runs, run_id, features, challenge.dataset,
                                   challenge.hidden_seed)
        return await asyncio.wrap_future(future)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def _scored_on_workers(*args) -> None:
    raise RuntimeError("score_submission runs on `keras-playground worker`, not on the web server")


class RedisScorer(Scorer):
    """The web side of a lab server: a worker scores, this waits for its answer (BLPOP)."""

    def __init__(self, url: str, broker: dramatiq.Broker, namespace: str = "kp",
                 timeout: float = SCORE_TIMEOUT):
        self.url, self.ns, self.timeout = url, namespace, timeout
        self.actor = declare_scoring_actor(broker, _scored_on_workers)
        self._aredis = AsyncClients(url)

    async def score(self, run_id: str, features: list[str], challenge: Challenge) -> float | None:
        request_id = secrets.token_hex(8)
        await asyncio.to_thread(self.actor.send, request_id, run_id, features, challenge.dataset,
                                challenge.hidden_seed)
        popped = await self._aredis().blpop([answer_key(self.ns, request_id)], timeout=self.timeout)
        if popped is None:
            raise ScoringUnavailable(f"No worker scored the run within {self.timeout:g} s (all busy "
                                     "training, or none running); submit it again in a minute.", 30)
        answer = json.loads(popped[1])
        if "error" in answer:
            raise RuntimeError(f"scoring run {run_id} failed on a worker: {answer['error']}")
        return answer["accuracy"]
