"""Safe expressions for weights, stops, cutoffs and every time-varying setting.

pytti hands these strings to ``eval``; dreamloom compiles them once, at load time, over a whitelist
(:mod:`dreamloom.dsl.whitelist`) into closures (:mod:`dreamloom.dsl.compiler`), and evaluates the closures
each step with the current variables (``t``, audio bands and their ``_prev``, ``r R mu`` in 3D mode).
"""

from __future__ import annotations

import ast
import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

from dreamloom.dsl.compiler import MAX_LENGTH, CompileError, Compiled, Compiler, Fn, check_size, describe_error
from dreamloom.dsl.pointing import pointed_message
from dreamloom.errors import PromptError

Value = float | tuple[float, ...]

_SPACES = str.maketrans("\n\r\t\f\v", "     ")


class ExpressionError(PromptError):
    """A rejected expression; keeps ``reason``, ``offset`` (into the source as given) and ``hint``.

    The scene parser catches it to re-point the caret inside the whole prompt.
    """

    def __init__(self, message: str, *, reason: str, offset: int, hint: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.offset = offset
        self.hint = hint


@dataclass(frozen=True)
class Expression:
    """A compiled expression. Equal (and hashed) by ``source`` alone.

    ``constant`` is the value when the expression reads no variable (computed at compile time), else None.
    ``setting`` names where it came from, for run-time error messages. A ``finite`` expression (every weight
    and motion setting; not a stop, which may be ``-inf``) refuses an infinite value.
    """

    source: str
    names: frozenset[str] = field(compare=False)
    constant: Value | None = field(compare=False)
    is_list: bool = field(compare=False)  # the value is a tuple (``rotate_3d: '[1, 0, 0, 0]'``)
    setting: str = field(compare=False, repr=False)
    _fn: Fn = field(compare=False, repr=False)
    finite: bool = field(default=True, compare=False, repr=False)

    def evaluate(self, env: Mapping[str, float]) -> Value:
        """The value for the variables in ``env``; a PromptError names the setting and the values used."""
        if self.constant is not None:
            return self.constant
        try:
            value = self._fn(env)
        except KeyError as error:
            raise PromptError(f"{self.setting}: `{self.source}` reads '{error.args[0]}', "
                              "which has no value at this point") from None
        except (ArithmeticError, ValueError, TypeError) as error:
            raise self._runtime_error(env, describe_error(error)) from None
        if value.__class__ is float and value - value == 0.0:  # a finite float: the common case, kept cheap
            return value
        return self._finish(value, env)

    def _finish(self, value: object, env: Mapping[str, float]) -> Value:
        """Convert bools, ints, numpy scalars and lists to floats; refuse NaN (and infinity when ``finite``)."""
        numbers = tuple(map(float, value if isinstance(value, tuple) else (value,)))  # type: ignore[arg-type]
        if any(number != number for number in numbers):
            raise self._runtime_error(env, "the result is not a number (NaN)")
        if self.finite and not all(map(math.isfinite, numbers)):
            raise self._runtime_error(env, "the result is infinite")
        return numbers if self.is_list else numbers[0]

    def _runtime_error(self, env: Mapping[str, float], reason: str) -> PromptError:
        values = ", ".join(f"{name}={env.get(name)!r}" for name in sorted(self.names))
        return PromptError(f"{self.setting}: cannot evaluate `{self.source}` with {values}: {reason}")


def compile_expression(source: str | int | float, *, setting: str, variables: Collection[str],
                       scalar: bool = False, finite: bool = True) -> Expression:
    """Check and compile ``source`` once; raise :class:`ExpressionError` pointing at the first problem.

    ``variables`` are the names the expression may read. With ``scalar``, a list is refused, except a
    one-item list ``[x]``, which means ``x`` (pytti accepts ``[fLo_prev]`` as a weight by accident).
    ``finite=False`` lets the value be infinite (a stop's ``-inf``); a weight of ``inf`` would turn the
    picture black, so everything else is refused, here when it is a constant, else when it is evaluated.
    """
    if not isinstance(source, str):
        return _compile_number(source, setting, finite)
    try:
        text, compiled = _compile_text(source, variables, scalar, finite)
    except CompileError as error:
        message = pointed_message(setting, error.reason, source, error.offset, error.hint)
        raise ExpressionError(message, reason=error.reason, offset=error.offset, hint=error.hint) from None
    is_list = compiled.length is not None
    return Expression(text, compiled.names, compiled.constant, is_list, setting, compiled.fn, finite)


def _compile_number(value: int | float, setting: str, finite: bool) -> Expression:
    try:
        number = float(value)
    except OverflowError:
        number = math.nan
    if number != number or (finite and math.isinf(number)):
        reason = f"{value!r:.40} is not a valid number" + (" (it must be finite)" if number == number else "")
        raise ExpressionError(f"{setting}: {reason}", reason=reason, offset=0, hint="")
    text = repr(value) if not isinstance(value, bool) else str(int(value))
    return Expression(text, frozenset(), number, False, setting, lambda env: number, finite)


def _compile_text(source: str, variables: Collection[str], scalar: bool, finite: bool) -> tuple[str, Compiled]:
    if len(source) > MAX_LENGTH:
        raise CompileError(f"expression is longer than {MAX_LENGTH} characters", MAX_LENGTH)
    lead = len(source) - len(source.lstrip())
    text = source.strip()
    if not text:
        raise CompileError("empty expression", len(source))
    try:
        compiled = _compile_stripped(text, variables, scalar)
    except CompileError as error:
        raise CompileError(error.reason, error.offset + lead, error.hint) from None
    if compiled.is_constant and _has_nan(compiled.constant):
        raise CompileError("the value is not a number (NaN)", lead)
    if finite and compiled.is_constant and _has_infinity(compiled.constant):
        raise CompileError("the value is infinite", lead, "write a finite number; an infinite weight gives a black picture")
    return text, compiled


def _compile_stripped(text: str, variables: Collection[str], scalar: bool) -> Compiled:
    one_line = text.translate(_SPACES)
    try:
        tree = ast.parse(one_line, mode="eval")
    except SyntaxError as error:
        offset = (error.offset or 0) - 1
        raise CompileError(f"syntax error: {error.msg}", offset if offset >= 0 else len(text)) from None
    except (ValueError, RecursionError, MemoryError) as error:
        raise CompileError(f"cannot read this expression: {describe_error(error)}", 0) from None
    check_size(one_line, tree)
    compiler = Compiler(one_line, variables)
    body = tree.body
    if scalar and isinstance(body, (ast.List, ast.Tuple)):
        if len(body.elts) != 1:
            raise CompileError("a single number is needed here, not a list", 0)
        body = body.elts[0]
    compiled = compiler.root(body)
    if compiled.is_constant and compiled.length is not None:
        return Compiled(compiled.fn, tuple(float(v) for v in compiled.constant), compiled.names, True,
                        compiled.length)
    if compiled.is_constant:
        return Compiled(compiled.fn, float(compiled.constant), compiled.names, True)
    return compiled


def _has_nan(value: Value) -> bool:
    items = value if isinstance(value, tuple) else (value,)
    return any(item != item for item in items)


def _has_infinity(value: Value) -> bool:
    items = value if isinstance(value, tuple) else (value,)
    return any(math.isinf(item) for item in items)
