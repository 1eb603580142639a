"""The names a config may use: dreamloom's settings, pytti's misspellings of them, and did-you-mean hints."""

from __future__ import annotations

import difflib

from dreamloom.settings.schema import SETTING_NAMES, Settings

#: Keys pytti users write that mean a dreamloom setting.
KEY_ALIASES = {"target_pallete": "target_palette", "lock_pallete": "lock_palette"}

#: Settings whose value is text (names, paths, scenes, expressions): an override of one that Hydra's grammar
#: cannot read is taken literally.
TEXT_SETTINGS = frozenset(name for name, info in Settings.model_fields.items() if info.annotation is str)


def did_you_mean(key: str) -> str:
    """A hint naming the closest setting, or where every setting is listed."""
    candidates = list(SETTING_NAMES) + list(KEY_ALIASES)
    close = difflib.get_close_matches(key, candidates, n=1, cutoff=0.6)
    if not close:
        lowered = {name.lower(): name for name in candidates}
        close = [lowered[key.lower()]] if key.lower() in lowered else []
    return f" Did you mean {KEY_ALIASES.get(close[0], close[0])!r}?" if close else " See docs/settings.md for every setting."
