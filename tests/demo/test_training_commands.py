"""The training package's commands (``python -m dreamloom_train.train`` / ``.check``) at tiny sizes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from dreamloom.perception.demo_model import create_demo_model
from dreamloom_train import check, train
from dreamloom_train.check import Target, guided_render, half_weights, nearest_fraction
from dreamloom_train.weights import load_weights, read_metadata

RENDERS = {"red.png", "green.png", "blue.png", "yellow.png", "red-left-blue-right.png", "not-red.png"}
TINY = [
    "--steps", "1", "--set", "pretrain_steps=1", "--set", "warmup=1", "--set", "pretrain_canvases=4",
    "--set", "canvases=2", "--set", "cutouts=2", "--set", "twins=1", "--set", "colour_paths=2",
    "--probe-count", "2", "--check-steps", "1",
]


@pytest.fixture(autouse=True)
def _keep_torch_threads() -> Iterator[None]:
    """The commands set torch's thread count for the whole process; put it back afterwards."""
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def test_unfinished_weights_are_finished_by_trained_and_then_refused(tmp_path: Path) -> None:
    raw, done = tmp_path / "raw.safetensors", tmp_path / "done.safetensors"
    train.main([*TINY, "--set", "cone_shift=0", "--out", str(raw)])
    raw_meta = read_metadata(raw)
    assert (raw_meta["cone_shifted"], raw_meta["cone_shift"], raw_meta["steps"], raw_meta["canvases"]) == (
        "no", "0.0", "1", "2"
    )
    train.main([*TINY, "--trained", str(raw), "--out", str(done), "--renders", str(tmp_path / "renders")])
    assert read_metadata(done)["cone_shifted"] == "yes"
    assert {path.name for path in (tmp_path / "renders").iterdir()} == RENDERS
    before, after = load_weights(raw).state_dict(), load_weights(done).state_dict()
    assert torch.equal(before["visual.conv1.weight"], after["visual.conv1.weight"])  # finished, not retrained
    assert not torch.equal(before["visual.attnpool.c_proj.bias"], after["visual.attnpool.c_proj.bias"])
    with pytest.raises(SystemExit, match="already finished"):
        train.main([*TINY, "--trained", str(done), "--out", str(tmp_path / "again.safetensors")])


def test_check_prints_one_line_per_render_and_saves_the_pictures(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    check.main(["--steps", "1", "--renders", str(tmp_path)])
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines] == [
        "render 'red'", "render 'green'", "render 'blue'", "render 'yellow'",
        "render left 'red'", "render right 'blue'", "render 'red' weight -1",
    ]
    assert {path.name for path in tmp_path.iterdir()} == RENDERS


def test_half_weights_select_cutouts_by_their_centre() -> None:
    centres = torch.tensor([[0.2, 0.9], [0.7, 0.1], [0.49, 0.5]])
    assert half_weights(centres, "left").tolist() == [1.0, 0.0, 1.0]
    assert half_weights(centres, "right").tolist() == [0.0, 1.0, 0.0]
    assert half_weights(centres, None).tolist() == [1.0, 1.0, 1.0]


def test_guided_render_moves_noise_towards_the_prompted_colour() -> None:
    model = create_demo_model(torch.device("cpu"), torch.float32).requires_grad_(False)
    start = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(0))[0]  # the render's first draw
    picture = guided_render(model, [Target("red")], size=64, steps=40, seed=0)
    assert nearest_fraction(start, "red") < 0.1
    assert nearest_fraction(picture, "red") > 0.2
