"""OmegaConf interpolations as pytti's configs use them, with the resolvers that could read the machine refused.

``${steps_per_frame}`` (another setting), ``${now:%f}`` and ``${user_cache:}`` resolve as in pytti; ``oc.env``,
``env``, ``hydra:`` and every other resolver are refused before anything is resolved, so a shared config can
never read the environment, a file or the process state.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import GrammarParseError, OmegaConfBaseException
from omegaconf.grammar.gen.OmegaConfGrammarParser import OmegaConfGrammarParser
from omegaconf.grammar_parser import parse

#: Resolvers a config may call: the time (pytti's ``${now:%f}`` seed) and pytti's model cache.
ALLOWED_RESOLVERS = frozenset({"now", "user_cache"})
#: A key whose value is absent (OmegaConf's ``???``).
MISSING = "???"


def refused_interpolations(config: DictConfig) -> list[tuple[str, str]]:
    """``(key, problem)`` for each value whose text calls a resolver other than ``now`` and ``user_cache``."""
    problems = []
    for key, text in _strings(OmegaConf.to_container(config, resolve=False), ""):
        try:
            names = set(_resolver_names(parse(text)))
        except GrammarParseError:
            problems.append((key, f"{text!r} is not a valid interpolation; write ${{name}} or escape the $ as \\$"))
            continue
        refused = sorted(names - ALLOWED_RESOLVERS)
        if refused:
            problems.append((key, (
                f"the interpolation ${{{refused[0]}:...}} is not allowed (a config may not read the environment, files "
                "or the process); write the value itself. Allowed: ${other_setting}, ${now:FORMAT}, ${user_cache:}")))
    return problems


def resolve(config: DictConfig) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """Every top-level value resolved, absent (``???``) ones left out, and ``(key, problem)`` for each that fails."""
    _register_user_cache()
    values: dict[str, Any] = {}
    problems = []
    for key in config:
        name = str(key)
        if OmegaConf.is_missing(config, name):
            continue
        try:
            value = config[name]
            values[name] = OmegaConf.to_container(value, resolve=True) if OmegaConf.is_config(value) else value
        except OmegaConfBaseException as error:
            reason = str(error).splitlines()[0]
            problems.append((name, f"cannot resolve its interpolation ({reason}); an interpolation ${{name}} must name another setting"))
    return values, problems


def _register_user_cache() -> None:
    """pytti's ``${user_cache:}``: empty, which is dreamloom's own model cache (kept if pytti registered its own)."""
    if not OmegaConf.has_resolver("user_cache"):
        OmegaConf.register_new_resolver("user_cache", lambda: "")


def _strings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    """``(dotted path, text)`` of every string holding an interpolation, however deep."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, f"{path}.{index}")
    elif isinstance(value, str) and "${" in value:
        yield path, value


def _resolver_names(node: Any) -> Iterator[str]:
    """The resolver names called anywhere in a parsed value, nested calls included."""
    if isinstance(node, OmegaConfGrammarParser.ResolverNameContext):
        yield node.getText()
    for child in getattr(node, "children", None) or []:  # tokens (leaves) have no children
        yield from _resolver_names(child)
