"""What every runner does: train submitted runs in the background, take their commands,
and end each one through `RunEnds`. One file per runner: `local.LocalRunner` (threads in
this process, the embedded default) and `distributed.DramatiqRunner` (worker processes
through Redis). This module imports no TensorFlow: a lab server's web replicas use it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from ..engine.control import Command
from ..specs import RunSpec
from .ends import RunEnds


class Runner(ABC):
    def __init__(self, ends: RunEnds):
        self.ends = ends  # how this process ends runs (stored, then told)

    @abstractmethod
    def submit(self, run_id: str, spec: RunSpec, paused: bool = False) -> None: ...

    @abstractmethod
    def control(self, run_id: str, command: Command) -> bool:
        """Pass a command to a queued or active run; False if the run has ended."""

    @abstractmethod
    def active_count(self) -> int:
        """Runs queued or training."""

    @abstractmethod
    def shutdown(self) -> None:
        """Stop what this process trains: each run it holds ends `interrupted`."""

    def predict(self, run_id: str, command: Command, timeout: float) -> dict | None:
        """A `predict` command's answer from the run while it trains (within `timeout`
        seconds); None when the run is not training (queued, or ended)."""
        return None

    def workers(self) -> list[dict] | None:
        """The processes that train (a lab server's workers); None: this process trains."""
        return None

    def reap(self) -> list[str]:
        """End the runs of workers that died; the ids (nothing to do in one process)."""
        return []

    def close(self) -> None:
        pass
