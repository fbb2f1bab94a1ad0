"""Config overrides from YAML or a dict onto frozen dataclasses: unknown keys and wrong types
are refused by dotted key; ints are accepted for floats, lists for tuples, and YAML 1.1's
`1e-3` string for a float (used by `maskgmt.train.config`)."""

from __future__ import annotations

import dataclasses
import math
import re
import types
import typing
from typing import Any

_YAML_EXPONENT = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+")


def yaml_problem(error: Exception) -> str:
    """A YAML error on one line: what is wrong and where (PyYAML's own text spans lines)."""
    problem = getattr(error, "problem", None) or str(error).splitlines()[0]
    mark = getattr(error, "problem_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    return f"{problem}{where}"


def merge(obj: Any, overrides: dict[str, Any], *, prefix: str, source: str) -> Any:
    """`obj` (a frozen dataclass) with the nested `overrides` applied, checked field by field."""
    hints = typing.get_type_hints(type(obj))
    fields = {f.name for f in dataclasses.fields(obj)}
    changes: dict[str, Any] = {}
    for key, value in overrides.items():
        dotted = f"{prefix}{key}"
        if key not in fields:
            raise ValueError(
                f"{source}: unknown key {dotted!r}; known keys here: {', '.join(sorted(fields))}"
            )
        current = getattr(obj, key)
        if dataclasses.is_dataclass(current):
            if not isinstance(value, dict):
                raise ValueError(
                    f"{source}: {dotted!r} must be a mapping of its fields, "
                    f"got {type(value).__name__}"
                )
            changes[key] = merge(current, value, prefix=f"{dotted}.", source=source)
        else:
            changes[key] = _coerce(value, hints[key], dotted, source)
    try:
        return dataclasses.replace(obj, **changes)
    except ValueError as e:
        raise ValueError(f"{source}: {e}") from None


def _coerce(value: Any, tp: Any, dotted: str, source: str) -> Any:
    """Check `value` against the field type `tp`; ints are accepted for floats and lists for
    tuples, and a string such as `1e-3` (YAML 1.1 reads an exponent without a dot as a string)
    for a float; nothing else is converted."""

    def bad() -> ValueError:
        return ValueError(
            f"{source}: {dotted!r} must be {_type_name(tp)}, got {value!r} ({type(value).__name__})"
        )

    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(tp)
        if value is None and type(None) in options:
            return None
        for option in options:
            if option is type(None):
                continue
            try:
                return _coerce(value, option, dotted, source)
            except ValueError:
                pass
        raise bad()
    if origin is tuple:
        args = typing.get_args(tp)
        if not isinstance(value, (list, tuple)):
            raise bad()
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_coerce(v, args[0], dotted, source) for v in value)
        if len(value) != len(args):
            raise bad()
        return tuple(_coerce(v, a, dotted, source) for v, a in zip(value, args, strict=True))
    if tp is bool:
        if not isinstance(value, bool):
            raise bad()
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad()
        return value
    if tp is float:
        if isinstance(value, str) and _YAML_EXPONENT.fullmatch(value.strip()):
            value = float(value)  # YAML 1.1 reads 1e-3 (no dot in the mantissa) as a string
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise bad()
        if not math.isfinite(value):
            raise ValueError(f"{source}: {dotted!r} must be a finite number, got {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise bad()
        return value
    raise bad()


def _type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in typing.get_args(tp))
    if origin is tuple:
        args = typing.get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return f"a list of {_type_name(args[0])}"
        return f"a list of {len(args)} ({', '.join(_type_name(a) for a in args)})"
    return {bool: "true/false", int: "an integer", float: "a number", str: "a string"}.get(
        tp, "null" if tp is type(None) else str(tp)
    )
