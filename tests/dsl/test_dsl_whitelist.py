"""The whitelist's vocabulary, built afresh (``_build_functions`` runs at import, so these tests call it)."""

from __future__ import annotations

import builtins
import functools
import math

import pytest

from dreamloom.dsl import whitelist
from dreamloom.dsl.expressions import compile_expression
from dreamloom.errors import PromptError

# pytti's math environment as whitelist.py documents it, written out by hand
_MATH = set(
    "acos acosh asin asinh atan atan2 atanh cbrt ceil copysign cos cosh degrees dist erf erfc exp exp2 "
    "expm1 fabs floor fmod fsum gamma hypot isclose isfinite isinf isnan lgamma log log10 log1p log2 "
    "nextafter pow prod radians remainder sin sinh sqrt tan tanh trunc ulp".split()
)
_INT_RESULT = {"ceil", "floor", "trunc", "isclose", "isfinite", "isinf", "isnan"}


def test_built_functions_are_the_documented_vocabulary() -> None:
    functions = whitelist._build_functions()
    assert set(functions) == (_MATH & set(dir(math))) | {"abs", "max", "min", "round"}
    assert functions.keys() == whitelist.FUNCTIONS.keys()  # the import-time table has the same names
    assert functions["abs"] is builtins.abs and functions["max"] is builtins.max and functions["min"] is builtins.min
    assert functions["pow"] is math.pow  # pytti quirk: math's pow shadows the builtin
    for name in _MATH - _INT_RESULT - {"pow"}:
        assert functions[name] is getattr(math, name), name  # plain math functions are not wrapped


def test_integer_valued_functions_return_floats() -> None:
    functions = whitelist._build_functions()
    calls = {"ceil": ((2.1,), 3.0), "floor": ((-2.1,), -3.0), "trunc": ((-2.7,), -2.0),
             "isclose": ((1.0, 1.0), 1.0), "isfinite": ((math.inf,), 0.0), "isinf": ((math.inf,), 1.0),
             "isnan": ((1.0,), 0.0)}
    assert set(calls) == _INT_RESULT
    for name, (args, expected) in calls.items():
        result = functions[name](*args)
        assert type(result) is float and result == expected, name
        assert functions[name].__name__ == name
    assert functions["round"](2.567, 2.0) == 2.57 and type(functions["round"](2.5)) is float


def test_as_float_result_converts_and_keeps_the_name() -> None:
    wrapped = whitelist._as_float_result(math.floor)
    assert wrapped(7.9) == 7.0 and type(wrapped(7.9)) is float and wrapped.__name__ == "floor"
    anonymous = whitelist._as_float_result(functools.partial(max, 2))  # a partial has no __name__
    assert anonymous(1) == 2.0 and anonymous.__name__ == "function"


def test_round_refuses_fractional_digits_with_its_reason() -> None:
    with pytest.raises(ValueError, match=r"^round\(\) needs a whole number of digits$"):
        whitelist._round(1.25, 0.5)
    expression = compile_expression("round(t, 0.5)", setting="w", variables=("t",))
    with pytest.raises(PromptError, match=r"round\(\) needs a whole number of digits"):
        expression.evaluate({"t": 1.25})
