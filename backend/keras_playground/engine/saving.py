"""A run's `.keras` file, written from its state without going through Keras's saver.

`model.save` walks the model and reads every variable back eagerly: 15-45 ms for the
reference network, under the GIL and on the program the runs of an architecture share.
A class whose runs end together saves thirty at once, one after the other, and the last
`done` waited most of a second for them. Yet every run of an architecture saves the same
archive but for the values of its variables. So Keras saves the program once with each
variable holding a marker (its index in the state, plus an offset), which shows where
each variable's value lands: a dataset of the weights file, or a number of the config
(the optimizer's learning rate). A run's file is that archive with those places
rewritten from its state: a weight's bytes where HDF5 keeps them (h5py tells where a
contiguous dataset's values lie in the file), a number in the config: 0.4 ms a run
(3 ms through h5py and a copy of the whole config, under the GIL the class shares).

Keras saves the program twice, with two offsets: a place that changes between the two
without holding a marker would be a variable written in a form this module cannot
reproduce; then the program falls back to Keras's saver (`EpochProgram.keras_file`).
The archive is what Keras writes (`metadata.json`, `config.json`, `model.weights.h5`),
so `keras.saving.load_model` reads it as it reads its own (tested against `model.save`).
"""

from __future__ import annotations

import datetime
import io
import json
import tempfile
import zipfile
from pathlib import Path

import h5py
import numpy as np

WEIGHTS, CONFIG, METADATA = "model.weights.h5", "config.json", "metadata.json"


class KerasFile:
    """The `.keras` archive of one program's architecture; `write(state)` gives a run's."""

    def __init__(self, program):
        """Saves `program.model` twice with markers in its variables (`program.variables`,
        the state's order); raises ValueError when a run's file cannot be written from
        them. The program's variables are left holding markers."""
        n = len(program.variables)
        first, second = (self._save_marked(program, offset) for offset in (1, 1 + n))
        with zipfile.ZipFile(io.BytesIO(first)) as z:
            self._entries = [(info, z.read(info.filename)) for info in z.infolist()]
        with zipfile.ZipFile(io.BytesIO(second)) as z:
            again = {name: z.read(name) for name in (WEIGHTS, CONFIG)}
        files = {info.filename: data for info, data in self._entries}
        self._weights = files[WEIGHTS]
        datasets, datasets_again = _datasets(files[WEIGHTS]), _datasets(again[WEIGHTS])
        # (dataset name, state index); the variables Keras does not save (a dropout's seed)
        # are in neither file.
        self._slots = [(name, _slot(values, datasets_again[name], n, name))
                       for name, values in datasets.items()
                       if not np.array_equal(values, datasets_again[name])]
        self._config = json.loads(files[CONFIG])
        # (path of keys into the config, state index): numbers taken from a variable.
        self._config_slots = [(path, _slot(np.asarray(value), np.asarray(value_again), n, CONFIG))
                              for path, value, value_again in _differences(self._config, json.loads(again[CONFIG]))]
        if len({index for _, index in self._slots}) != len(self._slots):
            raise ValueError(f"{WEIGHTS}: a state variable is saved twice")
        self._places = raw_places(self._weights, self._slots)

    @staticmethod
    def _save_marked(program, offset: int) -> bytes:
        program.load([np.full(tuple(v.shape), i + offset).astype(v.dtype)
                      for i, v in enumerate(program.variables)])
        return save_with_keras(program.model)

    def write(self, state) -> bytes:
        """The `.keras` file of a run whose variables hold `state` (tensors or arrays)."""
        weights = self._weights_of(state)
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as z:
            for info, data in self._entries:
                if info.filename == WEIGHTS:
                    data = weights
                elif info.filename == CONFIG and self._config_slots:
                    data = json.dumps(self._config_of(state))
                elif info.filename == METADATA:  # saved now, as Keras stamps it
                    data = json.dumps({**json.loads(data),
                                       "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S")})
                z.writestr(info.filename, data, compress_type=info.compress_type)
        return out.getvalue()

    def _weights_of(self, state) -> bytes:
        """The weights file holding `state`'s values: written into its bytes where HDF5 keeps
        them, else (a layout h5py cannot point into) through h5py."""
        if self._places is not None:
            weights = bytearray(self._weights)
            for offset, dtype, shape, index in self._places:
                value = np.asarray(state[index], dtype=dtype)
                if value.shape != shape:
                    raise ValueError(f"{WEIGHTS}: state {index} has shape {value.shape}, the file {shape}")
                weights[offset:offset + value.nbytes] = value.tobytes()
            return bytes(weights)
        weights = io.BytesIO(self._weights)
        with h5py.File(weights, "r+") as h5:
            for name, index in self._slots:
                h5[name][...] = np.asarray(state[index])
        return weights.getvalue()

    def _config_of(self, state) -> dict:
        """The config with the numbers taken from `state`; only the dicts and lists on their
        paths are copied (a deep copy of the whole config took most of a millisecond)."""
        config = self._config
        for path, index in self._config_slots:
            config = _replaced(config, path, np.asarray(state[index]).item())  # a Python number, as Keras writes it
        return config


def raw_places(weights: bytes, slots: list[tuple[str, int]]) -> list[tuple] | None:
    """(byte offset, dtype, shape, state index) of each slot's values in the weights file,
    or None unless every slot's dataset is stored whole and in place (contiguous, neither
    chunked, filtered nor compact, its storage allocated): then its values are plain bytes
    at that offset (HDF5's checksums cover its metadata, not the values)."""
    places = []
    with h5py.File(io.BytesIO(weights), "r") as h5:
        for name, index in slots:
            dataset = h5[name]
            offset = dataset.id.get_offset()
            if (offset is None or dataset.chunks is not None or dataset.compression is not None
                    or dataset.id.get_storage_size() != dataset.dtype.itemsize * dataset.size):
                return None
            places.append((offset, dataset.dtype, dataset.shape, index))
    if any(offset + dtype.itemsize * int(np.prod(shape)) > len(weights) for offset, dtype, shape, _ in places):
        return None
    return places


def _replaced(tree, path: tuple, value):
    """`tree` with the leaf at `path` (keys and indices) set to `value`, sharing every
    branch off the path with `tree`."""
    if not path:
        return value
    head, *rest = path
    branch = list(tree) if isinstance(tree, list) else dict(tree)
    branch[head] = _replaced(tree[head], tuple(rest), value)
    return branch


def save_with_keras(model) -> bytes:
    """`model.save` as bytes (it writes only to a path)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.keras"
        model.save(path)
        return path.read_bytes()


def _slot(values: np.ndarray, values_again: np.ndarray, n: int, where: str) -> int:
    """The state index whose markers (offsets 1 and 1 + n) fill `values` and `values_again`."""
    index = _marker(values) - 1
    if not (0 <= index < n and _marker(values_again) == index + 1 + n):
        raise ValueError(f"{where}: a value taken from the state in a form this file cannot write")
    return index


def _marker(values: np.ndarray) -> int:
    """The marker filling every element of `values`; 0 if it holds none."""
    flat = values.ravel()
    if flat.size and flat.dtype.kind in "iuf" and np.all(flat == flat[0]) and float(flat[0]).is_integer():
        return int(flat[0])
    return 0


def _datasets(weights: bytes) -> dict[str, np.ndarray]:
    """Every dataset of an HDF5 file, by name."""
    found: dict[str, np.ndarray] = {}
    with h5py.File(io.BytesIO(weights), "r") as h5:
        h5.visititems(lambda name, item: found.__setitem__(name, np.asarray(item[()]))
                      if isinstance(item, h5py.Dataset) else None)
    return found


def _differences(a, b, path: tuple = ()):
    """(path, value in a, value in b) of every leaf where two JSON trees differ."""
    if isinstance(a, dict) and isinstance(b, dict) and a.keys() == b.keys():
        for key in a:
            yield from _differences(a[key], b[key], (*path, key))
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            yield from _differences(x, y, (*path, i))
    elif a != b:
        yield path, a, b
