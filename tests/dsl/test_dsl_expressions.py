"""The expression language: values, the whitelist, pointed errors, run-time errors and limits."""

from __future__ import annotations

import math

import pytest

from dreamloom.dsl.expressions import Expression, compile_expression
from dreamloom.errors import PromptError

VARIABLES = ("t", "fHi", "fLo", "fLo_prev", "r", "R", "mu")
ENV = {"t": 2.0, "fHi": 0.25, "fLo": 0.5, "fLo_prev": 0.125, "r": 1.0, "R": 3.0, "mu": 2.0}


def value(source: str | int | float, env: dict[str, float] = ENV) -> object:
    """The value of ``source`` as a stop computes it (infinity allowed)."""
    return compile_expression(source, setting="test", variables=VARIABLES, finite=False).evaluate(env)


@pytest.mark.parametrize(("source", "expected"), [
    ("10*fHi + sin(t)", 10 * 0.25 + math.sin(2.0)),
    ("1", 1.0),
    ("-inf", -math.inf),
    ("7/2", 3.5),
    ("7//2", 3.0),
    ("-7 % 3", 2.0),
    ("2**0.5", math.sqrt(2)),
    ("pow(2, 3)", 8.0),
    ("abs(-t)", 2.0),
    ("min(t, fLo)", 0.5),
    ("max([t, fLo, 3])", 3.0),
    ("round(2.567, 2)", 2.57),
    ("round(t + 0.6)", 3.0),
    ("floor(t + 0.5) + ceil(fLo)", 3.0),
    ("pi * e * tau", math.pi * math.e * math.tau),
    ("np.sin(t) + np.pi", math.sin(2.0) + math.pi),
    ("np.clip(t, 0, 1)", 1.0),
    ("np.maximum(fLo, fHi) + np.minimum(fLo, fHi)", 0.75),
    ("np.tanh(0) + np.sign(-t) + np.floor(1.5) + np.ceil(1.5)", 2.0),
    ("np.exp(0) + np.log(1) + np.sqrt(4) + np.abs(-1) + np.cos(0)", 5.0),
    ("1 if t > 1 else 2", 1.0),
    ("0 < t < 3", 1.0),
    ("0 < t < 1", 0.0),
    ("t > 1 and fLo or 7", 0.5),
    ("t < 1 and fLo or 7", 7.0),
    ("not t", 0.0),
    ("True + True", 2.0),
    ("(fLo_prev)", 0.125),
    ("r + R + mu", 6.0),
    ("fsum([0.1, 0.2, 0.3])", 0.6),
    ("prod([t, 3])", 6.0),
    ("hypot(3, 4)", 5.0),
    ("1e999", math.inf),
    (3, 3.0),
    (0.5, 0.5),
])
def test_values(source: str | int | float, expected: float) -> None:
    assert value(source) == pytest.approx(expected, rel=1e-12, abs=1e-12)


def test_results_are_python_floats() -> None:
    for source in ("t > 1", "round(t)", "np.sin(t)", "floor(t)", "t", "True"):
        assert type(value(source)) is float


def test_pow_is_math_pow_with_float_result() -> None:
    # pytti quirk kept: its environment's ``pow`` is ``math.pow``.
    assert value("pow(2, 2)") == 4.0 and type(value("pow(2, 2)")) is float


def test_list_literals_give_tuples() -> None:
    expression = compile_expression("[1, 0, 0, 0]", setting="rotate_3d", variables=("t",))
    assert expression.is_list and expression.constant == (1.0, 0.0, 0.0, 0.0)
    moving = compile_expression("[cos(t/2), 0, sin(t/2), t > 1]", setting="rotate_3d", variables=("t",))
    assert moving.is_list and moving.constant is None
    assert moving.evaluate({"t": 2.0}) == (math.cos(1.0), 0.0, math.sin(1.0), 1.0)


def test_constant_folding_and_names() -> None:
    expression = compile_expression("2 * pi + sin(0)", setting="x", variables=("t",))
    assert expression.constant == pytest.approx(2 * math.pi) and expression.names == frozenset()
    moving = compile_expression("10*fHi + sin(t) + 2*3", setting="x", variables=VARIABLES)
    assert moving.constant is None and moving.names == frozenset({"fHi", "t"})


def test_equality_and_hash_by_source() -> None:
    a = compile_expression("sin(t)", setting="a", variables=("t",))
    b = compile_expression("  sin(t) ", setting="b", variables=("t", "fLo"))
    assert a == b and hash(a) == hash(b) and a.source == "sin(t)"
    assert a != compile_expression("sin( t )", setting="a", variables=("t",))
    with pytest.raises(AttributeError):
        a.source = "x"  # type: ignore[misc]


def test_numbers_compile_to_constants() -> None:
    assert compile_expression(2, setting="w", variables=()).source == "2"
    assert compile_expression(-0.5, setting="w", variables=()).constant == -0.5
    assert isinstance(compile_expression(1.5, setting="w", variables=()), Expression)


@pytest.mark.parametrize("number", [math.nan, 10**400])
def test_invalid_numbers_are_refused(number: float) -> None:
    with pytest.raises(PromptError, match="^w: .* is not a valid number"):
        compile_expression(number, setting="w", variables=())


def test_scalar_mode_unwraps_one_item_lists_and_refuses_others() -> None:
    one = compile_expression("[fLo_prev]", setting="w", variables=VARIABLES, scalar=True)
    assert not one.is_list and one.evaluate(ENV) == 0.125
    with pytest.raises(PromptError, match="single number"):
        compile_expression("[1, 2]", setting="w", variables=VARIABLES, scalar=True)


def test_unknown_name_error_names_setting_points_and_lists_names() -> None:
    with pytest.raises(PromptError) as caught:
        compile_expression("10*fHI + sin(t)", setting="translate_x", variables=("t", "fHi"))
    message = str(caught.value)
    assert message.startswith("translate_x: unknown name 'fHI' (did you mean 'fHi'?)")
    lines = message.splitlines()
    assert lines[1] == "    10*fHI + sin(t)"
    assert lines[2] == "       ^"
    assert "names available: fHi, t;" in lines[3]


def test_caret_accounts_for_leading_spaces_and_non_ascii() -> None:
    with pytest.raises(PromptError) as caught:
        compile_expression("  éé + zz", setting="s", variables=("éé",))
    lines = str(caught.value).splitlines()
    assert lines[2].index("^") - 4 == lines[1].index("zz") - 4 == 7


@pytest.mark.parametrize(("source", "reason", "caret"), [
    ("1 +", "syntax error", 3),
    ("sin(t", "never closed", 3),
    ("1/0", "division by zero", 2),
    ("10**1000", "too large", 4),
    ("sqrt(-1)", "math domain error", 0),
    ("factorial(3)", "not a function you can call", 0),
    ("sin", "is a function; call it", 0),
    ("np", "np.<function>", 0),
    ("np.sin", "is a function; call it", 0),
    ("np.random.rand()", "not allowed", 0),
    ("max(1)", "wrong arguments for max", 0),
    ("sin(t, t)", "wrong arguments for sin", 0),
    ("round(t, ndigits=1)", "keyword arguments", 9),
    ("t & 1", "operator '&'", 0),
    ("~t", "'~'", 0),
    ("t is 1", "comparisons", 0),
    ("[t] * 3", "list is only allowed", 0),
    ("sin([t])", "list is only allowed", 4),
    ("[[1], 2]", "list is only allowed", 1),
    ("'a'", "only numbers", 0),
    ("1j", "only numbers", 0),
    ("None", "only numbers", 0),
    ("nan", "NaN", 0),
    ("inf - inf", "NaN", 0),
    ("", "empty expression", 0),
    ("   ", "empty expression", 3),
])
def test_compile_errors(source: str, reason: str, caret: int) -> None:
    with pytest.raises(PromptError, match="^weight: ") as caught:
        compile_expression(source, setting="weight", variables=("t",))
    message = str(caught.value)
    assert reason in message.splitlines()[0]
    assert message.splitlines()[2] == "    " + " " * caret + "^"


@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")
@pytest.mark.parametrize(("source", "env", "reason"), [
    ("1/(t-2)", {"t": 2.0}, "division by zero"),
    ("log(t)", {"t": 0.0}, "math domain error"),
    ("exp(t)", {"t": 1000.0}, "too large"),
    ("t**1000", {"t": 10.0}, "too large"),
    ("(-t)**0.5", {"t": 8.0}, "math domain error"),
    ("np.log(t) - np.log(t)", {"t": 0.0}, "NaN"),
    ("round(t, 1.5)", {"t": 1.0}, "whole number"),
])
def test_runtime_errors_name_setting_expression_and_values(source: str, env: dict[str, float], reason: str) -> None:
    expression = compile_expression(source, setting="scenes: scene 1, prompt 2 (weight)", variables=("t",))
    with pytest.raises(PromptError, match=r"scene 1, prompt 2 \(weight\)") as caught:
        expression.evaluate(env)
    message = str(caught.value)
    assert f"`{source}`" in message and f"t={env['t']!r}" in message and reason in message


def test_missing_variable_at_run_time_is_a_prompt_error() -> None:
    expression = compile_expression("fLo * 2", setting="w", variables=("fLo",))
    with pytest.raises(PromptError, match="reads 'fLo', which has no value"):
        expression.evaluate({"t": 0.0})


def test_variables_shadow_math_names_like_pytti() -> None:
    assert compile_expression("e * 2", setting="w", variables=("e",)).evaluate({"e": 3.0}) == 6.0


def test_whitespace_inside_is_allowed() -> None:
    assert value("1 +\n\t2") == 3.0


@pytest.mark.parametrize("args", [(0.5, 0, 1), (5, 3, 1), (-2, 0, 1), (math.inf, 0, 1), (-math.inf, -1, 1)])
def test_np_clip_fast_path_matches_numpy(args: tuple[float, float, float]) -> None:
    import numpy as np

    source = "np.clip(t, {}, {})".format(*args[1:])
    assert value(source, {"t": args[0]}) == float(np.clip(*args))


def test_expression_error_keeps_reason_offset_and_hint() -> None:
    with pytest.raises(PromptError) as caught:
        compile_expression("10*fHI", setting="w", variables=("t", "fHi"))
    error = caught.value
    assert error.reason == "unknown name 'fHI' (did you mean 'fHi'?)"  # type: ignore[attr-defined]
    assert error.offset == 3  # type: ignore[attr-defined]
    assert error.hint.startswith("names available: fHi, t;")  # type: ignore[attr-defined]
    assert str(error).endswith("\n  " + error.hint)  # type: ignore[attr-defined]
    with pytest.raises(PromptError) as caught:
        compile_expression(math.nan, setting="w", variables=())
    error = caught.value
    assert (str(error), error.reason, error.offset, error.hint) == (  # type: ignore[attr-defined]
        "w: nan is not a valid number", "nan is not a valid number", 0, "")


@pytest.mark.parametrize(("number", "source", "constant"), [(True, "1", 1.0), (False, "0", 0.0), (3, "3", 3.0),
                                                            (-0.5, "-0.5", -0.5)])
def test_numbers_compile_to_constant_expressions(number: object, source: str, constant: float) -> None:
    expression = compile_expression(number, setting="w", variables=("t",))  # type: ignore[arg-type]
    assert (expression.source, expression.constant, expression.is_list) == (source, constant, False)
    assert expression.names == frozenset() and expression.setting == "w"
    assert expression.evaluate({}) == constant


def test_constant_list_expression_attributes() -> None:
    expression = compile_expression("[1, 2*2]", setting="w", variables=("t",))
    assert expression.constant == (1.0, 4.0) and expression.is_list and expression.names == frozenset()


@pytest.mark.parametrize(("source", "first_line", "caret"), [
    ("", "weight: empty expression", 0),
    ("nan", "weight: the value is not a number (NaN)", 0),
    (" [1, nan]", "weight: the value is not a number (NaN)", 1),
    ("*2", "weight: syntax error: invalid syntax", 0),
    # a long text shows "…" and its last 120 characters, so the caret under character 1000 is in column 1 + 119
    ("t" * 1001, "weight: expression is longer than 1000 characters", 120),
])
def test_compile_error_first_lines_in_full(source: str, first_line: str, caret: int) -> None:
    with pytest.raises(PromptError) as caught:
        compile_expression(source, setting="weight", variables=("t",))
    lines = str(caught.value).splitlines()
    assert lines[0] == first_line
    assert lines[2] == "    " + " " * caret + "^"


def test_list_with_a_nan_item_is_refused_at_compile_time() -> None:
    with pytest.raises(PromptError, match=r"^w: the value is not a number \(NaN\)"):
        compile_expression("[1, nan, 2]", setting="w", variables=())


def test_an_expression_of_exactly_the_maximum_length_is_accepted() -> None:
    source = "1" + " " * 997 + "+2"  # 1000 characters
    assert len(source) == 1000
    assert compile_expression(source, setting="w", variables=()).constant == 3.0


def test_a_parser_failure_other_than_syntax_is_a_compile_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args: object, **_kwargs: object) -> None:
        raise ValueError("cannot parse this")

    monkeypatch.setattr("dreamloom.dsl.expressions.ast.parse", refuse)
    with pytest.raises(PromptError) as caught:
        compile_expression("t + 1", setting="w", variables=("t",))
    assert str(caught.value) == "w: cannot read this expression: cannot parse this\n    t + 1\n    ^"


def test_runtime_nan_message_lists_every_value_read() -> None:
    expression = compile_expression("fLo * 0 + np.log(t) - np.log(t)", setting="w", variables=("t", "fLo"))
    with pytest.raises(PromptError) as caught:
        with pytest.warns(RuntimeWarning):
            expression.evaluate({"t": 0.0, "fLo": 0.5})
    assert str(caught.value) == ("w: cannot evaluate `fLo * 0 + np.log(t) - np.log(t)` with fLo=0.5, t=0.0: "
                                 "the result is not a number (NaN)")
