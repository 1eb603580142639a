"""The scene editor's view: the ``scenes`` text parsed as a render parses it, shown as a table, or the
parse error with the position it points at."""

from __future__ import annotations

import html
from collections.abc import Collection

from dreamloom.dsl import parse_scenes
from dreamloom.dsl.masks import format_mask
from dreamloom.dsl.tree import Scene, SourceKind
from dreamloom.errors import PromptError


def scenes_html(scenes: str, prefix: str = "", suffix: str = "", variables: Collection[str] = ("t",)) -> str:
    """An HTML table of every prompt of every scene (weight, stop, mask), or the error as the CLI words it."""
    try:
        parsed = parse_scenes(scenes, prefix=prefix, suffix=suffix, variables=variables)
    except PromptError as error:
        return f'<pre class="dl-scene-error">{html.escape(str(error))}</pre>'
    if not parsed:
        return '<p class="dl-scene-empty">No scene yet: write prompts separated by <code>|</code>, scenes by <code>||</code>.</p>'
    return _table(parsed)


def _table(scenes: tuple[Scene, ...]) -> str:
    rows = []
    for scene in scenes:
        if not scene.prompts:
            rows.append(f"<tr><td>{scene.index + 1}</td><td colspan=5><em>no prompt</em></td></tr>")
        for prompt in scene.prompts:
            source = f"[{prompt.source}]" if prompt.kind is SourceKind.IMAGE else prompt.source
            mask = format_mask(prompt.mask) if prompt.mask is not None else "whole image"
            cells = (str(scene.index + 1), source, prompt.kind.value, prompt.weight.source, prompt.stop.source, mask)
            rows.append("<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in cells) + "</tr>")
    head = "".join(f"<th>{name}</th>" for name in ("scene", "prompt", "kind", "weight", "stop", "mask"))
    return f'<table class="dl-scenes"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'
