"""The command line: serve | train | bench | worker | lessons."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from . import __version__

WS_MAX_MESSAGE_BYTES = 64 * 1024  # what a client may send on a stream in one message

# TensorFlow's start-up chatter hides our own output; the user can still turn it back on.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _progress(epoch: int, total: int, loss: float | None, metric: float | None, name: str) -> str:
    width = 30
    filled = int(width * epoch / max(total, 1))
    loss_text = f"{loss:.4f}" if loss is not None else "nan"
    metric_text = f"{metric:.4f}" if metric is not None else "-"
    return f"\repoch {epoch:>5}/{total} [{'#' * filled}{'.' * (width - filled)}] loss {loss_text}  {name} {metric_text}"


def cmd_train(args: argparse.Namespace) -> int:
    from .config import get_settings
    from .data import to_csv, to_npz, validate_spec
    from .specs import SpecError

    try:
        raw = json.loads(Path(args.spec).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        print(f"error: cannot read {args.spec}: {exc}", file=sys.stderr)
        return 2
    try:
        spec = validate_spec(raw, get_settings().limits)
    except SpecError as exc:
        print(f"error: invalid spec {args.spec}:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem.field}: {problem.message}", file=sys.stderr)
        return 2

    from .engine.codegen import export_script
    from .engine.control import QueueControl, drive
    from .engine.names import metric_name
    from .engine.notebook import notebook_text
    from .engine.session import TrainingSession

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    session = TrainingSession(spec, max_frames_per_second=None)
    name = metric_name(session.kind)
    history: list[dict] = []

    def emit(event) -> None:
        if event.kind == "epoch":
            history.append(event.model_dump())
            if not args.quiet:
                print(_progress(event.epoch, spec.training.epochs, event.loss, event.metric, name),
                      end="", file=sys.stderr, flush=True)

    done = drive(session, QueueControl(), emit)
    if not args.quiet:
        print(file=sys.stderr)
    (out / "history.json").write_text(json.dumps(
        {"spec": spec.model_dump(), "history": history, "done": done.model_dump()}, indent=1))
    (out / "model.keras").write_bytes(session.model_file())  # the file the server's download gives
    (out / "train.py").write_text(export_script(spec))
    (out / "notebook.ipynb").write_text(notebook_text(spec))
    if session.images:  # images as numpy arrays; points as rows anyone can read
        data_file = "data.npz"
        (out / data_file).write_bytes(to_npz(session.data))
    else:
        data_file = "data.csv"
        (out / data_file).write_text(to_csv(session.data))
    test = f", test {name} {done.test_metric:.4f}" if done.test_metric is not None else ""
    print(f"{done.state} after {done.epochs} epochs{test}; wrote history.json, model.keras, "
          f"train.py, notebook.ipynb, {data_file} to {out}")
    if done.message:
        print(done.message)
    return 0 if done.state != "diverged" else 1


def cmd_lessons(args: argparse.Namespace) -> int:
    """List the lessons, or with --check train every step and check its claims."""
    from .classroom.lessons import LessonError, load_lessons
    from .config import get_settings

    settings = get_settings()
    try:
        lessons = load_lessons(settings.limits, settings.lessons_dir)
    except LessonError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.only:
        unknown = sorted(set(args.only) - {l.id for l in lessons})
        if unknown:
            print(f"error: no lesson {', '.join(unknown)}; the lessons: {', '.join(l.id for l in lessons)}",
                  file=sys.stderr)
            return 2
        lessons = tuple(l for l in lessons if l.id in args.only)
    if not args.check:
        for lesson in lessons:
            claims = sum(len(step.claims) for step in lesson.steps)
            steps = len(lesson.steps)
            print(f"{lesson.id}  {lesson.title} ({steps} step{'' if steps == 1 else 's'}, "
                  f"{claims} claim{'' if claims == 1 else 's'})")
        return 0
    if args.seeds < 1:
        print("error: --seeds must be at least 1", file=sys.stderr)
        return 2
    from .classroom.check import check_lessons, format_report

    progress = None if args.json else (lambda line: print(line, file=sys.stderr, flush=True))
    report = check_lessons(lessons, seeds=args.seeds, threads=args.threads, progress=progress)
    print(json.dumps(report.as_json(), indent=1) if args.json else format_report(report))
    return 0 if report.all_hold else 1


def cmd_bench(args: argparse.Namespace) -> int:
    if args.peer and not args.page:
        print("error: --peer goes with --page: bench --page --peer DIR", file=sys.stderr)
        return 2
    if args.page:
        from importlib.util import find_spec

        if find_spec("playwright") is None:  # bench.page imports it only when it runs
            print("error: bench --page needs the test extra: pip install -e '.[test]'", file=sys.stderr)
            return 2
        if args.peer:
            if not (Path(args.peer) / "index.html").is_file():
                print(f"error: {args.peer} has no index.html: --peer takes a built TensorFlow Playground's folder",
                      file=sys.stderr)
                return 2
            from .bench.peer import format_peer_report, run_peer_bench

            report = run_peer_bench(args.peer)
            print(json.dumps(report, indent=1) if args.json else format_peer_report(report))
            return 0
        from .bench.page import format_page_report, run_page_bench

        report = run_page_bench()
        print(json.dumps(report, indent=1) if args.json else format_page_report(report))
        return 0
    if args.wall:
        from .bench.wall import format_wall_report, run_wall_bench

        report = run_wall_bench(args.clients[-1], epochs=args.epochs)
        print(json.dumps(report, indent=1) if args.json else format_wall_report(report))
        return 0
    if args.lab:
        from .bench.lab import format_lab_report, run_lab_bench

        report = run_lab_bench(args.clients[-1], epochs=args.epochs)
        print(json.dumps(report, indent=1) if args.json else format_lab_report(report))
        return 0
    if args.server:
        from .bench.server import format_load_report, run_load_bench

        report = run_load_bench(args.clients, sequential=args.sequential, epochs=args.epochs, url=args.url,
                                prime=not args.unprimed)
        print(json.dumps(report, indent=1) if args.json else format_load_report(report))
        return 0
    from .bench.cnn import format_cnn_report, run_cnn_benchmark
    from .bench.engine import format_report, run_benchmarks
    from .bench.unet import format_unet_report, run_unet_benchmark

    report = run_benchmarks(epochs=args.epochs, concurrent_runs=args.runs)
    report["cnn"] = run_cnn_benchmark()
    report["unet"] = run_unet_benchmark()
    print(json.dumps(report, indent=1) if args.json
          else "\n".join([format_report(report), format_cnn_report(report["cnn"]), format_unet_report(report["unet"])]))
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from .app import create_app

    # Pages send nothing on a stream but pings and closes: a big message is refused (1009)
    # rather than buffered. Behind a reverse proxy on this host, uvicorn trusts its
    # X-Forwarded-For (FORWARDED_ALLOW_IPS), so rate limits see participants' addresses.
    uvicorn.run(create_app(), host=args.host, port=args.port, ws_max_size=WS_MAX_MESSAGE_BYTES)
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    from .config import get_settings

    settings = get_settings()
    if not settings.redis_url:
        print("error: a worker needs PLAYGROUND_REDIS_URL, e.g. redis://localhost:6379/0 "
              "(see docs/deployment.md)", file=sys.stderr)
        return 2
    processes = args.processes or settings.worker_processes
    threads = args.threads or settings.worker_threads
    # A process takes only as many runs from the queue as it has threads to train them,
    # so runs spread over the workers instead of waiting behind a busy one. dramatiq
    # reads this when it is first imported, hence before the import.
    os.environ["dramatiq_queue_prefetch"] = str(threads)
    from dramatiq.cli import main as dramatiq_main
    from dramatiq.cli import make_argument_parser

    # TensorFlow must not be imported here: dramatiq forks the worker processes, and
    # each imports it once in `backends.worker_setup`.
    return dramatiq_main(make_argument_parser().parse_args([
        "keras_playground.backends:worker_setup", "--processes", str(processes),
        "--threads", str(threads), "--queues", "training",
        # Runs stop within one epoch of a shutdown; no need for dramatiq's 10 minutes.
        "--worker-shutdown-timeout", "30000"]))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="keras-playground",
                                     description="Train small, real Keras models and watch them learn.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="start the playground (embedded, no other service)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.set_defaults(func=cmd_serve)

    train = commands.add_parser("train", help="train a run spec headless and write its results")
    train.add_argument("spec", help="run spec JSON file")
    train.add_argument("--out", required=True, help="folder for history.json, model.keras, train.py, notebook.ipynb, "
                                                       "data.csv (images: data.npz)")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    train.set_defaults(func=cmd_train)

    bench = commands.add_parser("bench", help="the reference benchmarks, side by side with model.fit")
    bench.add_argument("--json", action="store_true", help="machine-readable output")
    bench.add_argument("--epochs", type=int, default=200)
    bench.add_argument("--runs", type=int, default=30, help="concurrent runs for the multi-run figure")
    bench.add_argument("--server", action="store_true",
                       help="the classroom benchmark: participants training at once on a real server")
    bench.add_argument("--page", action="store_true",
                       help="the page's frame rate in headless Chromium (needs /usr/bin/chromium)")
    bench.add_argument("--peer", metavar="DIR",
                       help="with --page: a built TensorFlow Playground's folder; trains the same set-ups "
                            "on both in one browser and prints both epochs/s, the ratio and frames drawn/s")
    bench.add_argument("--lab", action="store_true",
                       help="the lab-server benchmark: embedded vs 1 vs 2 worker processes through Redis "
                            "(needs redis-server)")
    bench.add_argument("--wall", action="store_true",
                       help="the class-wall benchmark: participants training in one room, the wall's delay")
    bench.add_argument("--url", help="with --server: a running server (default: start one here)")
    bench.add_argument("--unprimed", action="store_true",
                       help="with --server: start the server without priming (PLAYGROUND_PRIME=false)")
    bench.add_argument("--clients", type=int, nargs="+", default=[1, 10, 30],
                       help="with --server: participants per round (--lab, --wall: the last one)")
    bench.add_argument("--sequential", type=int, default=300,
                       help="with --server: short runs one after another, to watch memory")
    bench.set_defaults(func=cmd_bench)
    lessons = commands.add_parser("lessons", help="list the lessons; --check trains every step and checks its claims")
    lessons.add_argument("--check", action="store_true",
                         help="train every step and check its claims; exit 0 only when all hold")
    lessons.add_argument("--json", action="store_true", help="machine-readable output")
    lessons.add_argument("--seeds", type=int, default=1,
                         help="train each step with N training and data seeds (its own first); "
                              "a claim must hold for all")
    lessons.add_argument("--threads", type=int, default=2, help="steps trained at once")
    lessons.add_argument("--only", nargs="+", metavar="ID", help="only these lessons")
    lessons.set_defaults(func=cmd_lessons)
    worker = commands.add_parser("worker", help="a training worker of a lab server (needs PLAYGROUND_REDIS_URL)")
    worker.add_argument("--processes", type=int, help="worker processes (default: PLAYGROUND_WORKER_PROCESSES)")
    worker.add_argument("--threads", type=int,
                        help="runs each process trains at once (default: PLAYGROUND_WORKER_THREADS)")
    worker.set_defaults(func=cmd_worker)
    return parser


def invalid_settings() -> str | None:
    """What is wrong with the PLAYGROUND_ settings, one line a setting, or None. Checked
    before any command starts: a setting out of its bounds would otherwise stop `serve`
    or `worker` with pydantic's traceback, the setting's name near its end."""
    from pydantic import ValidationError

    from .config import get_settings, settings_problems

    try:
        get_settings()
    except ValidationError as error:
        return "\n".join(f"error: {line}" for line in settings_problems(error)) + \
            "\n(every setting and its bounds: docs/settings.md)"
    return None


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    refused = invalid_settings()
    if refused:
        print(refused, file=sys.stderr)
        return 2
    # Only what trains here sets TensorFlow's threads: `serve` leaves it to its backends (a
    # lab server's web replica never imports TensorFlow), and `worker` to each forked process.
    if args.command in ("train", "bench") or (args.command == "lessons" and args.check):
        from .config import get_settings
        from .engine.runtime import configure_threads

        configure_threads(get_settings().tf_threads)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
