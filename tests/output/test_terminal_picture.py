"""The terminal preview (half blocks in 24-bit colour) and ``--open``, alone and through ``dreamloom render``."""

from __future__ import annotations

import io
import logging
import re
from pathlib import Path

import pytest
from PIL import Image

from dreamloom.cli import main
from dreamloom.output import terminal_picture
from dreamloom.output.terminal_picture import MAX_COLUMNS, half_block_lines, is_terminal

RED, GREEN, BLUE, WHITE = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255)
CELL = re.compile(r"\x1b\[38;2;(\d+);(\d+);(\d+)m(?:\x1b\[48;2;(\d+);(\d+);(\d+)m|\x1b\[49m)\u2580")


def picture(rows: list[list[tuple[int, int, int]]]) -> Image.Image:
    image = Image.new("RGB", (len(rows[0]), len(rows)))
    image.putdata([pixel for row in rows for pixel in row])
    return image


def cells(line: str) -> list[tuple[tuple[int, ...], tuple[int, ...] | None]]:
    """(upper colour, lower colour or None) of each half block of one line."""
    found = []
    for match in CELL.finditer(line):
        numbers = [int(n) if n is not None else None for n in match.groups()]
        lower = tuple(numbers[3:]) if numbers[3] is not None else None
        found.append((tuple(numbers[:3]), lower))
    return found


def test_each_cell_shows_the_upper_pixel_over_the_lower_one() -> None:
    lines = half_block_lines(picture([[RED, GREEN], [BLUE, WHITE]]))
    assert lines == [
        "\x1b[38;2;255;0;0m\x1b[48;2;0;0;255m\u2580\x1b[38;2;0;255;0m\x1b[48;2;255;255;255m\u2580\x1b[0m"
    ]


def test_an_odd_last_row_stands_over_the_terminal_background() -> None:
    lines = half_block_lines(picture([[RED], [GREEN], [BLUE]]))
    assert [cells(line) for line in lines] == [[(RED, GREEN)], [(BLUE, None)]]
    assert lines[1] == "\x1b[38;2;0;0;255m\x1b[49m\u2580\x1b[0m"


def test_a_wide_picture_is_shrunk_to_the_column_limit_keeping_its_aspect() -> None:
    # 96×8: left half red, right half blue → 48 columns × 4 pixel rows → 2 lines of 48 cells.
    rows = [[RED] * 48 + [BLUE] * 48 for _ in range(8)]
    lines = half_block_lines(picture(rows), columns=48)
    assert len(lines) == 2
    for line in lines:
        found = cells(line)
        assert found == [(RED, RED)] * 24 + [(BLUE, BLUE)] * 24


def test_a_picture_narrower_than_the_limit_keeps_one_column_per_pixel() -> None:
    lines = half_block_lines(picture([[GREEN] * 5] * 4), columns=48)
    assert [len(cells(line)) for line in lines] == [5, 5]


def test_files_and_pipes_are_not_terminals() -> None:
    assert not is_terminal(io.StringIO())


TINY = ["perceptors=[demo]", "ViTB32=false", "scenes=red", "width=16", "height=16", "steps_per_scene=4",
        "cutouts=4", "save_every=4", "display_every=2", "backups=0", "seed=3"]


def render_args(tmp_path: Path, *extra: str) -> list[str]:
    return ["render", *TINY, f"output_dir={tmp_path / 'out'}", f"backup_dir={tmp_path / 'backups'}", *extra]


def final_picture_lines(stdout: str) -> list[str]:
    """The drawing of the final picture, whose path is the last line of ``stdout``."""
    with Image.open(Path(stdout.strip().splitlines()[-1])) as image:
        return half_block_lines(image)


def test_render_draws_the_picture_at_each_display_and_at_the_end_when_forced_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], single_thread: None
) -> None:
    assert main(render_args(tmp_path, "--terminal-preview", "on")) == 0
    out = capsys.readouterr().out
    expected = final_picture_lines(out)
    lines = out.splitlines()
    # The final picture is drawn just before its path; an earlier drawing came with the step-2 line.
    assert lines[-1 - len(expected):-1] == expected
    previews = [line for line in lines if CELL.search(line)]
    assert len(previews) == 3 * len(expected)  # steps 2 and 4, then the end
    assert len(expected) == 8 and all(len(cells(line)) == 16 for line in expected)


@pytest.mark.parametrize("extra", [[], ["-q", "--terminal-preview", "on"], ["--terminal-preview", "off"]])
def test_no_drawing_off_a_terminal_with_quiet_or_when_off(
    extra: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str], single_thread: None
) -> None:
    assert main(render_args(tmp_path, *extra)) == 0
    out = capsys.readouterr().out
    assert "\x1b[" not in out
    assert out.strip().splitlines()[-1].endswith("_1.png")


def test_open_hands_the_final_picture_to_the_system_viewer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, single_thread: None
) -> None:
    started: list[list[str]] = []
    monkeypatch.setattr(terminal_picture.sys, "platform", "linux")
    monkeypatch.setattr(terminal_picture.shutil, "which", lambda name: f"/usr/bin/{name}")
    monkeypatch.setattr(terminal_picture.subprocess, "Popen", lambda command, **_: started.append(command))
    assert main(render_args(tmp_path, "-q", "--open")) == 0
    final = capsys.readouterr().out.strip()
    assert started == [["xdg-open", final]]


def test_open_without_a_viewer_warns_and_the_render_still_succeeds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture, single_thread: None
) -> None:
    monkeypatch.setattr(terminal_picture.sys, "platform", "linux")
    monkeypatch.setattr(terminal_picture.shutil, "which", lambda name: None)
    with caplog.at_level(logging.WARNING, logger="dreamloom"):
        assert main(render_args(tmp_path, "-q", "--open")) == 0
    final = capsys.readouterr().out.strip()
    assert any("no picture viewer found" in message and final in message for message in caplog.messages)


def test_the_column_limit_fits_a_narrow_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(terminal_picture.os, "get_terminal_size", lambda fd: terminal_picture.os.terminal_size((30, 20)))
    stream = io.StringIO()
    stream.fileno = lambda: 1  # type: ignore[method-assign]
    assert terminal_picture.preview_columns(stream) == 30
    monkeypatch.setattr(terminal_picture.os, "get_terminal_size", lambda fd: terminal_picture.os.terminal_size((200, 20)))
    assert terminal_picture.preview_columns(stream) == MAX_COLUMNS


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_auto_draws_on_a_terminal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, single_thread: None) -> None:
    terminal = FakeTerminal()
    monkeypatch.setattr("sys.stdout", terminal)
    assert main(render_args(tmp_path)) == 0
    expected = final_picture_lines(terminal.getvalue())
    assert terminal.getvalue().splitlines()[-1 - len(expected):-1] == expected
