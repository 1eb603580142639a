"""Hostile expressions are refused at compile time: nothing runs, no file appears, nothing hangs."""

from __future__ import annotations

import builtins
import json
import os
import subprocess
import sys
import types
from collections.abc import Iterator
from pathlib import Path

import pytest

from dreamloom.dsl.expressions import compile_expression
from dreamloom.dsl.grammar import parse_scenes
from dreamloom.errors import PromptError
from dsl_escape_corpus import ESCAPES, PROBE_MODULE, with_sentinel

VARIABLES = ("t", "fLo")
HERE = Path(__file__).parent


class Tripwires:
    """Records any attempt to run code: the probe module's trip(), eval/exec, or compile beyond AST-only."""

    def __init__(self) -> None:
        self.calls: list[str] = []


@pytest.fixture
def tripwires(monkeypatch: pytest.MonkeyPatch) -> Iterator[Tripwires]:
    wires = Tripwires()
    probe = types.ModuleType(PROBE_MODULE)
    probe.trip = lambda: wires.calls.append("probe.trip")  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, PROBE_MODULE, probe)
    real_compile = builtins.compile

    def guarded_compile(source, filename, mode, flags=0, *args, **kwargs):  # type: ignore[no-untyped-def]
        if not flags & 0x400:  # ast.PyCF_ONLY_AST: parsing to a tree is allowed, building code is not
            wires.calls.append("compile")
        return real_compile(source, filename, mode, flags, *args, **kwargs)

    def refused(name: str):  # type: ignore[no-untyped-def]
        def call(*args, **kwargs):  # type: ignore[no-untyped-def]
            wires.calls.append(name)
            raise AssertionError(f"{name} called")
        return call

    monkeypatch.setattr(builtins, "compile", guarded_compile)
    monkeypatch.setattr(builtins, "eval", refused("eval"))
    monkeypatch.setattr(builtins, "exec", refused("exec"))
    yield wires


def test_corpus_is_large_enough() -> None:
    assert len(ESCAPES) >= 30


@pytest.mark.parametrize("template", ESCAPES)
def test_escape_rejected_without_side_effects(template: str, tmp_path: Path, tripwires: Tripwires) -> None:
    sentinel = tmp_path / "sentinel"
    source = with_sentinel(template, sentinel)
    with pytest.raises(PromptError, match="^weight: "):
        compile_expression(source, setting="weight", variables=VARIABLES)
    assert not sentinel.exists()
    assert tripwires.calls == []


@pytest.mark.parametrize("template", [e for e in ESCAPES if "|" not in e and ":" not in e and "_" not in e])
def test_escape_in_a_prompt_weight_rejected(template: str, tmp_path: Path, tripwires: Tripwires) -> None:
    source = with_sentinel(template, tmp_path / "sentinel")
    with pytest.raises(PromptError, match=r"^scenes: scene 1, prompt 1: bad weight"):
        parse_scenes(f"a cat:{source}", variables=VARIABLES)
    assert tripwires.calls == []


def test_escape_in_a_stop_rejected(tmp_path: Path, tripwires: Tripwires) -> None:
    sentinel = tmp_path / "sentinel"
    with pytest.raises(PromptError, match="bad stop"):
        parse_scenes(f"a cat:1:__import__('os').system('touch {sentinel}')", variables=VARIABLES)
    assert not sentinel.exists() and tripwires.calls == []


_CHILD = """
import json, sys
from dreamloom.dsl.expressions import compile_expression
from dreamloom.errors import PromptError
from dsl_escape_corpus import ESCAPES, with_sentinel
outcomes = []
for template in ESCAPES:
    try:
        compile_expression(with_sentinel(template, sys.argv[1]), setting="w", variables=("t",))
        outcomes.append("accepted")
    except PromptError:
        outcomes.append("rejected")
print(json.dumps(outcomes))
"""


def test_whole_corpus_finishes_in_bounded_time(tmp_path: Path) -> None:
    """A separate process with a generous limit, so that even a hang inside C code fails instead of
    blocking the suite (a signal cannot interrupt a C-level big-integer power)."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(HERE), *sys.path]))
    result = subprocess.run([sys.executable, "-c", _CHILD, str(tmp_path / "sentinel")], env=env,
                            capture_output=True, text=True, timeout=120, check=True)
    assert json.loads(result.stdout) == ["rejected"] * len(ESCAPES)
    assert not (tmp_path / "sentinel").exists()
