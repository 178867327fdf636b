"""Parse an uploaded CSV of points (x1,x2,label) with errors that name the line."""

from __future__ import annotations

import math

from ..specs import Refusal, format_bound


class CsvError(Refusal, ValueError):
    """A CSV that cannot be used (422); the message names the line and what is wrong."""

    status = 422

    @property
    def detail(self) -> list[dict]:
        return [{"field": "file", "msg": str(self)}]


HEADER = ["x1", "x2", "label"]


def parse_csv(text: str, max_rows: int, max_classes: int = 5,
              max_abs: float = 1e6) -> list[tuple[float, float, float]]:
    """Rows (x1, x2, label) of a CSV with the header `x1,x2,label`; labels 0..max_classes-1,
    coordinates within [-max_abs, max_abs]."""
    lines = [(i, line.strip()) for i, line in enumerate(text.splitlines(), start=1)]
    lines = [(i, line) for i, line in lines if line]
    if not lines:
        raise CsvError("The file is empty: expected a header x1,x2,label and one row per point.")
    number, header = lines[0]
    if [cell.strip().lower() for cell in header.split(",")] != HEADER:
        raise CsvError(f"Line {number}: the first line must be the header x1,x2,label (found {header[:60]!r}).")
    rows = lines[1:]
    if len(rows) > max_rows:
        raise CsvError(f"{len(rows)} rows is more than the maximum {max_rows}.")
    points = []
    for number, line in rows:
        cells = [cell.strip() for cell in line.split(",")]
        if len(cells) != 3:
            raise CsvError(f"Line {number}: expected 3 values (x1,x2,label), found {len(cells)}.")
        try:
            x1, x2, label = (float(cell) for cell in cells)
        except ValueError:
            raise CsvError(f"Line {number}: {line[:60]!r} has a value that is not a number.") from None
        if not all(math.isfinite(v) for v in (x1, x2, label)):
            raise CsvError(f"Line {number}: values must be finite numbers.")
        if abs(x1) > max_abs or abs(x2) > max_abs:
            raise CsvError(f"Line {number}: x1 and x2 must be within [-{format_bound(max_abs)}, {format_bound(max_abs)}].")
        if not label.is_integer() or not 0 <= label < max_classes:
            raise CsvError(f"Line {number}: the label {cells[2]} must be a whole number from 0 to {max_classes - 1}.")
        points.append((x1, x2, label))
    if not points:
        raise CsvError("The file has a header but no points.")
    if len({p[2] for p in points}) < 2:
        raise CsvError("All points have the same label: a classifier needs at least two classes.")
    return points
