"""Drive a session under commands: pause, resume, step (one epoch), stop, learning rate.

Commands arrive through a `Control` (a queue here; the runner may give another kind),
checked between epochs, so a command takes effect within one epoch.
"""

from __future__ import annotations

import queue
from dataclasses import dataclass
from typing import Callable, Literal, Protocol

from ..specs import DoneEvent, Event, StatusEvent
from .session import TrainingSession

Action = Literal["pause", "resume", "step", "stop", "learning_rate"]


@dataclass(frozen=True)
class Command:
    action: Action
    value: float | None = None  # the new learning rate


class Control(Protocol):
    def next(self, timeout: float | None) -> Command | None:
        """The next command; wait up to `timeout` seconds (0: don't wait; None: forever)."""


class QueueControl:
    """Commands from any thread, through a queue."""

    def __init__(self) -> None:
        self._queue: queue.Queue[Command] = queue.Queue()

    def send(self, command: Command) -> None:
        self._queue.put(command)

    def next(self, timeout: float | None) -> Command | None:
        try:
            return self._queue.get(block=timeout != 0, timeout=timeout or None)
        except queue.Empty:
            return None


def drive(session: TrainingSession, control: Control, emit: Callable[[Event], None], *,
          start_paused: bool = False, paused_poll_seconds: float = 0.5,
          is_cancelled: Callable[[], bool] = lambda: False) -> DoneEvent:
    """Train to the end under `control`, emitting every event; return the final DoneEvent.

    `is_cancelled` is polled while paused, so a paused run can be shut down from outside.
    """
    paused = start_paused
    steps = 0  # epochs still to run while paused (from "step")
    emit(StatusEvent(state="paused" if paused else "running", epoch=session.epoch))
    while not session.finished:
        command = control.next(paused_poll_seconds if paused and not steps else 0)
        if command is not None:
            if command.action == "stop":
                session.stop()
            elif command.action == "learning_rate" and command.value is not None:
                session.set_learning_rate(command.value)
            elif command.action == "pause" and not paused:
                paused = True
                emit(StatusEvent(state="paused", epoch=session.epoch))
            elif command.action == "resume" and paused:
                paused, steps = False, 0
                emit(StatusEvent(state="running", epoch=session.epoch))
            elif command.action == "step":
                if not paused:
                    paused = True
                    emit(StatusEvent(state="paused", epoch=session.epoch))
                steps += 1
            continue  # drain every pending command before the next epoch
        if is_cancelled():
            session.stop()
            continue
        if paused and not steps:
            continue
        for event in session.train_epoch():
            emit(event)
        if steps:
            steps -= 1
    frame = session.final_frame()
    if frame is not None:
        emit(frame)
    done = session.done_event()
    emit(done)
    return done
