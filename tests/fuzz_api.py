"""Fuzz the live server's OpenAPI with schemathesis: no generated request may get a 5xx.

`make fuzz` runs it (schemathesis lives in a venv of its own, .venv-fuzz). Two passes
against a real `keras-playground serve`: one as a stranger (the server's own limits in
force), one as an instructor with a real run, room and lesson to reach deeper, the
limits lifted. Prints the cases generated and the time; exits non-zero on any failure.
"""

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from tests.real_server import Server

SCHEMATHESIS = Path(".venv-fuzz/bin/st")
LIFTED = {name: 1_000_000 for name in ("runs_per_address_per_minute", "room_misses_per_address_per_minute",
                                       "joins_per_address_per_minute", "room_changes_per_minute",
                                       "submissions_per_minute")}


def fuzz(server: Server, workdir: Path, examples: int) -> int:
    started = time.monotonic()
    done = subprocess.run([str(SCHEMATHESIS.resolve()), "run", f"{server.url}/openapi.json", "-c", "not_a_server_error",
                           "-n", str(examples), "--max-failures", "50"], cwd=workdir)
    print(f"pass in {time.monotonic() - started:.0f} s, exit {done.returncode}", flush=True)
    return done.returncode


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        server = Server(root / "stranger").start()
        try:
            failed = fuzz(server, root, 200)
        finally:
            server.stop()
        server = Server(root / "instructor", max_runs_per_client=1000, max_active_runs=1000, **LIFTED).start()
        try:
            run = httpx.post(f"{server.url}/api/runs", json={"training": {"epochs": 5}}).json()
            room = httpx.post(f"{server.url}/api/rooms", json={}).json()
            (root / "schemathesis.toml").write_text(
                f'headers = {{ Authorization = "Bearer {room["instructor_token"]}" }}\n[parameters]\n'
                f'"path.run_id" = "{run["id"]}"\n"path.code" = "{room["code"]}"\n'
                f'"path.lesson_id" = "01-single-neuron"\n')
            failed = fuzz(server, root, 150) or failed
        finally:
            server.stop()
    return failed


if __name__ == "__main__":
    sys.exit(main())
