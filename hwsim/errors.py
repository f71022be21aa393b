"""Typed errors for bad user input, and the strict pydantic base for input files.

Library code raises `InputError`; only the CLI turns it into one line and exit status 2.
"""

from __future__ import annotations

import types
import typing
from typing import Any

import pydantic


class InputError(Exception):
    """A user-supplied file or value is wrong in a way the user can fix.

    Args:
        source: the file (or "argument --x") the bad value came from.
        field: path of the offending field inside it ("layers[0].attention"), or "".
        message: what is wrong and, where useful, what is accepted.
    """

    def __init__(self, source: str, field: str, message: str) -> None:
        self.source = str(source)
        self.field = field
        self.message = message
        super().__init__(self.one_line())

    def one_line(self) -> str:
        where = f"{self.source}: {self.field}" if self.field else self.source
        return f"{where}: {self.message}".replace("\n", " ")


class NonFiniteError(InputError):
    """A loss, a cost or a result became NaN or infinite: the run stops before writing it (the
    cause is nearly always an input out of range, such as a learning rate of 1e30)."""


class StrictModel(pydantic.BaseModel):
    """File-boundary model: unknown keys are rejected with the list of accepted ones."""

    # inf and nan are refused at the boundary: they would train to NaN or overflow the model
    model_config = pydantic.ConfigDict(extra="forbid", strict=False, frozen=True, allow_inf_nan=False)

    @pydantic.model_validator(mode="before")
    @classmethod
    def _reject_unknown_keys(cls, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = [k for k in data if k not in cls.model_fields]
            if unknown:
                accepted = ", ".join(cls.model_fields)
                raise ValueError(f"unknown key {unknown[0]!r}; accepted keys: {accepted}")
        return data

    @pydantic.field_validator("*", mode="before")
    @classmethod
    def _numbers_are_numbers(cls, value: Any, info: pydantic.ValidationInfo) -> Any:
        """Lax mode would read `true` as 1 and "300" as 300: a number field takes numbers only."""
        if _is_number(cls.model_fields[info.field_name].annotation):
            values = value if isinstance(value, list) else [value]
            if any(isinstance(v, (bool, str)) for v in values):
                raise ValueError(f"expected a number, got {value!r}")
        return value


def _is_number(annotation: Any) -> bool:
    """A number, an optional number, a choice of numbers or a list of numbers (not a bool)."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if annotation in (int, float):
        return True
    if typing.get_origin(annotation) is typing.Literal:  # e.g. hidden sizes: True == 1 would pass
        return all(isinstance(a, (int, float)) and not isinstance(a, bool) for a in args)
    if typing.get_origin(annotation) in (list, types.UnionType, typing.Union):
        return bool(args) and all(_is_number(a) for a in args)
    return typing.get_origin(annotation) is typing.Annotated and _is_number(args[0])


def format_loc(loc: tuple) -> str:
    """Turn a pydantic error location ('layers', 0, 'quant') into 'layers[0].quant'."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def from_validation_error(source: str, err: pydantic.ValidationError, prefix: str = "") -> InputError:
    """The first problem of a pydantic ValidationError as a one-line InputError."""
    first = err.errors(include_url=False)[0]
    loc = format_loc(tuple(first["loc"]))
    if prefix:
        loc = f"{prefix}.{loc}" if loc and not loc.startswith("[") else f"{prefix}{loc}"
    msg = first["msg"].removeprefix("Value error, ")
    got = first.get("input")
    if first["type"] not in ("missing", "value_error", "model_type", "dict_type") and isinstance(
        got, (str, int, float, bool)
    ):
        msg = f"{msg} (got {got!r})"
    return InputError(source, loc, msg)
