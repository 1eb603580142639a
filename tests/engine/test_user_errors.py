"""The CLI's one boundary: every foreseeable failure (bad file, bad weights, full disk, memory, Ctrl-C) ends
in one message naming the setting or file, a non-zero exit code and no traceback (unless ``--debug``), and
finished pictures stay on disk. Most cases call ``main`` in this process (the same code as the command);
a subprocess checks the real command once."""

from __future__ import annotations

import errno
import struct
import zlib
from pathlib import Path

import pytest
import torch
from PIL import Image

from dreamloom.cli import INTERNAL_ERROR_CODE, main, report_failure
from dreamloom.errors import SettingsError, WeightsError
from dreamloom.models.checkpoints import read_state_dict

from .conftest import cli, write_config, write_picture

PIXEL_LIMIT = f"{2 * Image.MAX_IMAGE_PIXELS:,}"


def bomb_png(path: Path, width: int = 20000, height: int = 10000) -> Path:
    """A 69-byte PNG whose header claims ``width`` × ``height`` pixels (PIL refuses it when opening)."""
    Image.new("RGB", (1, 1)).save(path)
    data = bytearray(path.read_bytes())
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    path.write_bytes(bytes(data))
    return path


def dreamloom(capsys: pytest.CaptureFixture[str], *arguments: str) -> tuple[int, str]:
    """Run the command in this process; its exit code and what it wrote on stderr."""
    code = main(["-q", *arguments])
    return code, capsys.readouterr().err


def one_message(err: str) -> str:
    """The error line(s) of a failed command, checked to be a dreamloom message and not a traceback."""
    assert "Traceback" not in err and err.startswith("dreamloom: "), err
    return err


@pytest.mark.parametrize(
    ("failure", "code", "expected"),
    [
        (OSError(errno.ENOSPC, "No space left on device", "out/a_2.png"), 1,
         "dreamloom: error: out/a_2.png: no space is left on the disk. Free some space"),
        (OSError(errno.EROFS, "Read-only file system", "out/a_2.png"), 1,
         "dreamloom: error: out/a_2.png: the file system is read-only. Choose an output_dir/backup_dir"),
        (OSError(errno.ENAMETOOLONG, "File name too long", "x" * 300), 1,
         f"dreamloom: error: {'x' * 120}…: the name is too long for the file system. Use a shorter file or folder "
         "name (file_namespace included)."),
        (MemoryError(), 1, "dreamloom: error: Out of memory. Lower width and height, cutouts"),
        (RuntimeError("[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: can't allocate memory: you tried "
                      "to allocate 1099511627776 bytes."), 1, "dreamloom: error: Out of memory."),
        (torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB"), 1,
         "dreamloom: error: Out of memory."),
        (SettingsError("width: too wide"), 2, "dreamloom: error: width: too wide"),
        (KeyboardInterrupt(), 130, "dreamloom: interrupted"),
        (ValueError("an invariant broke\nsecond line"), INTERNAL_ERROR_CODE,
         "dreamloom: internal error (ValueError: an invariant broke). This is a bug in dreamloom"),
    ],
)
def test_the_boundary_turns_each_failure_into_one_message(capsys, failure, code, expected) -> None:
    assert report_failure(failure, debug=False) == code
    err = capsys.readouterr().err
    assert err.startswith(expected) and err.count("\n") == 1 and "Traceback" not in err
    if code == INTERNAL_ERROR_CODE:
        assert "--debug" in err and "second line" not in err


def test_broken_pipe_is_not_an_error(capsys) -> None:
    assert report_failure(BrokenPipeError(errno.EPIPE, "Broken pipe"), debug=False) == 0
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("place", ["before", "after"])
def test_debug_adds_the_traceback_before_the_same_message(tmp_path: Path, capsys, place: str) -> None:
    missing = str(tmp_path / "missing.yaml")
    arguments = ["--debug", "settings", missing] if place == "before" else ["settings", missing, "--debug"]
    assert main(arguments) == 2
    err = capsys.readouterr().err
    assert err.startswith("Traceback") and "SettingsError" in err
    assert err.splitlines()[-1].startswith(f"dreamloom: error: Config file not found: {missing}.")
    assert main(["settings", missing]) == 2
    assert "Traceback" not in capsys.readouterr().err


@pytest.mark.parametrize("failure", ["disk full", "out of memory"])
def test_a_failure_mid_run_keeps_the_finished_pictures_and_the_backup(tmp_path: Path, monkeypatch, capsys,
                                                                      failure: str) -> None:
    monkeypatch.chdir(tmp_path)
    write_picture(tmp_path / "target.png", [(200, 30, 30)])
    write_config(tmp_path, scenes=" ", direct_image_prompts="target.png", steps_per_scene=6, save_every=2)
    save = Image.Image.save
    saved: list[str] = []

    def fails_the_second_time(image: Image.Image, target, *args, **kwargs) -> None:
        saved.append(str(target))
        if len(saved) == 2 and failure == "disk full":
            raise OSError(errno.ENOSPC, "No space left on device")
        if len(saved) == 2:
            raise RuntimeError("[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: can't allocate memory")
        save(image, target, *args, **kwargs)

    monkeypatch.setattr(Image.Image, "save", fails_the_second_time)
    code, err = dreamloom(capsys, "render", "config.yaml")
    frames, backups = tmp_path / "images_out" / "default", tmp_path / "backup" / "default"
    assert code == 1
    cause = {
        "disk full": f"{frames / 'default_2.png'}: no space is left on the disk. Free some space, or choose "
                     "output_dir/backup_dir on another disk.",
        "out of memory": "Out of memory. Lower width and height, cutouts (or raise gradient_accumulation_steps, "
                         "which splits them into batches), or use fewer or smaller perceptors.",
    }[failure]
    assert one_message(err) == (
        f"dreamloom: error: {cause} What was finished stays: 1 picture in {frames}. "
        "The last backup is from step 2: once fixed, continue with the same command and --resume.\n"
    )
    assert sorted(path.name for path in frames.iterdir()) == ["default_1.png", "default_losses.csv", "default_settings.yaml"]
    assert sorted(path.name for path in backups.iterdir()) == ["default_2.bak"]


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"init_image": "huge.png", "direct_init_weight": 1}, f"init_image: huge.png has more than {PIXEL_LIMIT} pixels"),
        ({"image_model": "Limited Palette", "target_palette": "huge.png"}, f"target_palette: huge.png has more than {PIXEL_LIMIT}"),
        ({"direct_image_prompts": "huge.png"}, f"direct_image_prompts: huge.png has more than {PIXEL_LIMIT} pixels"),
        ({"scenes": "[huge.png]:1", "perceptors": ["demo"]}, f"prompt '[huge.png]:1': huge.png has more than {PIXEL_LIMIT}"),
        ({"scenes": "red:1_[huge.png]", "perceptors": ["demo"]}, f"prompt 'red:1_[huge.png]': huge.png has more than {PIXEL_LIMIT}"),
        ({"init_image": "a" * 300 + ".png", "direct_init_weight": 1}, f"init_image: cannot read {'a' * 120}…: File name too long"),
        ({"scenes": f"red:1_[{'m' * 300}.mp4]", "perceptors": ["demo"]}, f"cannot read {'m' * 120}…: File name too long"),
        ({"scenes": "red:1_[garbage.mp4]", "perceptors": ["demo"]}, "the video garbage.mp4 cannot be opened"),
        ({"init_image": "garbage.mp4", "direct_init_weight": 1}, "init_image: garbage.mp4 is not an image PIL can read (not PNG, JPEG, WebP or another picture format)"),
        ({"file_namespace": "n" * 300}, "(from output_dir): a folder name is longer than the file system allows"),
        ({"device": "cuda:7"}, "device: 'cuda:7' asks for CUDA, but no CUDA GPU is available here"),
    ],
)
def test_bad_input_files_fail_in_preflight_with_one_message_and_no_folders(
    tmp_path: Path, monkeypatch, capsys, settings: dict, message: str
) -> None:
    if settings.get("device") and torch.cuda.is_available():
        pytest.skip("this machine has a CUDA GPU")
    monkeypatch.chdir(tmp_path)
    bomb_png(tmp_path / "huge.png")
    (tmp_path / "garbage.mp4").write_bytes(b"not a video at all\n" * 64)
    write_config(tmp_path, **{"scenes": " ", "steps_per_scene": 2, **settings})
    code, err = dreamloom(capsys, "render", "config.yaml")
    assert code in (1, 2) and message in one_message(err)
    assert "BytesIO" not in err and " at 0x" not in err
    assert not (tmp_path / "images_out").exists() and not (tmp_path / "backup").exists()


def test_a_huge_init_image_through_the_real_command(tmp_path: Path) -> None:
    bomb_png(tmp_path / "huge.png")
    write_config(tmp_path, scenes=" ", init_image="huge.png", direct_init_weight=1)
    process = cli("render", "config.yaml", cwd=tmp_path)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 1 and out == ""
    assert err == (f"dreamloom: error: init_image: huge.png has more than {PIXEL_LIMIT} pixels, the most dreamloom "
                   "opens (a guard against decompression bombs); scale the picture down\n")
    assert not (tmp_path / "images_out").exists()


@pytest.mark.parametrize("setting", ["file_namespace", "output_dir", "backup_dir"])
def test_a_nul_byte_in_a_path_setting_is_refused_when_the_settings_load(tmp_path: Path, capsys, setting: str) -> None:
    config = tmp_path / "nul.yaml"
    config.write_text(f'{setting}: "a\\0b"\n')
    code, err = dreamloom(capsys, "settings", str(config))
    assert code == 2
    assert f"{setting} = 'a\\x00b' (from {config}): contains a NUL character" in one_message(err)


@pytest.mark.parametrize(("contents", "reason"), [(b"", "the file is empty or cut short"),
                                                  (bytes(range(256)) * 8, "it is not a plain weights file")])
def test_corrupt_perceptor_weights_name_the_file_and_the_download_command(
    tmp_path: Path, monkeypatch, capsys, contents: bytes, reason: str
) -> None:
    monkeypatch.chdir(tmp_path)
    weights = tmp_path / "models" / "open_clip" / "RN50-quickgelu" / "openai" / "open_clip_pytorch_model.bin"
    weights.parent.mkdir(parents=True)
    weights.write_bytes(contents)
    write_config(tmp_path, scenes="red", perceptors=["RN50"], models_parent_dir=str(tmp_path / "models"))
    code, err = dreamloom(capsys, "render", "config.yaml")
    assert code == 1
    assert one_message(err) == (
        f"dreamloom: error: perceptor RN50: cannot load {weights}: {reason}"
        + (" (corrupt, or not a checkpoint)" if contents else "")
        + ". Delete the file and run `dreamloom models download RN50`, or put the right checkpoint in its place.\n"
    )


def test_models_verify_reports_a_folder_where_a_weights_file_belongs(tmp_path: Path, capsys) -> None:
    folder = tmp_path / "open_clip" / "ViT-B-32-quickgelu" / "openai" / "open_clip_model.safetensors"
    folder.mkdir(parents=True)
    assert main(["models", "verify", "ViTB32", "--models-parent-dir", str(tmp_path)]) == 1
    assert capsys.readouterr().out == (
        f"ViT-B-32-quickgelu/openai: CORRUPT, {folder} is a folder, not a file; delete it and run "
        "`dreamloom models download ViT-B-32-quickgelu/openai`\n"
    )


def test_a_refused_checkpoint_says_what_it_imports_without_torchs_advice(tmp_path: Path) -> None:
    path = tmp_path / "hub.pt"
    torch.save({"weight": torch.zeros(2), "loader": torch.hub.load}, path)
    with pytest.raises(WeightsError) as caught:
        read_state_dict(path)
    assert str(caught.value) == (
        f"checkpoint {path} was refused: its pickle imports 'torch.hub.load', which a weights file never needs "
        "and which could run code. Only use checkpoints from the registered sources."
    )


def test_long_prompts_are_quoted_short(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    write_config(tmp_path, scenes="red " * 5_000, perceptors=["demo"])
    code, err = dreamloom(capsys, "render", "config.yaml")
    assert code == 2 and len(err) < 400
    assert one_message(err).startswith(f"dreamloom: error: prompt '{'red ' * 20}…' is too long for perceptor demo: ")
    code, err = dreamloom(capsys, "settings", "scenes=red:" + "1+" * 50_000 + "1")
    assert code == 2 and len(err) < 600
    lines = one_message(err).splitlines()
    # The expression is refused at its 1001st character (offset 1004 of the prompt): the 120 characters
    # around it are shown, cut on both sides, the caret under the same character.
    assert lines[1] == "    …" + "1+" * 60 + "…" and lines[2] == " " * (4 + 1 + 60) + "^"


def test_a_dunder_weight_is_reported_as_what_it_is(capsys) -> None:
    code, err = dreamloom(capsys, "settings", "scenes=red:__import__('os').system('ls')")
    assert code == 2
    assert one_message(err).startswith(
        "dreamloom: error: scenes: scene 1, prompt 1: bad weight: calling '__import__('os').system' is not allowed"
    )
