"""Drive a session under commands: pause, resume, step (one epoch), stop, learning rate,
predict (one image through the current model, answered through `answer`) and apply (an
uploaded micrograph through a U-Net, answered the same way).

Commands arrive through a `Control` (a queue here; the runner may give another kind),
checked between epochs, so a command takes effect within one epoch. A run left paused
too long is stopped, so forgotten paused runs do not hold training threads forever.
"""

from __future__ import annotations

import logging
import queue
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Literal, Protocol

from ..specs import DoneEvent, Event, StatusEvent

log = logging.getLogger(__name__)

if TYPE_CHECKING:  # the web side passes commands on without importing TensorFlow
    from .session import TrainingSession

Action = Literal["pause", "resume", "step", "stop", "learning_rate", "predict", "apply"]


@dataclass(frozen=True)
class Command:
    action: Action
    value: float | None = None  # the new learning rate
    # predict: a drawn image (rows of pixels, channels last) or a gallery index, and where
    # the answer goes (a key the asker waits on).
    image: list | None = None
    index: int | None = None
    reply: str | None = None
    # apply: an uploaded image as base64 of float32 [height][width] (row-major): a megapixel
    # as JSON numbers would be ten times larger and slow to read (it may go through Redis).
    pixels: str | None = None
    shape: list[int] | None = None
    # predict, apply through Redis: past this time (epoch seconds) nobody waits for the
    # answer any more, so a worker that finds the command late skips it.
    deadline: float | None = None

    @classmethod
    def apply(cls, image) -> "Command":
        """An apply command carrying `image` (a 2-D numpy array)."""
        import base64

        import numpy as np

        data = np.ascontiguousarray(image, dtype="<f4")
        return cls("apply", pixels=base64.b64encode(data.tobytes()).decode("ascii"), shape=list(data.shape))

    def pixel_array(self):
        """The image an apply command carries, float32 [height][width]."""
        import base64

        import numpy as np

        return np.frombuffer(base64.b64decode(self.pixels), "<f4").reshape(self.shape)


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


def _duration(seconds: float) -> str:
    """15 minutes, 1.5 minutes, 30 seconds, 0.3 seconds."""
    if seconds >= 60:
        minutes = round(seconds / 60, 1)
        return f"{minutes:g} minute{'' if minutes == 1 else 's'}"
    seconds = round(seconds, 1)
    return f"{seconds:g} second{'' if seconds == 1 else 's'}"


ASKING = ("predict", "apply")  # the commands that want an answer


def respond(session: TrainingSession, command: Command) -> dict:
    """The answer to a predict or apply command; a bad request is answered with its error,
    not raised into the training loop."""
    import numpy as np  # the web side never runs this

    try:
        if command.action == "apply":
            return session.apply(command.pixel_array())
        image = None if command.image is None else np.asarray(command.image, np.float32)
        return session.predict(image, command.index)
    except (ValueError, IndexError) as exc:
        return {"error": str(exc)}
    except Exception:  # out of memory, a TensorFlow error: the answer fails, never the run
        log.exception("answering a %s command failed", command.action)
        return {"error": "the model could not be applied to this image (see the server's log)"}


def _rest(session) -> None:
    """A paused run's cohort need not wait for it (see `cohort`); a session without one has nothing to tell."""
    leave = getattr(session, "leave_cohort", None)
    if leave is not None:
        leave()


def drive(session: TrainingSession, control: Control, emit: Callable[[Event], None], *,
          start_paused: bool = False, paused_poll_seconds: float = 0.5,
          paused_timeout: float | None = None,
          is_cancelled: Callable[[], bool] = lambda: False,
          clock: Callable[[], float] = time.monotonic,
          answer: Callable[[Command, dict], None] = lambda command, result: None) -> DoneEvent:
    """Train to the end under `control`, emitting every event; return the final DoneEvent.

    `is_cancelled` is polled while paused, so a paused run can be shut down from outside.
    `answer(command, result)` takes the answer to a `predict` or `apply` command.
    `paused_timeout`: seconds a run may stay paused (or wait paused from its start) with
    no resume or step; then it is stopped like any stopped run (history and model kept),
    its `done` saying why. Checked every `paused_poll_seconds`; None: never.
    """
    paused = start_paused
    steps = 0  # epochs still to run while paused (from "step")
    paused_since = clock()  # of the start, the last pause or step; counted only while paused
    timed_out = False
    emit(StatusEvent(state="paused" if paused else "running", epoch=session.epoch))
    for event in session.start_events():  # epoch 0, the untrained network, even while paused
        emit(event)
    if paused:
        _rest(session)
    while not session.finished:
        command = control.next(paused_poll_seconds if paused and not steps else 0)
        if command is not None:
            if command.action == "stop":
                session.stop()
            elif command.action == "learning_rate" and command.value is not None:
                session.set_learning_rate(command.value)
            elif command.action in ASKING and not (command.deadline and time.time() > command.deadline):
                answer(command, respond(session, command))
            elif command.action == "pause" and not paused:
                paused, paused_since = True, clock()
                _rest(session)
                emit(StatusEvent(state="paused", epoch=session.epoch))
            elif command.action == "resume" and paused:
                paused, steps = False, 0
                emit(StatusEvent(state="running", epoch=session.epoch))
            elif command.action == "step":
                if not paused:
                    paused = True
                    _rest(session)
                    emit(StatusEvent(state="paused", epoch=session.epoch))
                steps, paused_since = steps + 1, clock()
            continue  # drain every pending command before the next epoch
        if is_cancelled():
            session.stop()
            continue
        if paused and not steps:
            if paused_timeout is not None and clock() - paused_since >= paused_timeout:
                timed_out = True
                session.stop()
            continue
        for event in session.train_epoch():
            emit(event)
        if steps:
            steps -= 1
            if not steps:
                _rest(session)  # paused again after its steps: the others need not wait
    frame = session.final_frame()
    if frame is not None:
        emit(frame)
    message = None
    if timed_out:
        message = f"Stopped after {_duration(paused_timeout)} paused, to free its place for others."
        if session.epoch:
            message += " Its history and trained model are kept."
    done = session.done_event(message)
    emit(done)
    return done
