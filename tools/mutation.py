"""Mutation-test one module of dreamloom with mutmut 3, in a scratch copy of the tree.

Usage (from the repository root; ``make mutation MODULE=...`` calls this)::

    python tools/mutation.py timeline                      # a name from MODULES below
    python tools/mutation.py src/dreamloom/losses/edge.py tests/losses   # any file, with its tests

Why a copy: mutmut rewrites the source it mutates and other people may be editing the working tree, so the
tracked and untracked (not ignored) files are copied to a temporary folder, the mutmut settings are
appended to the copy's ``pyproject.toml``, and ``pythonpath = ["src"]`` makes pytest import the mutants
rather than the editable install. The report ends with the survivors' names; ``--keep`` leaves the copy
so that ``mutmut show NAME`` can be run in it.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# module name -> (source files, test paths). Test paths are the tests that pin the module's behaviour;
# mutmut then runs, for each mutant, only those of them that execute the mutated function.
MODULES: dict[str, tuple[list[str], list[str]]] = {
    "dsl": (["src/dreamloom/dsl/grammar.py", "src/dreamloom/dsl/expressions.py", "src/dreamloom/dsl/whitelist.py",
             "src/dreamloom/dsl/compiler.py"], ["tests/dsl"]),
    "masks": (["src/dreamloom/perception/masks.py"], ["tests/perception/test_masks.py"]),
    "cutouts": (["src/dreamloom/perception/cutouts.py"], ["tests/perception/test_cutouts.py"]),
    "fast_paths": (["src/dreamloom/perception/fast_paths.py"],
                   ["tests/perception/test_fast_blocks.py", "tests/performance/test_fast_paths.py"]),
    "prompt_loss": (["src/dreamloom/perception/prompt_loss.py"], ["tests/perception/test_prompt_loss.py"]),
    "palette": (["src/dreamloom/images/palette_math.py", "src/dreamloom/images/palette.py"],
                ["tests/images/test_palette_math.py", "tests/images/test_palette_model.py",
                 "tests/images/test_palette_vectors.py"]),
    "timeline": (["src/dreamloom/plan/timeline.py"], ["tests/plan"]),
    "backups": (["src/dreamloom/output/backups.py"], ["tests/engine/test_outputs.py"]),
    "animation": (["src/dreamloom/animation/motion2d.py", "src/dreamloom/animation/resample.py",
                   "src/dreamloom/animation/warp2d.py"], ["tests/animation"]),
    "audio": (["src/dreamloom/audio/bands.py", "src/dreamloom/audio/onsets.py"], ["tests/audio"]),
    "stabilization": (["src/dreamloom/engine/stabilization.py"],
                      ["tests/engine/test_stabilization.py", "tests/engine/test_stabilization_hook.py"]),
}


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("module", help=f"one of {', '.join(MODULES)}, or a source file under src/")
    parser.add_argument("tests", nargs="*", help="test files or folders (default: the module's own)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch copy (to run `mutmut show`)")
    parser.add_argument("--show", action="store_true", help="print the diff of every survivor")
    parser.add_argument("--workdir", type=Path, help="scratch folder to use (emptied first)")
    return parser.parse_args(argv)


def resolve(module: str, tests: list[str]) -> tuple[list[str], list[str]]:
    """The source files and test paths of ``module``; explicit ``tests`` replace the defaults."""
    if module in MODULES:
        sources, default_tests = MODULES[module]
    else:
        path = Path(module)
        if not path.suffix:
            path = Path("src/dreamloom") / (module.replace(".", "/").removeprefix("dreamloom/") + ".py")
        if not (ROOT / path).is_file():
            raise SystemExit(f"mutation: {module!r} is neither one of {', '.join(MODULES)} nor a file under {ROOT}")
        sources, default_tests = [path.as_posix()], []
    tests = tests or default_tests
    if not tests:
        raise SystemExit(f"mutation: name the tests that cover {module} (e.g. tests/losses)")
    return sources, tests


def copy_tree(target: Path) -> None:
    """Copy the tracked and untracked-but-not-ignored files (a clean clone has just the tracked ones)."""
    listing = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, check=True,
                             capture_output=True).stdout.decode().split("\0")
    for name in filter(None, listing):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)


def configure(target: Path, sources: list[str], tests: list[str]) -> None:
    """Append the mutmut settings and make pytest import ``src/`` of the copy."""
    pyproject = target / "pyproject.toml"
    text = pyproject.read_text()
    header = "[tool.pytest.ini_options]\n"
    if header not in text:
        raise SystemExit("mutation: pyproject.toml has no [tool.pytest.ini_options] table")
    text = text.replace(header, header + 'pythonpath = ["src"]\n', 1)
    text += ("\n[tool.mutmut]\n"
             f"source_paths = {sources!r}\n"
             f"pytest_add_cli_args_test_selection = {tests!r}\n"
             'also_copy = ["src/"]\n').replace("'", '"')
    pyproject.write_text(text)


def mutmut(target: Path, *args: str, capture: bool = False) -> str:
    executable = Path(sys.executable).with_name("mutmut")
    command = [str(executable) if executable.exists() else "mutmut", *args]
    environment = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run(command, cwd=target, env=environment, text=True, capture_output=capture)
    if done.returncode not in (0, 1) or (args[0] == "run" and done.returncode != 0):
        raise SystemExit(f"mutation: `mutmut {' '.join(args)}` failed with status {done.returncode}")
    return done.stdout if capture else ""


def summarise(results: str) -> tuple[dict[str, int], list[str]]:
    """Count mutants per outcome from ``mutmut results --all true``; list the ones that survived."""
    counts: dict[str, int] = {}
    survivors = []
    for line in results.splitlines():
        match = re.fullmatch(r"\s*(\S+): (.+?)\s*", line)
        if not match:
            continue
        name, outcome = match.groups()
        counts[outcome] = counts.get(outcome, 0) + 1
        if outcome == "survived":
            survivors.append(name)
    return counts, survivors


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    sources, tests = resolve(args.module, args.tests)
    target = args.workdir or Path(tempfile.mkdtemp(prefix="dreamloom-mutation-"))
    if args.workdir:
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
    try:
        copy_tree(target)
        configure(target, sources, tests)
        print(f"mutation: {', '.join(sources)} against {', '.join(tests)} in {target}", flush=True)
        mutmut(target, "run")
        counts, survivors = summarise(mutmut(target, "results", "--all", "true", capture=True))
        total = sum(counts.values())
        print(f"\nmutants: {total}  " + "  ".join(f"{k}: {v}" for k, v in sorted(counts.items())))
        for name in survivors:
            print(f"survived: {name}")
            if args.show:
                print(mutmut(target, "show", name, capture=True).rstrip() + "\n")
        if args.keep:
            print(f"\nscratch copy kept: cd {target} && mutmut show NAME")
    finally:
        if not args.keep:
            shutil.rmtree(target, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
