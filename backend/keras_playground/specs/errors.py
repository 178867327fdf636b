"""What is wrong with a request, in words a participant can act on, and the HTTP status
it carries: one wording of a number out of range, one path syntax for the field at fault."""

from __future__ import annotations

import math
from typing import Any

from pydantic import BaseModel

from .vocab import LAYER_TYPES


class Problem(BaseModel):
    """One thing wrong with a spec: where (dotted path), and what, in words."""

    field: str
    message: str


class Refusal(Exception):
    """A request the server refuses (bad input, a wrong token, a limit, try later): each
    kind carries its HTTP status and headers, so the HTTP layer never has to guess them."""

    status: int = 400

    @property
    def detail(self) -> Any:
        """The JSON body's `detail`: words, or a list of {field, msg}."""
        return str(self)

    @property
    def headers(self) -> dict[str, str] | None:
        return None


class TryLater(Refusal):
    """A refusal that passes: the request may be sent again in `retry_after` seconds."""

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.message, self.retry_after = message, retry_after

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class SpecError(Refusal, ValueError):
    """An invalid spec or request (422); `problems` lists each field at fault with its bound."""

    status = 422

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("; ".join(f"{p.field}: {p.message}" for p in problems))

    @classmethod
    def of(cls, field: str, message: str) -> "SpecError":
        """One field at fault."""
        return cls([Problem(field=field, message=message)])

    @property
    def detail(self) -> list[dict]:
        return [{"field": p.field, "msg": p.message} for p in self.problems]


def field_path(loc: tuple[Any, ...] | list[Any]) -> str:
    """('layers', 1, 'units') -> 'layers[1].units'."""
    path, previous = "", None
    for part in loc:
        # pydantic puts a layer's type in the path of its error ('layers', 0, 'conv2d',
        # 'filters'); the body has no such level.
        if not (isinstance(previous, int) and part in (*LAYER_TYPES, "unknown")):
            path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
        previous = part
    return path


def format_bound(value: float) -> str:
    """2147483647 as 2147483647 (not 2.14748e+09), 0.5 as 0.5."""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def range_problem(field: str, value: float, low: float, high: float, *,
                  low_open: bool = False) -> Problem | None:
    """The one wording of a number outside its bounds ("500 is out of range [1, 64]"),
    or None when `value` is within [low, high] (or (low, high] with `low_open`)."""
    bad = not math.isfinite(value) or value > high or (value <= low if low_open else value < low)
    if not bad:
        return None
    left = "(" if low_open else "["
    return Problem(field=field, message=f"{value!r} is out of range {left}{format_bound(low)}, {format_bound(high)}]")


def check_range(field: str, value: float, low: float, high: float, *, low_open: bool = False) -> None:
    """Raise SpecError (422, naming `field` and the bounds) when `value` is out of range."""
    problem = range_problem(field, value, low, high, low_open=low_open)
    if problem is not None:
        raise SpecError([problem])
