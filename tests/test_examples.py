"""The bundled examples: each loads and plans offline, `dreamloom examples` lists them, each renders.

The renders override the step counts to a handful, so they check that an example runs end to end (pictures,
and the video of an animation), not how it looks.
"""

from __future__ import annotations

import wave
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from dreamloom.cli import main
from dreamloom.errors import SettingsError
from dreamloom.examples import example_names, example_overrides, example_path, example_sound, example_summary
from dreamloom.plan import build_plan
from dreamloom.render import check_supported, exports_video
from dreamloom.settings.choices import AnimationMode, DepthModel, ImageModelChoice
from dreamloom.settings.loading import load_settings

EXPECTED = {"demo", "palette", "flight", "fly", "pulse"}
TINY = ["steps_per_scene=4", "pre_animation_steps=0", "steps_per_frame=2", "save_every=2", "cutouts=4", "display_every=0", "backups=0"]


def test_the_bundled_examples_are_the_gallery() -> None:
    assert set(example_names()) == EXPECTED


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_example_loads_offline_and_builds_a_plan(name: str) -> None:
    settings = load_settings(example_path(name), example_overrides(name))
    plan = build_plan(settings)
    check_supported(settings)  # the audio example's sound exists and decodes
    assert settings.perceptor_names() == ["demo"]
    assert settings.file_namespace == name
    assert plan.scenes and all(scene.prompts for scene in plan.scenes)
    assert (settings.width, settings.height, settings.steps_per_scene * len(plan.scenes)) == (128, 64, 160)  # as docs/first-hour.md says


def test_the_examples_show_what_their_names_promise() -> None:
    settings = {name: load_settings(example_path(name), example_overrides(name)) for name in EXPECTED}
    assert settings["palette"].image_model is ImageModelChoice.LIMITED
    assert settings["flight"].animation_mode is AnimationMode.TWO_D and exports_video(settings["flight"])
    assert settings["pulse"].animation_mode is AnimationMode.TWO_D
    assert settings["fly"].animation_mode is AnimationMode.THREE_D and exports_video(settings["fly"])
    assert settings["fly"].depth_model is DepthModel.FLAT  # no weights: offline, like every example
    assert settings["pulse"].input_audio == str(example_sound())
    assert [f.variable_name for f in settings["pulse"].input_audio_filters] == ["fLo", "fHi"]


def test_dreamloom_examples_lists_each_name_with_its_summary(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["examples"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == sorted(EXPECTED)
    for line in lines:
        name = line.split()[0]
        assert line.removeprefix(name).strip() == example_summary(name)
    assert example_summary("palette").startswith("A Limited Palette picture")


def test_an_unknown_example_names_the_ones_that_exist() -> None:
    with pytest.raises(SettingsError, match=r"--example: there is no bundled example 'nope'; choose one of demo, flight, fly, palette, pulse\."):
        example_path("nope")


def test_a_user_override_wins_over_the_example_sound(tmp_path: Path) -> None:
    song = tmp_path / "song.wav"
    settings = load_settings(example_path("pulse"), example_overrides("pulse") + [f"input_audio={song}"])
    assert settings.input_audio == str(song)


def test_the_example_sound_is_deterministic_and_repaired(tmp_path: Path) -> None:
    first = example_sound(tmp_path / "a")
    second = example_sound(tmp_path / "b")
    assert first.read_bytes() == second.read_bytes()
    with wave.open(str(first)) as sound:
        assert (sound.getnchannels(), sound.getsampwidth(), sound.getframerate(), sound.getnframes()) == (1, 2, 16_000, 48_000)
        samples = np.frombuffer(sound.readframes(48_000), dtype="<i2").astype(np.float64) / 32767
    spectrum = np.abs(np.fft.rfft(samples[16_000:]))  # the last 2 s hold both the thumps and the whistle
    frequencies = np.fft.rfftfreq(32_000, 1 / 16_000)
    assert frequencies[np.argmax(spectrum)] == pytest.approx(880, abs=1)
    assert spectrum[np.abs(frequencies - 110) < 5].max() > 0.1 * spectrum.max()
    first.write_bytes(b"damaged")
    assert example_sound(tmp_path / "a").read_bytes() == second.read_bytes()
    assert not list((tmp_path / "a").glob("*.part"))


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_example_renders(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], single_thread: None) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["-q", "render", "--example", name, *TINY]) == 0
    final = Path(capsys.readouterr().out.strip())
    folder = tmp_path / "images_out" / name
    assert final.parent == Path("images_out") / name and (tmp_path / final).is_file()
    settings = load_settings(example_path(name), example_overrides(name) + TINY)
    if settings.image_model is ImageModelChoice.LIMITED:
        pixels = np.asarray(Image.open(tmp_path / final).convert("RGB")).reshape(-1, 3)
        assert len(np.unique(pixels, axis=0)) <= settings.palettes * settings.palette_size
    if settings.animation_mode in (AnimationMode.TWO_D, AnimationMode.THREE_D):
        scenes = len(build_plan(settings).scenes)
        with av.open(str(folder / f"{name}.mp4")) as container:
            frames = sum(1 for _ in container.decode(video=0))
            has_sound = bool(container.streams.audio)
        assert frames == 4 * scenes // 2  # a picture every 2 steps of 4 per scene, each a frame of the video
        assert has_sound == bool(settings.input_audio)


def test_the_pulse_examples_filters_hear_its_thumps_and_its_whistle(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The sound and the filters are made for each other: fLo peaks on every half-second thump, fHi rises with the whistle."""
    assert main(["audio", "--example", "pulse", "--output", str(tmp_path / "pulse.png")]) == 0
    table = np.genfromtxt(tmp_path / "pulse.csv", delimiter=",", names=True)
    on_beat = np.isclose(table["t"] % 0.5, 0) | np.isclose(table["t"] % 0.5, 0.5)
    assert np.all(table["fLo"][on_beat] > 0.9) and np.all(table["fLo"][~on_beat] < 0.2)
    assert table["fHi"][table["t"] < 1].max() < 0.1 and table["fHi"][-1] > 0.8
