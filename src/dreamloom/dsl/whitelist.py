"""The names an expression may use besides its variables: pytti's ``math`` environment, made explicit.

pytti evaluates expressions with ``eval`` over every public name of ``math`` plus ``abs, max, min, pow,
round`` and the whole ``np`` module. dreamloom keeps the same vocabulary but lists it here, so that a
config can only reach numbers and pure numeric functions. The list is fixed (not ``dir(math)``) so that
the language does not change with the Python version; names missing from an older ``math`` are skipped.
"""

from __future__ import annotations

import builtins
import math
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

import numpy as np

# Functions of ``math`` without underscores, as pytti exposes them (Python 3.11 set). Left out on purpose:
# ``factorial comb perm isqrt gcd lcm`` (integer-only, unbounded big-int work), ``ldexp`` (integer
# exponent; every dreamloom number is a float), ``frexp modf`` (return pairs no expression can unpack).
_MATH_FUNCTIONS = (
    "acos acosh asin asinh atan atan2 atanh cbrt ceil copysign cos cosh degrees dist erf erfc exp exp2 "
    "expm1 fabs floor fmod fsum gamma hypot isclose isfinite isinf isnan lgamma log log10 log1p log2 "
    "nextafter pow prod radians remainder sin sinh sqrt tan tanh trunc ulp"
).split()
_MATH_CONSTANTS = ("e", "inf", "nan", "pi", "tau")

# numpy functions reachable as ``np.<name>``; each takes and returns plain numbers here.
_NUMPY_FUNCTIONS = (
    "abs absolute arccos arccosh arcsin arcsinh arctan arctan2 arctanh ceil clip cos cosh deg2rad degrees "
    "exp exp2 expm1 fabs floor fmax fmin fmod hypot log log10 log1p log2 maximum minimum mod power rad2deg "
    "radians remainder rint sign sin sinc sinh sqrt square tan tanh trunc"
).split()
_NUMPY_CONSTANTS = ("e", "euler_gamma", "inf", "nan", "pi")

# Functions whose Python result may be an int or bool; dreamloom returns floats throughout so that no
# later operation can build a huge integer.
_INT_RESULT = frozenset({"ceil", "floor", "trunc", "isclose", "isfinite", "isinf", "isnan"})

# Functions that accept a list literal argument (an iterable) in addition to plain numbers.
ITERABLE_ARGUMENT = frozenset({"dist", "fsum", "prod", "max", "min"})


def _as_float_result(function: Callable[..., Any]) -> Callable[..., float]:
    """Wrap ``function`` so its result is a Python float (numpy scalars and ints included)."""

    def call(*args: Any) -> float:
        return float(function(*args))

    call.__name__ = getattr(function, "__name__", "function")
    return call


def _round(number: float, ndigits: float | None = None) -> float:
    """Python's ``round`` on floats; ``ndigits`` arrives as a float here, so it must be a whole number."""
    if ndigits is None:
        return float(round(number))
    if not float(ndigits).is_integer():
        raise ValueError("round() needs a whole number of digits")
    return float(round(number, int(ndigits)))


def _build_functions() -> dict[str, Callable[..., Any]]:
    functions: dict[str, Callable[..., Any]] = {
        name: getattr(math, name) for name in _MATH_FUNCTIONS if hasattr(math, name)
    }
    for name in ("abs", "max", "min"):
        functions[name] = getattr(builtins, name)
    functions["round"] = _round
    # pytti quirk kept: its environment adds math's names after the builtins, so ``pow`` is ``math.pow``.
    functions["pow"] = math.pow
    for name in _INT_RESULT & functions.keys():
        functions[name] = _as_float_result(functions[name])
    return functions


FUNCTIONS: Mapping[str, Callable[..., Any]] = MappingProxyType(_build_functions())
CONSTANTS: Mapping[str, float] = MappingProxyType({name: getattr(math, name) for name in _MATH_CONSTANTS})
def _clip(number: float, low: float, high: float) -> float:
    """``np.clip`` on one number (``minimum(maximum(x, low), high)``), without numpy's 10 us overhead."""
    return float(min(max(number, low), high))


NUMPY_FUNCTIONS: Mapping[str, Callable[..., float]] = MappingProxyType(
    {name: _as_float_result(getattr(np, name)) for name in _NUMPY_FUNCTIONS} | {"clip": _clip}
)
NUMPY_CONSTANTS: Mapping[str, float] = MappingProxyType(
    {name: float(getattr(np, name)) for name in _NUMPY_CONSTANTS}
)
