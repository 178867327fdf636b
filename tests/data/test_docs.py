"""Every data set and parameter is documented in docs/datasets.md."""

from pathlib import Path

from keras_playground.data import DATASETS

DOC = (Path(__file__).parents[2] / "docs" / "datasets.md").read_text()


def test_every_data_set_and_parameter_is_documented():
    rows = {line.split("|")[1].strip(" `"): line for line in DOC.splitlines() if line.startswith("| `")}
    assert set(DATASETS) | {"custom"} == set(rows)
    for name, info in DATASETS.items():
        for param in info.params:
            assert f"{param.name} " in rows[name], f"{name}.{param.name} is not documented"
