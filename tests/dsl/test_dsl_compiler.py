"""The expression compiler's messages in full, its size limits at their boundaries, and its branch closures.

A rejected expression is reported as ``setting: reason``, the expression, a caret under the part at fault and
sometimes a hint line (docs/scene-language.md). The cases below put the fault after ``t + `` so that the
caret must move to column 4: a message that lost track of its node would point at column 0.
"""

from __future__ import annotations

import ast

import pytest

from dreamloom.dsl.expressions import compile_expression
from dreamloom.errors import PromptError

MATH_HINT = ("constants: e, inf, nan, pi, tau; functions: those of math (sin, cos, exp, log, sqrt, floor, ...), "
             "abs, min, max, pow, round, np.<function> (see docs/scene-language.md)")


def pointed(reason: str, source: str, caret: int, hint: str = "") -> str:
    """The message format written out by hand: first line, the source, the caret, the hint."""
    message = f"weight: {reason}\n    {source}\n    {' ' * caret}^"
    return f"{message}\n  {hint}" if hint else message


def message_of(source: str, variables: tuple[str, ...] = ("t",)) -> str:
    with pytest.raises(PromptError) as caught:
        compile_expression(source, setting="weight", variables=variables)
    return str(caught.value)


@pytest.mark.parametrize(("source", "variables", "reason", "caret", "hint"), [
    ("t + [t]", ("t",), "a list is only allowed as the whole value or as an argument of dist, fsum, max, min, prod",
     4, ""),
    ("t + {1: 2}", ("t",), "dictionaries not allowed in expressions", 4, ""),
    ("t + 'a'", ("t",), "only numbers are allowed, not str literals", 4, ""),
    ("t + sin", ("t",), "'sin' is a function; call it, e.g. sin(t)", 4, ""),
    ("t + np", ("t",), "'np' can only be used as np.<function>(...) or np.pi", 4, ""),
    ("t + sinn", ("t",), "unknown name 'sinn' (did you mean 'sin'?)", 4, "names available: t; " + MATH_HINT),
    ("t + PI", ("t",), "unknown name 'PI' (did you mean 'pi'?)", 4, "names available: t; " + MATH_HINT),
    ("zzz", (), "unknown name 'zzz'", 0, "names available: (none); " + MATH_HINT),
    ("t + t.real", ("t",), "attribute access is not allowed (only np.<function> and np.pi)", 4, ""),
    ("np.pi", ("np",), "attribute access is not allowed (only np.<function> and np.pi)", 0, ""),
    ("t + np.sin", ("t",), "'np.sin' is a function; call it, e.g. np.sin(t)", 4, ""),
    ("t * (t & 1)", ("t",), "operator '&' is not allowed", 5, ""),
    ("t * (t | 1)", ("t",), "operator '|' is not allowed", 5, ""),
    ("t * (t ^ 1)", ("t",), "operator '^' is not allowed", 5, ""),
    ("t * (t << 1)", ("t",), "operator '<<' is not allowed", 5, ""),
    ("t * (t >> 1)", ("t",), "operator '>>' is not allowed", 5, ""),
    ("t * (t @ 1)", ("t",), "operator '@' is not allowed", 5, ""),
    ("t + ~t", ("t",), "operator '~' is not allowed", 4, ""),
    ("t * (t is 1)", ("t",), "only the comparisons == != < <= > >= are allowed", 5, ""),
    ("round(t, ndigits=1)", ("t",), "keyword arguments are not allowed", 9, ""),
    ("t + max(1)", ("t",), "wrong arguments for max(): 'float' object is not iterable", 4, ""),
    ("t + sqrt(-1)", ("t",), "cannot compute this part: math domain error", 4, ""),
    ("t + 1/0", ("t",), "cannot compute this part: division by zero", 6, ""),
    ("t + 10**1000", ("t",), "cannot compute this part: result too large", 8, ""),
    ("t + factorial(3)", ("t",), "'factorial' is not a function you can call", 4, "names available: t; " + MATH_HINT),
    ("sinn(t)", ("t",), "'sinn' is not a function you can call (did you mean 'sin'?)", 0,
     "names available: t; " + MATH_HINT),
    ("t + t(1)", ("t",), "calling 't' is not allowed: only whitelisted functions can be called", 4,
     "names available: t; " + MATH_HINT),
    ("np.sin(t)", ("np", "t"), "calling 'np.sin' is not allowed: only whitelisted functions can be called", 0,
     "names available: np, t; " + MATH_HINT),
    # a callee of 40 characters is shown whole, a longer one cut to 37 and '...'
    ("t + t." + "a" * 38 + "(1)", ("t",), (f"calling 't.{'a' * 38}' is not allowed: only whitelisted functions can be "
                                           "called"), 4, "names available: t; " + MATH_HINT),
    ("t + t." + "a" * 39 + "(1)", ("t",), (f"calling 't.{'a' * 35}...' is not allowed: only whitelisted functions can "
                                           "be called"), 4, "names available: t; " + MATH_HINT),
])
def test_compile_errors_in_full(source: str, variables: tuple[str, ...], reason: str, caret: int, hint: str) -> None:
    assert message_of(source, variables) == pointed(reason, source, caret, hint)


def test_numpy_names_errors_list_what_is_allowed() -> None:
    lines = message_of("t + np.foo").split("\n")
    assert lines[0] == "weight: 'np.foo' is not allowed" and lines[2] == "    " + " " * 4 + "^"
    assert lines[3].startswith("  np names allowed: abs, absolute, arccos, ") and ", euler_gamma, " in lines[3]
    lines = message_of("t + np.foo(t)").split("\n")
    assert lines[0] == "weight: 'np.foo' is not allowed" and lines[2] == "    " + " " * 4 + "^"
    assert lines[3].startswith("  np functions allowed: abs, absolute, arccos, ") and "euler_gamma" not in lines[3]
    assert message_of("np.sin(t, t)").startswith("weight: wrong arguments for np.sin(): ")


def test_a_number_too_large_for_a_float_points_at_it() -> None:
    lines = message_of("t + 1" + "0" * 400).split("\n")
    assert lines[0] == "weight: number too large" and lines[2] == "    " + " " * 4 + "^"


def _depth(node: ast.AST) -> int:
    """Levels below ``node`` (a leaf is 0), by plain recursion."""
    return 1 + max((_depth(child) for child in ast.iter_child_nodes(node)), default=-1)


def test_size_limits_sit_exactly_at_400_parts_and_48_levels() -> None:
    at_limit = "max(" + ", ".join(["t"] * 198) + ")"
    assert sum(1 for _ in ast.walk(ast.parse(at_limit, mode="eval"))) == 400
    assert compile_expression(at_limit, setting="weight", variables=("t",)).evaluate({"t": 2.0}) == 2.0
    # 404 parts: the walk (last child first) reaches the 401st part at the first argument, column 4
    over = "max(" + ", ".join(["t"] * 200) + ")"
    lines = message_of(over).split("\n")
    assert lines[0] == "weight: expression is too long (more than 400 parts)" and lines[2] == "    " + " " * 4 + "^"

    deepest = "-" * 46 + "t"
    assert _depth(ast.parse(deepest, mode="eval")) == 48
    assert compile_expression(deepest, setting="weight", variables=("t",)).evaluate({"t": 2.0}) == 2.0
    # one level more: the part at level 49 is the name's load context, which has no column: the caret
    # falls back to the start of the expression
    too_deep = "-" * 47 + "t"
    assert message_of(too_deep) == pointed("expression is nested too deeply (more than 48 levels)", too_deep, 0)
    # two levels more: the name itself is at level 49 and is reached first, so the caret is under it
    deeper = "-" * 48 + "t"
    assert message_of(deeper) == pointed("expression is nested too deeply (more than 48 levels)", deeper, 48)


@pytest.mark.parametrize(("source", "t", "expected"), [
    ("t if 1 else 2", 5.0, 5.0),
    ("t if 0 else 2", 5.0, 2.0),
    ("1 if t > 5 else t", 2.0, 2.0),
    ("t if t > 1 else 2", 2.0, 2.0),
    ("2 if t > 5 else t", 3.0, 3.0),
    ("1 < t", 2.0, 1.0),
    ("1 < t", 0.5, 0.0),
    ("t < R < 4", 2.0, 1.0),
    ("t < R < 4", 3.5, 0.0),
])
def test_branches_and_comparisons_read_their_variables(source: str, t: float, expected: float) -> None:
    expression = compile_expression(source, setting="weight", variables=("t", "R"))
    assert expression.evaluate({"t": t, "R": 3.0}) == expected


def test_a_constant_condition_is_decided_at_compile_time() -> None:
    assert compile_expression("t if 0 else 2", setting="weight", variables=("t",)).constant == 2.0
    assert compile_expression("1 if 1 else t", setting="weight", variables=("t",)).constant == 1.0


def test_a_parser_failure_without_a_message_names_its_kind(monkeypatch: pytest.MonkeyPatch) -> None:
    def exhausted(*_args: object, **_kwargs: object) -> None:
        raise MemoryError

    monkeypatch.setattr("dreamloom.dsl.expressions.ast.parse", exhausted)
    assert message_of("t + 1") == pointed("cannot read this expression: MemoryError", "t + 1", 0)
