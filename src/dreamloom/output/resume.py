"""What ``--resume`` may change. A backup holds the picture's parameters, Adam's moments, the generator and
the frame hooks' state; settings that shape that state (the image's size and model, the animation mode, the
audio filters) must stay as the run began, while every other setting (steps, weights, prompts, learning
rate, saving) applies to the rest of the run.
"""

from __future__ import annotations

from typing import Any

from dreamloom.engine.run import Run
from dreamloom.errors import DreamloomError, SettingsError
from dreamloom.output.backups import Backup
from dreamloom.settings.schema import Settings

FIXED_ON_RESUME = (
    "width", "height", "pixel_size", "image_model", "vqgan_model", "palette_size", "palettes", "animation_mode",
    "input_audio_filters",
)
"""Settings a backup's state was shaped by: a resume with other values is refused."""

SETTINGS_PART = "settings"
"""The part of a backup's state that records the values of :data:`FIXED_ON_RESUME`."""


def recorded_settings(settings: Settings) -> dict[str, Any]:
    """The values a backup records, as plain data (a backup is read with ``weights_only=True``)."""
    return settings.model_dump(mode="json", include=set(FIXED_ON_RESUME))


def check_resumable(backup: Backup, settings: Settings, total_steps: int) -> None:
    """Refuse a resume whose settings the backup cannot honour, or that leaves no step to render."""
    recorded = backup.state.get(SETTINGS_PART)
    if isinstance(recorded, dict):
        now = recorded_settings(settings)
        changed = [name for name in FIXED_ON_RESUME if name in recorded and recorded[name] != now[name]]
        if changed:
            lines = "; ".join(f"{name} is {_shown(now[name])} now but {_shown(recorded[name])} in the run" for name in changed)
            raise SettingsError(
                f"--resume: {lines}. A backup of {backup.base_name!r} can only continue with the picture it "
                f"holds: resume with the run's values (see {backup.base_name}_settings.yaml), or start a new "
                "run without --resume."
            )
    if backup.step >= total_steps:
        raise SettingsError(
            f"--resume: the backup of {backup.base_name!r} is at step {backup.step}, and these settings end at "
            f"step {total_steps} (steps_per_scene × scenes): nothing is left to render. Raise steps_per_scene "
            "to continue the run, or start a new run without --resume."
        )


def restore(run: Run, backup: Backup) -> None:
    """Load ``backup`` into ``run``; a state that does not fit the run is one clear error naming the backup."""
    try:
        run.load_state(backup.state)
    except (RuntimeError, KeyError, TypeError, ValueError, IndexError, AttributeError) as error:
        reason = str(error).strip().splitlines()[0][:200] if str(error).strip() else type(error).__name__
        raise DreamloomError(
            f"--resume: the backup of {backup.base_name!r} at step {backup.step} does not fit the run these "
            f"settings build ({reason}). Resume with the "
            f"settings the run began with (see {backup.base_name}_settings.yaml), or start a new run without "
            "--resume."
        ) from None


def _shown(value: Any) -> str:
    return repr(value) if not isinstance(value, list) else f"{len(value)} entries"
