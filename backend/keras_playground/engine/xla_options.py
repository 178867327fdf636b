"""XLA's CPU compiler options for this process, given before its first compile.

XLA reads the environment variable XLA_FLAGS once, when it first compiles; the engine's
package sets it at import (`engine/__init__.py`), before any program of ours can compile.

`--xla_cpu_use_fusion_emitters=false`: XLA's newer CPU fusion emitters (MLIR) build each
program in about 70 MiB of working memory, even a small dense network's epoch, which
glibc keeps until `tiers.release_freed_memory` returns it. On 2 cores, TensorFlow 2.21,
the reference workload's 32-member cohort program: the compile's peak over the process
before it, +93 -> +36 MiB, and 0.59 -> 0.48 s; its epochs as fast, and the weights as
close to `model.fit`'s (`keras-playground bench`: 4.77e-7 either way). 30 runs on a cold
server, `bench --server`, alternating in one hour: +167, +170 -> +137, +138 MiB over the
idle server.

An option the user sets in XLA_FLAGS wins. Another TensorFlow may not know the option,
and XLA aborts the process on an unknown one: only the release it was measured on gets it.
"""

from __future__ import annotations

import os
from importlib import metadata

OPTIONS = {"--xla_cpu_use_fusion_emitters": "false"}
MEASURED_ON = (2, 21)  # TensorFlow's major.minor the options were measured on


def tensorflow_release() -> tuple[int, int] | None:
    """TensorFlow's installed (major, minor), read without importing it; None if unknown."""
    for distribution in ("tensorflow-cpu", "tensorflow"):
        try:
            major, minor = metadata.version(distribution).split(".")[:2]
            return int(major), int(minor)
        except (metadata.PackageNotFoundError, ValueError):
            continue
    return None


def xla_flags(current: str, release: tuple[int, int] | None) -> str:
    """XLA_FLAGS with our options added, except those `current` already names."""
    if release != MEASURED_ON:
        return current
    named = {word.split("=", 1)[0] for word in current.split()}
    ours = [f"{option}={value}" for option, value in OPTIONS.items() if option not in named]
    return " ".join([*current.split(), *ours])


def configure_xla() -> None:
    """Set this process's XLA_FLAGS (a compile already made keeps the options it had)."""
    flags = xla_flags(os.environ.get("XLA_FLAGS", ""), tensorflow_release())
    if flags:
        os.environ["XLA_FLAGS"] = flags
