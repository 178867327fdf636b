"""Settings from the environment (prefix PLAYGROUND_), one object for the whole app.

Limits are nested: PLAYGROUND_LIMITS__MAX_UNITS=128 raises the units maximum.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from .specs import Limits


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PLAYGROUND_", env_nested_delimiter="__")

    data_dir: Path = Field(default=Path("playground-data"),
                           description="Where runs, rooms and trained models are kept.")
    lessons_dir: Path | None = Field(default=None,
                                     description="A folder of extra lesson files (docs/lessons.md), beside the built-in ones.")
    instructor_password: str | None = Field(default=None,
                                            description="Set: opening a room needs it.")
    rooms_need_password: bool | None = Field(
        default=None,
        description="Whether opening a room needs the instructor password. Unset: yes on a lab "
                    "server (Redis), no on a laptop (embedded).")
    allowed_origins: str = Field(
        default="", description="Other origins (comma-separated, e.g. https://lab.example.org) whose "
                                "pages may open the WebSocket streams; the server's own always may.")
    max_rooms: int = Field(default=200, ge=1, description="Open rooms at most; opening one more is refused until one closes.")
    redis_url: str | None = Field(default=None,
                                  description="Unset: embedded mode. Set: distributed workers via Redis.")
    max_active_runs: int = Field(default=64, ge=1, description="Runs queued or training, all clients.")
    max_runs_per_client: int = Field(default=3, ge=1, description="Runs one browser may have training at once.")
    runs_per_address_per_minute: int = Field(
        default=240, ge=1, description="Runs one network address may create a minute (a whole class "
                                       "behind one NAT shares an address).")
    paused_run_timeout: float = Field(default=900.0, gt=0,
                                      description="Seconds a run may stay paused before it is stopped.")
    submissions_per_minute: int = Field(default=6, ge=1,
                                        description="Challenge submissions one participant may make a minute.")
    room_changes_per_minute: int = Field(default=30, ge=1,
                                         description="Changes to a room (its run, what it shares) one participant "
                                                     "or instructor may make a minute.")
    room_misses_per_address_per_minute: int = Field(
        default=20, ge=1, description="Unknown room codes one network address may try a minute, so codes "
                                      "cannot be guessed by trying them all.")
    joins_per_address_per_minute: int = Field(
        default=120, ge=1, description="Joins of rooms one network address may make a minute (a whole class "
                                       "behind one NAT shares an address).")
    keep_runs: int = Field(default=1000, ge=1, description="Finished runs kept; older ones are pruned.")
    keep_closed_rooms_hours: float = Field(default=24.0, ge=0,
                                           description="Hours a closed room is kept before it is deleted.")
    prune_every_seconds: float = Field(default=600.0, gt=0,
                                       description="How often old runs and closed rooms are pruned.")
    redis_outage_seconds: float = Field(
        default=30.0, gt=0, le=3600,
        description="A Redis outage shorter than this is ridden out (retries with backoff); a longer "
                    "one fails the runs in flight.")
    max_body_bytes: int = Field(default=1_000_000, ge=1000, description="Largest request body accepted, in bytes.")
    training_threads: int = Field(default=32, ge=1,
                                  description="Runs training at once in the embedded runner; more wait in a queue.")
    tf_threads: int = Field(default=1, ge=0, le=64,
                            description="TensorFlow's intra- and inter-op threads (0: its own choice).")
    xla_tier: bool = Field(default=True,
                           description="Compile dense networks' epochs with XLA in the background and switch "
                                       "runs to them (weights within 1e-5 of model.fit's, not bit for bit).")
    xla_programs: int = Field(default=64, ge=0, le=100_000,
                              description="Programs the XLA tier may compile in one process (TensorFlow keeps "
                                          "each, about 7.5 MiB, until the process ends); past it, programs "
                                          "without their XLA program yet stay on the traced tier.")
    warm_lessons: bool = Field(default=True,
                               description="At start, trace every lesson step's programs in the background, "
                                           "at the lowest CPU priority, so a class's first epochs come at once.")
    prime: bool = Field(default=True,
                        description="At start, before it serves, a training process trains and ends a tiny "
                                    "throwaway class, so its one-time costs (XLA's compiler, the first end) "
                                    "are paid before the first class: about a second of start-up.")
    frames_per_second: float = Field(default=30.0, gt=0, le=60,
                                     description="At most this many boundary frames a second per run.")
    frame_budget: float = Field(default=150.0, gt=0,
                                description="Frames a second for all runs together; a busy server shares them.")
    grid_resolution: int = Field(default=64, ge=8, le=256, description="Boundary grid side, in cells.")
    thumb_resolution: int = Field(default=16, ge=4, le=64, description="Neuron map side, in cells.")
    worker_processes: int = Field(default=1, ge=1, le=64,
                                  description="Processes of one `keras-playground worker` (each imports TensorFlow once).")
    worker_threads: int = Field(default=16, ge=1, le=256,
                                description="Runs one worker process trains at once; more wait in the Redis queue.")
    heartbeat_seconds: float = Field(default=1.0, gt=0, le=60,
                                     description="How often a worker process says it is alive.")
    worker_timeout: float = Field(default=5.0, gt=0, le=600,
                                  description="Seconds without a heartbeat before a worker's runs are failed.")
    limits: Limits = Field(default_factory=Limits, description="Bounds on every number of a run spec.")


@lru_cache
def get_settings() -> Settings:
    return Settings()


def settings_problems(error: ValidationError) -> list[str]:
    """Each setting `Settings()` refused, as the administrator wrote it: the environment
    variable, the value given (cut short) and what pydantic says it must be, e.g.
    "PLAYGROUND_MAX_ACTIVE_RUNS='-1': Input should be greater than or equal to 1"."""
    problems = []
    for problem in error.errors():
        name = "PLAYGROUND_" + "__".join(str(part).upper() for part in problem["loc"])
        given = repr(problem.get("input"))
        given = given if len(given) <= 60 else given[:57] + "..."
        problems.append(f"{name}={given}: {problem['msg']}")
    return problems
