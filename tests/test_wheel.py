"""The package as a user installs it without the repo: the wheel carries the page, the
lessons and the command line (issue 14)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import httpx
import pytest

from keras_playground import __version__
from keras_playground.bench.harness import Server

ROOT = Path(__file__).resolve().parents[1]


def _listed_packages() -> set[str]:
    return set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])


def _folders(top: Path, prefix: str) -> set[str]:
    return {".".join([prefix, *p.relative_to(top).parts]) for p in [top, *top.rglob("*")]
            if p.is_dir() and p.name != "__pycache__"}


def test_pyproject_lists_every_folder_of_the_package():
    """pyproject.toml lists the packages by hand (frontend/ is mapped in from outside backend/):
    a folder left off would be missing from the wheel."""
    expected = (_folders(ROOT / "backend" / "keras_playground", "keras_playground")
                | _folders(ROOT / "frontend", "keras_playground.frontend"))
    assert _listed_packages() == expected


def _run(*command, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run([str(c) for c in command], capture_output=True, text=True, **kwargs)
    assert result.returncode == 0, f"{command}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def _clean_environment(cwd: Path) -> dict[str, str]:
    """No PYTHONPATH or virtualenv of ours leaking in: the fresh venv must import its own copy."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env.update(TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="", PWD=str(cwd))
    return env


@pytest.mark.slow
def test_the_wheel_serves_the_page_from_a_fresh_venv(tmp_path, monkeypatch):
    # Build from a copy of the sources, so the build leaves no build/ or egg-info in the repo.
    source = tmp_path / "source"
    source.mkdir()
    shutil.copy(ROOT / "pyproject.toml", source)
    shutil.copy(ROOT / "README.md", source)
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
    shutil.copytree(ROOT / "backend", source / "backend", ignore=ignore)
    shutil.copytree(ROOT / "frontend", source / "frontend", ignore=ignore)
    wheels = tmp_path / "wheels"
    _run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", str(source), "-w", wheels, cwd=tmp_path)
    (wheel,) = wheels.glob("keras_playground-*.whl")
    assert wheel.name.startswith(f"keras_playground-{__version__}-")

    # A fresh venv outside the repo; the dependencies come from this environment's
    # site-packages through a .pth line (nothing downloaded twice). That site-packages holds
    # an editable install of the repo, but a .pth line only adds a folder to sys.path: the
    # editable install's own .pth there is not run, so the fresh venv imports the wheel's copy.
    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", venv, cwd=tmp_path)
    python, script = venv / "bin" / "python", venv / "bin" / "keras-playground"
    _run(python, "-m", "pip", "install", "-q", "--no-deps", "--no-index", wheel, cwd=tmp_path)
    fresh_site = Path(_run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])",
                           cwd=tmp_path).stdout.strip())
    (fresh_site / "our-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    work = tmp_path / "elsewhere"  # the server starts from here, with its data here
    work.mkdir()
    env = _clean_environment(work)
    where = _run(python, "-c", "import keras_playground, fastapi; print(keras_playground.__file__)",
                 cwd=work, env=env).stdout.strip()
    assert Path(where).is_relative_to(fresh_site), where
    assert not (fresh_site / "keras_playground" / "frontend" / "__init__.py").exists()

    version = _run(script, "--version", cwd=work, env=env)
    assert version.stdout.strip() == f"keras-playground {__version__}"

    monkeypatch.chdir(work)  # the server's working directory
    server = Server(work / "data", command=[str(script), "serve"])
    server.env = {**_clean_environment(work), "PLAYGROUND_DATA_DIR": str(work / "data")}
    server.start()
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            page = client.get("/")
            assert page.status_code == 200
            assert page.text == (source / "frontend" / "index.html").read_text()  # what was built
            module = client.get("/js/main.js")
            assert module.status_code == 200 and "javascript" in module.headers["content-type"]
            assert module.text == (source / "frontend" / "js" / "main.js").read_text()
            assert client.get("/css/app.css").status_code == 200
            plotly = client.get("/static/plotly.min.js")
            assert plotly.status_code == 200 and len(plotly.content) > 100_000
            lesson = client.get("/api/lessons/01-single-neuron")
            assert lesson.status_code == 200 and lesson.json()["id"] == "01-single-neuron"
    finally:
        server.stop()
    assert (work / "data").is_dir()  # PLAYGROUND_DATA_DIR, not a folder beside the package
