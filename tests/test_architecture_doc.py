"""docs/architecture.md and the README's layout say what the tree holds: every package is
described, and every file or folder they name is there."""

import re
from pathlib import Path

import keras_playground

PACKAGE = Path(keras_playground.__file__).parent
ROOT = PACKAGE.parents[1]
ARCHITECTURE = (ROOT / "docs" / "architecture.md").read_text()
README = (ROOT / "README.md").read_text()


def parts() -> set[str]:
    """The package's parts: its sub-packages (as `name/`) and its loose modules."""
    return {f"{p.name}/" for p in PACKAGE.iterdir() if (p / "__init__.py").exists()} | \
        {p.name for p in PACKAGE.glob("*.py") if p.name != "__init__.py"}


def layout() -> str:
    section = README.split("## Layout", 1)[1]
    return section.split("```", 2)[1]


def test_architecture_describes_every_part_of_the_package():
    table = {m.strip("`").removesuffix(".py") + (".py" if m.endswith(".py`") else "")
             for m in re.findall(r"^\| (`[^`]+`) \|", ARCHITECTURE, re.M)}
    assert parts() == table


def test_every_module_architecture_names_exists():
    named = set(re.findall(r"`?((?:api|bench|classroom|data|engine|jobs|store)/[a-z_]+\.py)", ARCHITECTURE))
    named |= {f"jobs/{m}" for m in re.findall(r"`(local\.py|distributed\.py|worker\.py|bus\.py|redis_bus\.py)`",
                                               ARCHITECTURE)}
    missing = sorted(m for m in named if not (PACKAGE / m).exists())
    assert named and missing == []
    scripts = set(re.findall(r"`([a-z]+\.js)`", ARCHITECTURE))
    assert scripts and sorted(s for s in scripts if not (ROOT / "frontend" / "js" / s).exists()) == []


def test_the_readme_layout_matches_the_tree():
    entries = set(re.findall(r"^  ([a-z_]+(?:\.py|/))", layout(), re.M))
    assert entries == parts()
    assert all((ROOT / top).exists() for top in re.findall(r"^([a-z]+/)", layout(), re.M))
