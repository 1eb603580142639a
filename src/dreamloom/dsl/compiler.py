"""Turn an expression's Python syntax tree into a tree of small closures, over a whitelist only.

Why closures: the text is parsed once with :mod:`ast` (which only builds a syntax tree and never runs
anything), every node is checked against the whitelist, and each allowed node becomes a tiny function of
the variable mapping. Nothing is ever passed to ``eval``/``exec``/``compile``. Every number is a Python
float and ``**`` is ``math.pow``, so no operation can build a giant integer; sub-expressions that read no
variable are computed here, once, so ``9**9**9`` fails now instead of during a render.
"""

from __future__ import annotations

import ast
import difflib
import math
import operator
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any, NoReturn

from dreamloom.dsl import whitelist
from dreamloom.dsl.pointing import PointedError

MAX_LENGTH = 1000
MAX_NODES = 400
MAX_DEPTH = 48

Env = Mapping[str, float]
Fn = Callable[[Env], Any]


class CompileError(PointedError):
    """A rejected expression."""


@dataclass(frozen=True)
class Compiled:
    """A checked expression: its closure, its value if it reads no variable, and the variables it reads."""

    fn: Fn
    constant: Any
    names: frozenset[str]
    is_constant: bool
    length: int | None = None  # number of items for a list, None for a number


_BINARY: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: math.pow,  # float power: overflow raises instead of building a huge int
}
_UNARY: dict[type, Callable[[Any], Any]] = {ast.USub: operator.neg, ast.UAdd: operator.pos, ast.Not: operator.not_}
_COMPARE: dict[type, Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}
_FORBIDDEN: dict[type, str] = {
    ast.Subscript: "subscripts ([...] after a value)",
    ast.Lambda: "lambdas",
    ast.ListComp: "comprehensions",
    ast.SetComp: "comprehensions",
    ast.DictComp: "comprehensions",
    ast.GeneratorExp: "comprehensions",
    ast.JoinedStr: "f-strings",
    ast.FormattedValue: "f-strings",
    ast.NamedExpr: "assignments (:=)",
    ast.Starred: "starred arguments (*x)",
    ast.Dict: "dictionaries",
    ast.Set: "sets",
    ast.Slice: "slices",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
}


def node_offset(source: str, node: ast.AST) -> int:
    """The 0-based character offset of ``node`` in a one-line ``source`` (AST columns count UTF-8 bytes)."""
    column = getattr(node, "col_offset", 0)
    return len(source.encode("utf-8")[:column].decode("utf-8", "ignore"))


def check_size(source: str, tree: ast.AST) -> None:
    """Reject trees too large or too deep to be a sensible setting (bounded work, no recursion errors)."""
    count = 0
    stack: list[tuple[ast.AST, int]] = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        count += 1
        if count > MAX_NODES:
            raise CompileError(f"expression is too long (more than {MAX_NODES} parts)", node_offset(source, node))
        if depth > MAX_DEPTH:
            raise CompileError(f"expression is nested too deeply (more than {MAX_DEPTH} levels)",
                               node_offset(source, node))
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))


def _const(value: Any, length: int | None = None) -> Compiled:
    return Compiled(lambda env: value, value, frozenset(), True, length)


class Compiler:
    """Checks one parsed expression against the whitelist and builds its closure tree."""

    def __init__(self, source: str, variables: Collection[str]) -> None:
        self.source = source
        self.variables = frozenset(variables)

    def root(self, node: ast.expr) -> Compiled:
        if isinstance(node, (ast.List, ast.Tuple)):
            return self._sequence(node)
        return self.scalar(node)

    def scalar(self, node: ast.expr) -> Compiled:
        handler = _HANDLERS.get(type(node))
        if handler is None:
            if isinstance(node, (ast.List, ast.Tuple)):
                self._fail(node, "a list is only allowed as the whole value or as an argument of "
                           + ", ".join(sorted(whitelist.ITERABLE_ARGUMENT)))
            what = _FORBIDDEN.get(type(node), f"'{type(node).__name__}' syntax")
            self._fail(node, f"{what} not allowed in expressions")
        return handler(self, node)

    def _fail(self, node: ast.AST, reason: str, hint: str = "") -> NoReturn:
        raise CompileError(reason, node_offset(self.source, node), hint)

    def _fold(self, node: ast.AST, fn: Fn, parts: list[Compiled], length: int | None = None) -> Compiled:
        """Compute ``fn`` now when every part is constant; errors then point at ``node``."""
        names = frozenset().union(*(p.names for p in parts))
        if not all(p.is_constant for p in parts):
            return Compiled(fn, None, names, False, length)
        try:
            value = fn({})
        except (ArithmeticError, ValueError, TypeError) as error:
            self._fail(node, f"cannot compute this part: {describe_error(error)}")
        return _const(value, length)

    def _constant(self, node: ast.Constant) -> Compiled:
        value = node.value
        if type(value) not in (bool, int, float):
            self._fail(node, f"only numbers are allowed, not {type(value).__name__} literals")
        try:
            return _const(float(value))
        except OverflowError:
            self._fail(node, "number too large")

    def _name(self, node: ast.Name) -> Compiled:
        name = node.id
        if name in self.variables:
            return Compiled(operator.itemgetter(name), None, frozenset({name}), False)
        if name in whitelist.CONSTANTS:
            return _const(whitelist.CONSTANTS[name])
        if name in whitelist.FUNCTIONS:
            self._fail(node, f"'{name}' is a function; call it, e.g. {name}(t)")
        if name == "np":
            self._fail(node, "'np' can only be used as np.<function>(...) or np.pi")
        self._fail(node, f"unknown name '{name}'{self._did_you_mean(name)}", self.available_names())

    def _did_you_mean(self, name: str) -> str:
        known = [*self.variables, *whitelist.CONSTANTS, *whitelist.FUNCTIONS]
        close = difflib.get_close_matches(name, known, n=1) or [k for k in known if k.lower() == name.lower()]
        return f" (did you mean '{close[0]}'?)" if close else ""

    def available_names(self) -> str:
        variables = ", ".join(sorted(self.variables)) or "(none)"
        return (f"names available: {variables}; constants: {', '.join(sorted(whitelist.CONSTANTS))}; "
                "functions: those of math (sin, cos, exp, log, sqrt, floor, ...), abs, min, max, pow, round, "
                "np.<function> (see docs/scene-language.md)")

    def _attribute(self, node: ast.Attribute) -> Compiled:
        if not (isinstance(node.value, ast.Name) and node.value.id == "np" and "np" not in self.variables):
            self._fail(node, "attribute access is not allowed (only np.<function> and np.pi)")
        if node.attr in whitelist.NUMPY_CONSTANTS:
            return _const(whitelist.NUMPY_CONSTANTS[node.attr])
        if node.attr in whitelist.NUMPY_FUNCTIONS:
            self._fail(node, f"'np.{node.attr}' is a function; call it, e.g. np.{node.attr}(t)")
        self._fail(node, f"'np.{node.attr}' is not allowed",
                   "np names allowed: " + ", ".join(sorted({*whitelist.NUMPY_FUNCTIONS, *whitelist.NUMPY_CONSTANTS})))

    def _binop(self, node: ast.BinOp) -> Compiled:
        op = _BINARY.get(type(node.op))
        if op is None:
            self._fail(node, f"operator '{_operator_text(node.op)}' is not allowed")
        left, right = self.scalar(node.left), self.scalar(node.right)
        # A failing constant operation points at its right operand: the divisor, the exponent.
        return self._fold(node.right, _binary_fn(op, left, right), [left, right])

    def _unaryop(self, node: ast.UnaryOp) -> Compiled:
        op = _UNARY.get(type(node.op))
        if op is None:
            self._fail(node, "operator '~' is not allowed")
        operand = self.scalar(node.operand)
        inner = operand.fn
        return self._fold(node, lambda env: op(inner(env)), [operand])

    def _boolop(self, node: ast.BoolOp) -> Compiled:
        parts = [self.scalar(value) for value in node.values]
        fns = tuple(p.fn for p in parts)
        is_and = isinstance(node.op, ast.And)

        def boolean(env: Env) -> Any:
            value: Any = is_and
            for fn in fns:
                value = fn(env)
                if bool(value) != is_and:
                    return value
            return value

        return self._fold(node, boolean, parts)

    def _compare(self, node: ast.Compare) -> Compiled:
        ops = []
        for op_node in node.ops:
            op = _COMPARE.get(type(op_node))
            if op is None:
                self._fail(node, "only the comparisons == != < <= > >= are allowed")
            ops.append(op)
        parts = [self.scalar(node.left)] + [self.scalar(c) for c in node.comparators]
        return self._fold(node, _compare_fn(ops, [p.fn for p in parts]), parts)

    def _ifexp(self, node: ast.IfExp) -> Compiled:
        test, body, orelse = self.scalar(node.test), self.scalar(node.body), self.scalar(node.orelse)
        if test.is_constant:
            return body if test.constant else orelse
        t, b, o = test.fn, body.fn, orelse.fn
        return self._fold(node, lambda env: b(env) if t(env) else o(env), [test, body, orelse])

    def _call(self, node: ast.Call) -> Compiled:
        name, function = self._callee(node.func)
        if node.keywords:
            self._fail(node.keywords[0], "keyword arguments are not allowed")
        parts = [self._argument(arg, name) for arg in node.args]
        self._check_arity(node, name, function, parts)
        return self._fold(node, _call_fn(function, [p.fn for p in parts]), parts)

    def _callee(self, func: ast.expr) -> tuple[str, Callable[..., Any]]:
        if isinstance(func, ast.Name) and func.id not in self.variables:
            if func.id in whitelist.FUNCTIONS:
                return func.id, whitelist.FUNCTIONS[func.id]
            self._fail(func, f"'{func.id}' is not a function you can call{self._did_you_mean(func.id)}",
                       self.available_names())
        if (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "np"
                and "np" not in self.variables):
            if func.attr in whitelist.NUMPY_FUNCTIONS:
                return "np." + func.attr, whitelist.NUMPY_FUNCTIONS[func.attr]
            self._fail(func, f"'np.{func.attr}' is not allowed",
                       "np functions allowed: " + ", ".join(sorted(whitelist.NUMPY_FUNCTIONS)))
        callee = ast.unparse(func)
        callee = callee if len(callee) <= 40 else callee[:37] + "..."
        self._fail(func, f"calling '{callee}' is not allowed: only whitelisted functions can be called",
                   self.available_names())

    def _argument(self, arg: ast.expr, function: str) -> Compiled:
        if isinstance(arg, (ast.List, ast.Tuple)) and function in whitelist.ITERABLE_ARGUMENT:
            return self._sequence(arg)
        return self.scalar(arg)

    def _sequence(self, node: ast.List | ast.Tuple) -> Compiled:
        parts = [self.scalar(element) for element in node.elts]
        fns = tuple(p.fn for p in parts)
        return self._fold(node, lambda env: tuple([fn(env) for fn in fns]), parts, len(parts))

    def _check_arity(self, node: ast.Call, name: str, function: Callable[..., Any], parts: list[Compiled]) -> None:
        """Call ``function`` once on harmless sample values: a TypeError then means a wrong argument count."""
        samples = [p.constant if p.is_constant else _sample(p) for p in parts]
        try:
            function(*samples)
        except TypeError as error:
            self._fail(node, f"wrong arguments for {name}(): {error}")
        except (ArithmeticError, ValueError):
            pass


# The only syntax an expression may contain, each with the method that checks and compiles it.
_HANDLERS: dict[type, Callable[[Compiler, Any], Compiled]] = {
    ast.Constant: Compiler._constant,
    ast.Name: Compiler._name,
    ast.Attribute: Compiler._attribute,
    ast.BinOp: Compiler._binop,
    ast.UnaryOp: Compiler._unaryop,
    ast.BoolOp: Compiler._boolop,
    ast.Compare: Compiler._compare,
    ast.IfExp: Compiler._ifexp,
    ast.Call: Compiler._call,
}


def _sample(part: Compiled) -> Any:
    return 0.5 if part.length is None else (0.5,) * part.length


def _binary_fn(op: Callable[[Any, Any], Any], left: Compiled, right: Compiled) -> Fn:
    """Closures specialised for a constant side, the common shape of weights like ``10*fHi``."""
    lf, rf = left.fn, right.fn
    if left.is_constant and not right.is_constant:
        value = left.constant
        return lambda env: op(value, rf(env))
    if right.is_constant and not left.is_constant:
        value = right.constant
        return lambda env: op(lf(env), value)
    return lambda env: op(lf(env), rf(env))


def _compare_fn(ops: list[Callable[[Any, Any], Any]], fns: list[Fn]) -> Fn:
    if len(ops) == 1:
        op, lf, rf = ops[0], fns[0], fns[1]
        return lambda env: op(lf(env), rf(env))
    pairs = tuple(zip(ops, fns[1:]))
    first = fns[0]

    def chain(env: Env) -> bool:
        left = first(env)
        for op, fn in pairs:
            right = fn(env)
            if not op(left, right):
                return False
            left = right
        return True

    return chain


def _call_fn(function: Callable[..., Any], fns: list[Fn]) -> Fn:
    if len(fns) == 1:
        only = fns[0]
        return lambda env: function(only(env))
    if len(fns) == 2:
        first, second = fns
        return lambda env: function(first(env), second(env))
    args = tuple(fns)
    return lambda env: function(*[fn(env) for fn in args])


def _operator_text(op: ast.operator) -> str:
    symbols = {ast.BitAnd: "&", ast.BitOr: "|", ast.BitXor: "^", ast.LShift: "<<", ast.RShift: ">>",
               ast.MatMult: "@"}
    return symbols.get(type(op), type(op).__name__)


def describe_error(error: BaseException) -> str:
    if isinstance(error, ZeroDivisionError):
        return "division by zero"
    if isinstance(error, OverflowError):
        return "result too large"
    return str(error) or type(error).__name__
