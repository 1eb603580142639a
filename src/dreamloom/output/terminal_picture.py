"""A picture drawn in the terminal with Unicode half blocks in 24-bit colour, and the system picture viewer.

Each character cell shows two pixels: ``▀`` in the foreground colour of the upper pixel over the background
colour of the lower one. Terminals that support 24-bit colour (nearly all today) show the picture as it is;
the lines are plain text, so they survive ``tmux`` and ``ssh`` where inline-image protocols do not.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import TextIO

from PIL import Image

log = logging.getLogger("dreamloom")

UPPER_HALF_BLOCK = "\u2580"
RESET = "\x1b[0m"

#: The widest preview, in characters: big enough to judge a composition, small enough not to flood the log.
MAX_COLUMNS = 48


def half_block_lines(image: Image.Image, columns: int = MAX_COLUMNS) -> list[str]:
    """The picture as lines of coloured half blocks, at most ``columns`` wide, its aspect ratio kept.

    A picture narrower than ``columns`` keeps its size (one character per pixel column); an odd last pixel
    row is shown over the terminal's own background.
    """
    picture = image.convert("RGB")
    if picture.width > columns:
        height = max(1, round(picture.height * columns / picture.width))
        picture = picture.resize((columns, height), Image.BOX)
    width, height = picture.size
    pixels = picture.load()
    lines = []
    for top in range(0, height, 2):
        cells = []
        for x in range(width):
            upper = pixels[x, top]
            cell = f"\x1b[38;2;{upper[0]};{upper[1]};{upper[2]}m"
            if top + 1 < height:
                lower = pixels[x, top + 1]
                cell += f"\x1b[48;2;{lower[0]};{lower[1]};{lower[2]}m"
            else:
                cell += "\x1b[49m"
            cells.append(cell + UPPER_HALF_BLOCK)
        lines.append("".join(cells) + RESET)
    return lines


def preview_columns(stream: TextIO) -> int:
    """How wide a preview fits: :data:`MAX_COLUMNS`, or less in a narrow terminal."""
    try:
        available = os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, OSError, ValueError):
        available = shutil.get_terminal_size().columns
    return max(8, min(MAX_COLUMNS, available))


def is_terminal(stream: TextIO) -> bool:
    """Whether ``stream`` is a terminal: a preview written to a file or a pipe would only be noise."""
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def open_in_viewer(path: Path) -> bool:
    """Open ``path`` with the system's picture viewer without waiting for it; False (and a warning) when the
    system has none, which never fails a finished render."""
    if sys.platform == "win32":
        os.startfile(path)  # type: ignore[attr-defined]  # Windows only
        return True
    opener = "open" if sys.platform == "darwin" else "xdg-open"
    if shutil.which(opener) is None:
        log.warning("--open: no picture viewer found (%s is not installed); the picture is %s", opener, path)
        return False
    subprocess.Popen([opener, str(path)], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                     stderr=subprocess.DEVNULL, start_new_session=True)
    return True
