"""Hostile expressions that must all be refused at compile time, without running anything.

``{sentinel}`` is replaced by a path that must never be created; ``dreamloom_escape_probe`` is a module
whose ``trip()`` records a call that must never happen.
"""

from __future__ import annotations

PROBE_MODULE = "dreamloom_escape_probe"



def with_sentinel(template: str, sentinel: object) -> str:
    """The expression with its ``{sentinel}`` placeholder (if any) replaced by the path."""
    return template.replace("{sentinel}", str(sentinel))


ESCAPES: tuple[str, ...] = (
    # reaching modules and builtins
    "__import__('os').system('touch {sentinel}')",
    "__import__('dreamloom_escape_probe').trip()",
    "__builtins__",
    "__import__",
    "globals()",
    "locals()",
    "vars()",
    "eval('1')",
    "exec('x = 1')",
    "compile('1', 'f', 'eval')",
    "open('{sentinel}', 'w')",
    "getattr(t, '__class__')",
    "type(t)",
    "breakpoint()",
    "math.sin(t)",
    # attribute walking and dunders
    "().__class__.__bases__[0].__subclasses__()",
    "(1).__class__",
    "t.__class__.__mro__",
    "sin.__self__",
    "abs.__self__.__import__('os').system('touch {sentinel}')",
    "np.sin.__call__(t)",
    "np.__dict__",
    "np.clip.__globals__",
    "np.os.system('touch {sentinel}')",
    # numpy functions outside the whitelist
    "np.load('{sentinel}')",
    "np.save('{sentinel}', 1)",
    "np.fromfile('{sentinel}')",
    "np.random.rand()",
    # other syntax
    "(lambda: __import__('os').system('touch {sentinel}'))()",
    "[x for x in (1, 2)]",
    "{x: 1 for x in (1,)}",
    "sum(x for x in (1,))",
    "{1, 2}",
    "{'a': 1}",
    "t[0]",
    "[1, 2][0]",
    "f'{t}'",
    "f'{__import__(\"os\").system(\"touch {sentinel}\")}'",
    "(x := 1)",
    "max(*[1, 2])",
    "min(**{})",
    "'a' * 10",
    "b'x'",
    "...",
    "import os",
    "t if __import__('dreamloom_escape_probe').trip() else 0",
    "0 and __import__('dreamloom_escape_probe').trip()",
    # unbounded work
    "9**9**9",
    "10**1000",
    "2**10**10",
    "pow(10, 10**10)",
    "factorial(10**6)",
    "comb(10**6, 5*10**5)",
    "ldexp(1.0, 10**9)",
    "[1] * 10**9",
    "max(range(10**9))",
    "(" * 300 + "t" + ")" * 300,
    "(" * 150 + "t" + "+1)" * 150,
    "-" * 900 + "1",
    "1+" * 450 + "1",
    "sin(" * 60 + "t" + ")" * 60,
    "t" * 5000,
    "1" * 5000,
    "t\x00",
)
