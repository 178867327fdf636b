"""Runs as the API sees them: create (with fair limits), read, control with a token.

The service ties the store (records), the runner (training) and the bus (live events)
together, so the HTTP layer stays a thin translation of requests and errors.
"""

from __future__ import annotations

import contextlib
import hmac
import secrets
import threading
from dataclasses import dataclass

from ..config import Settings
from ..data import input_of, validate_spec
from ..engine.control import Command
from ..specs import Refusal, RunSpec, SpecError, TryLater
from ..store import MemoryRateLimiter, RateLimiter, RunRecord, RunStore, hash_token, retry_after
from .bus import EventBus
from .runner import Runner
from .views import RunView


class RunNotFound(Refusal, LookupError):
    status = 404

    @property
    def detail(self) -> str:
        return f"No run {self.args[0]!r}."


class NotAllowed(Refusal, PermissionError):
    """No token (401) or a token that does not control the run (403)."""

    def __init__(self, missing: bool):
        super().__init__("Controlling a run needs its token: Authorization: Bearer <token>." if missing
                         else "This token does not control this run.")
        self.missing = missing
        self.status = 401 if missing else 403

    @property
    def headers(self) -> dict[str, str] | None:
        return {"WWW-Authenticate": "Bearer"} if self.missing else None


class RunNotReady(Refusal):
    """The run cannot answer that now (409): not started, or ended where no model is loaded."""

    status = 409


PREDICT_SECONDS = 10.0
INFERENCES = 2  # ended runs' kept models applied at once in this process  # a live run answers within an epoch; a worker's within this


class Busy(TryLater):
    """Over a limit (429): try again in `retry_after` seconds."""

    status = 429


@dataclass
class CreatedRun:
    id: str
    token: str
    status: str


class RunService:
    def __init__(self, settings: Settings, store: RunStore, bus: EventBus, runner: Runner,
                 limiter: RateLimiter | None = None):
        self.settings, self.store, self.bus, self.runner = settings, store, bus, runner
        self.limiter = limiter or MemoryRateLimiter()
        self._inferences = threading.BoundedSemaphore(INFERENCES)

    # ----- create and read -----

    def create(self, raw: dict, client: str, address: str, paused: bool = False) -> CreatedRun:
        """Validate and queue a run (`paused`: it waits for step or resume once it starts).

        `client` is who the caller says it is (X-Client-Id), `address` its network address:
        the per-client cap alone could be dodged by sending a new id each time, so creations
        are also counted per address. Raises SpecError (invalid) or Busy (over a limit)."""
        spec = validate_spec(raw, self.settings.limits)
        per_minute = self.settings.runs_per_address_per_minute
        wait = self.limiter.hit("runs", address, per_minute)
        if wait:
            raise Busy(f"This network address has created {per_minute} runs in the last minute, "
                       f"its limit (PLAYGROUND_RUNS_PER_ADDRESS_PER_MINUTE); try again in "
                       f"{retry_after(wait)} s.", retry_after(wait))
        run_id, token = secrets.token_urlsafe(12), secrets.token_urlsafe(24)
        # Checked and recorded in one atomic step in the store, so simultaneous creates
        # cannot slip past a cap, and every web replica of a lab server counts alike.
        refused = self.store.create_within(run_id, token, client, spec.model_dump(mode="json"),
                                           per_client=self.settings.max_runs_per_client,
                                           total=self.settings.max_active_runs)
        if refused is not None and refused.limit == "client":
            raise Busy(f"You already have {refused.count} runs training (at most "
                       f"{self.settings.max_runs_per_client}); stop one or wait for it to end.", 5)
        if refused is not None:
            raise Busy(f"The server is training {refused.count} runs, its maximum; "
                       "try again in a few seconds.", 10)
        try:
            self.bus.open(run_id)
            self.runner.submit(run_id, spec, paused)
        except Exception:
            # Recorded but never queued (Redis went away in between): end the record, so it
            # does not hold the client's place for ever, then answer the error (503).
            with contextlib.suppress(Exception):
                self.runner.ends.rejected(run_id, "The run could not be queued (the server's queue was out); "
                                                  "press Train to start again.")
            raise
        return CreatedRun(run_id, token, "queued")

    def get(self, run_id: str) -> RunRecord:
        record = self.store.get(run_id)
        if record is None:
            raise RunNotFound(run_id)
        return record

    def view(self, run_id: str, *, replay: bool = True) -> RunView:
        """The run as it is now: from the bus while it is live, else from its record.
        `replay=False`: a live run's events are not read (its stream follows them itself)."""
        record = self.get(run_id)
        if not self.bus.exists(run_id):
            return RunView.of(record, None)
        return RunView.of(record, self.bus.replay(run_id) if replay and record.ended is None else [])

    def recent(self, client: str, limit: int) -> list[RunRecord]:
        """`client`'s newest runs, never anyone else's: a run's id is the key to watch it
        and to download its model, data and code."""
        return self.store.recent(limit, client)

    def spec_of(self, run_id: str) -> RunSpec:
        return RunSpec.model_validate(self.get(run_id).spec)

    # ----- control -----

    def authorize(self, run_id: str, token: str | None) -> RunRecord:
        record = self.get(run_id)
        if not token:
            raise NotAllowed(missing=True)
        if not hmac.compare_digest(hash_token(token), record.token_hash):
            raise NotAllowed(missing=False)
        return record

    def control(self, run_id: str, token: str | None, command: Command) -> bool:
        """True if the command reached the run; False if the run has already ended."""
        self.authorize(run_id, token)
        return self.runner.control(run_id, command)

    def predict(self, run_id: str, token: str | None, command: Command) -> dict:
        """One image through a run's current model (its kept model once ended): the class
        probabilities and feature maps. Needs the run's token, as a gallery index also
        changes what its frames show."""
        record = self.authorize(run_id, token)
        spec = RunSpec.model_validate(record.spec)
        if input_of(spec.dataset) != "image":
            raise SpecError.of("run", "only runs on image data sets classify an image")
        if spec.unet is not None:
            raise SpecError.of("run", "a microscopy run classifies no image: apply it to one with "
                                      "POST /api/runs/{id}/apply")
        answer = self.runner.predict(run_id, command, timeout=PREDICT_SECONDS)
        if answer is None:
            answer = self._predict_ended(run_id, spec, command)
        if "error" in answer:
            raise SpecError.of("image" if command.image is not None else "index", answer["error"])
        return answer

    def _predict_ended(self, run_id: str, spec: RunSpec, command: Command) -> dict:
        model = self.store.model(run_id)
        if model is None:
            raise RunNotReady("This run has no model yet: it classifies once it has started.")
        if self.runner.workers() is not None:
            # A lab server's web replica loads no TensorFlow (its workers do the training).
            raise RunNotReady("This run has ended: on a lab server, drawing classifies while the run "
                              "trains. Download its model to use it further.")
        import numpy as np

        from ..engine.predict import predict_saved  # embedded: TensorFlow is in this process

        image = None if command.image is None else np.asarray(command.image, np.float32)
        with self._one_inference():
            return predict_saved(model, spec, image, command.index)

    def microscopy_spec(self, run_id: str, token: str | None) -> RunSpec:
        """The spec of a run its token controls, if it trains a U-Net (else 422 naming `run`)."""
        spec = RunSpec.model_validate(self.authorize(run_id, token).spec)
        if spec.unet is None:
            raise SpecError.of("run", "only microscopy runs (a U-Net: nuclei, nuclei-denoise) apply to an "
                                      "uploaded image")
        return spec

    def apply(self, run_id: str, token: str | None, image) -> dict:
        """A microscopy run's current model (its kept model once ended) over a whole image
        (a 2-D numpy array of raw values, already checked): the network's output map and,
        for segmentation, the mask. Live runs answer through the runner, as predict does."""
        spec = self.microscopy_spec(run_id, token)
        answer = self.runner.predict(run_id, Command.apply(image), timeout=PREDICT_SECONDS)
        if answer is None:
            answer = self._apply_ended(run_id, spec, image)
        if "error" in answer:
            raise SpecError.of("file", answer["error"])
        return answer

    def _apply_ended(self, run_id: str, spec: RunSpec, image) -> dict:
        model = self.store.model(run_id)
        if model is None:
            raise RunNotReady("This run has no model yet: it applies to an image once it has started.")
        if self.runner.workers() is not None:
            raise RunNotReady("This run has ended: on a lab server, a run applies to an image while it "
                              "trains. Download its model to apply it further (docs/api.md shows how).")
        from ..engine.predict import apply_saved  # embedded: TensorFlow is in this process

        with self._one_inference():
            return apply_saved(model, spec, image)

    @contextlib.contextmanager
    def _one_inference(self):
        """A kept model runs for at most INFERENCES requests at once (each may load a model and
        take a megapixel through it); one more waits its turn elsewhere: 429."""
        if not self._inferences.acquire(blocking=False):
            raise Busy("The server is applying other kept models right now; send it again in a moment.", 2)
        try:
            yield
        finally:
            self._inferences.release()

    def shutdown(self) -> None:
        self.runner.shutdown()
