"""Every fenced block in README.md and docs/*.md is either checked against the code or marked as not runnable.

The convention, stated in docs/development.md: a block's language says what it is.
``bash`` lines are commands (``dreamloom`` ones parse with the real CLI and their settings load; ``make``,
``pip`` and ``python`` ones name targets, modules and files that exist); ``yaml`` blocks are configs that load
and build a plan, offline with the demo perceptor; ``python`` blocks compile and the ``dreamloom.X`` names
they use exist; ``text`` blocks (output samples, synopses, file paths, signatures) are not run.
A block with no language or another one fails, so nothing slips past unchecked.
"""

from __future__ import annotations

import ast
import importlib.util
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

import dreamloom
from dreamloom.cli import _build_parser, _split_items
from dreamloom.examples import example_names, example_path
from dreamloom.models.registry import get_entry
from dreamloom.plan import build_plan
from dreamloom.settings.loading import load_settings

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
CHECKED = {"bash", "yaml", "python"}
NOT_RUN = {"text"}
FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```[ \t]*$", re.S | re.M)
OFFLINE = ["perceptors=[demo]", "ViTB32=false"]
"""The plan of every config is built with the demo model alone, so nothing is downloaded."""


@dataclass(frozen=True)
class Block:
    document: Path
    line: int
    language: str
    text: str

    def __str__(self) -> str:
        return f"{self.document.relative_to(ROOT)}:{self.line} ({self.language or 'no language'})"


def blocks() -> list[Block]:
    found = []
    for document in DOCUMENTS:
        source = document.read_text(encoding="utf-8")
        for match in FENCE.finditer(source):
            line = source.count("\n", 0, match.start()) + 1
            found.append(Block(document, line, match.group(1).strip(), match.group(2)))
    return found


ALL = blocks()


def of(language: str) -> list[Block]:
    return [block for block in ALL if block.language == language]


def test_the_documents_have_blocks_of_every_checked_kind() -> None:
    """Guards the fence pattern itself: a pattern that matched nothing would make every test below vacuous."""
    assert {block.language for block in ALL} >= CHECKED | NOT_RUN
    assert len(ALL) >= 30


@pytest.mark.parametrize("block", ALL, ids=str)
def test_every_block_declares_a_checked_or_not_run_language(block: Block) -> None:
    assert block.language in CHECKED | NOT_RUN, f"{block}: mark it bash, yaml or python to check it, or text if it is not runnable"


# --- yaml -----------------------------------------------------------------------------------------------


def _named_files(config: dict, folder: Path) -> None:
    """Create the files a config names (a song, a mask) so that its plan sees what a user's folder would hold."""
    names = [config.get("input_audio"), config.get("init_image")]
    names += re.findall(r"\[([^\]]+\.(?:png|jpg|mp4))\]", str(config.get("scenes", "")))
    for name in filter(None, names):
        (folder / name).write_bytes(b"")


@pytest.mark.parametrize("block", of("yaml"), ids=str)
def test_yaml_blocks_are_configs_that_load_and_plan(block: Block, tmp_path: Path) -> None:
    config = yaml.safe_load(block.text)
    assert isinstance(config, dict) and "scenes" in config, f"{block}: a yaml block is a config with scenes"
    _named_files(config, tmp_path)
    file = tmp_path / "config.yaml"
    file.write_text(block.text, encoding="utf-8")
    as_written = load_settings(file, cwd=tmp_path)  # every name checked as a user's run would have it
    settings = load_settings(file, OFFLINE, cwd=tmp_path)
    plan = build_plan(settings)
    assert settings.perceptor_names() == ["demo"] and as_written.scenes == settings.scenes
    assert len(plan.scenes) == str(config["scenes"]).count("||") + 1


# --- bash -----------------------------------------------------------------------------------------------


def _commands(block: Block) -> list[list[str]]:
    """The block's commands as argument lists: comments, redirections and line continuations removed."""
    joined = block.text.replace("\\\n", " ")
    commands = []
    for line in joined.splitlines():
        words = shlex.split(line, comments=True)
        if ">" in words:
            words = words[: words.index(">")]
        if words:
            commands.append(words)
    return commands


BASH = [(block, words) for block in of("bash") for words in _commands(block)]


def _check_dreamloom(arguments: list[str]) -> None:
    """Parse as ``main`` does, without running: the subcommand, its options and the names they take must exist,
    and the settings given load (the demo example standing in for the user's config file) and build a plan."""
    parser = _build_parser()
    args, extra = parser.parse_known_args(arguments)
    assert not any(item.startswith("-") for item in extra), f"unknown options {extra}"
    if hasattr(args, "items"):
        args.items += extra
        if args.example is not None:
            assert args.example in example_names()
        config, overrides = _split_items(args.items)
        if not any(item.startswith("conf=") for item in overrides):
            example = example_path(args.example or "demo")
            build_plan(load_settings(example, overrides))
            assert config is None or config.endswith(".yaml")
    else:
        assert not extra, f"unexpected arguments {extra}"
    if getattr(args, "models_action", None) in ("download", "verify", "path") and args.name is not None:
        assert get_entry(args.name).name


def _make_targets() -> set[str]:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    return set(re.findall(r"^([a-z][\w-]*):", makefile, re.M))


def _check_python(arguments: list[str]) -> None:
    """``python -m MODULE`` names an importable module; ``python FILE`` a file of the repository."""
    if arguments[0] == "-m":
        assert importlib.util.find_spec(arguments[1]) is not None, f"no module {arguments[1]}"
        if arguments[1] == "pytest":
            for path in (word for word in arguments[2:] if word.startswith("tests")):
                assert (ROOT / path.split("::")[0]).exists(), f"no {path}"
    else:
        assert (ROOT / arguments[0]).is_file(), f"no file {arguments[0]}"


@pytest.mark.parametrize(("block", "words"), BASH, ids=[f"{block} {' '.join(words)[:60]}" for block, words in BASH])
def test_bash_commands_name_what_exists(block: Block, words: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    program, arguments = words[0], words[1:]
    if program == "dreamloom":
        _check_dreamloom(arguments)
    elif program == "make":
        assert arguments[0] in _make_targets()
    elif program == "pip":
        assert arguments[:2] == ["install", "-e"] and len(arguments) == 3 and (ROOT / "pyproject.toml").is_file()
        extra = re.fullmatch(r"\.(?:\[(\w+)\])?", arguments[2])
        assert extra, f"{block}: pip installs {arguments[2]}, not this checkout"
        assert extra[1] is None or f"\n{extra[1]} = [" in (ROOT / "pyproject.toml").read_text(encoding="utf-8"), f"no extra {extra[1]}"
    elif program in ("python", ".venv/bin/python"):
        _check_python(arguments)
    else:
        pytest.fail(f"{block}: `{program}` is not a command this test knows; mark the block text if it is not runnable")


def test_a_wrong_dreamloom_command_is_caught() -> None:
    """The check must fail for a misspelled option, subcommand, example and setting, or it proves nothing."""
    for wrong in (["render", "c.yaml", "--resmue"], ["rendr", "c.yaml"], ["render", "--example", "nope"],
                  ["render", "c.yaml", "stepz_per_scene=3"], ["models", "download", "ViTB33"]):
        with pytest.raises((AssertionError, SystemExit, dreamloom.DreamloomError)):
            _check_dreamloom(wrong)


# --- python ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("block", of("python"), ids=str)
def test_python_blocks_compile_and_use_real_names(block: Block) -> None:
    tree = ast.parse(block.text)
    used = {node.attr for node in ast.walk(tree)
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "dreamloom"}
    assert all(hasattr(dreamloom, name) for name in used), f"{block}: dreamloom has no {sorted(used - set(dir(dreamloom)))}"
