"""The house's rules, read from the source: imports only go down the layers
(docs/architecture.md), no module takes another's `_private` name, none is over 400 lines."""

import ast
from pathlib import Path

import keras_playground

PACKAGE = Path(keras_playground.__file__).parent
ROOT = PACKAGE.parents[1]
MAX_LINES = 400

# Each part of the package and its floor: a module may import from its own part or from
# a lower floor, never from its own floor's other parts or above.
FLOORS = {
    "__init__": 0, "specs": 0,
    "config": 1,
    "data": 2, "store": 2,
    "engine": 3,
    "jobs": 4,
    "classroom": 5,
    "api": 6, "backends": 6,
    "app": 7,
    "bench": 8,
    "cli": 9,
}


def part_of(module: str) -> str:
    """keras_playground.jobs.bus -> jobs."""
    return module.split(".")[1] if module.count(".") else "__init__"


def modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        name = ".".join(("keras_playground", *path.relative_to(PACKAGE).with_suffix("").parts))
        yield name.removesuffix(".__init__"), path


def imports(module: str, path: Path):
    """(imported module, names) for every import of ours in the file, lazy ones included."""
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            if target.startswith("keras_playground"):
                yield target, [alias.name for alias in node.names]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("keras_playground"):
                    yield alias.name, []


def test_every_part_of_the_package_has_a_floor():
    parts = {part_of(name) for name, _ in modules()}
    assert parts <= set(FLOORS), f"parts with no floor: {parts - set(FLOORS)}"


def test_imports_only_go_down():
    upward = []
    for module, path in modules():
        mine = part_of(module)
        for target, names in imports(module, path):
            named = [f"{target}.{n}" for n in names if (PACKAGE / n).is_dir() or (PACKAGE / f"{n}.py").is_file()]
            for imported in (named if target == "keras_playground" else [target]):
                theirs = part_of(imported)
                if theirs != mine and theirs != "__init__" and FLOORS[theirs] >= FLOORS[mine]:
                    upward.append(f"{module} imports {imported}")
    assert upward == []


def test_no_module_takes_another_modules_private_names():
    taken = [f"{module} takes {target}.{name}"
             for module, path in modules() for target, names in imports(module, path)
             for name in names if name.startswith("_") and not name.startswith("__")]
    tests = [f"{path.relative_to(ROOT)} takes {node.module}.{alias.name}"
             for path in sorted((ROOT / "tests").rglob("*.py"))
             for node in ast.walk(ast.parse(path.read_text())) if isinstance(node, ast.ImportFrom)
             for alias in node.names if alias.name.startswith("_") and not alias.name.startswith("__")]
    assert taken + tests == []


def test_no_module_is_over_400_lines():
    sources = [*PACKAGE.rglob("*.py"), *(ROOT / "frontend" / "js").glob("*.js")]
    long = {str(path.relative_to(ROOT)): n for path in sources if (n := len(path.read_text().splitlines())) > MAX_LINES}
    assert long == {}


def test_the_package_root_holds_only_the_ground_floor_and_the_entry_points():
    loose = sorted(p.stem for p in PACKAGE.glob("*.py"))
    assert loose == ["__init__", "app", "backends", "cli", "config"]
