"""``dreamloom studio``: serve the page on this machine, safely by default.

It listens on 127.0.0.1 unless told otherwise, serves files only from the output folder and the workspace
(Gradio's own cache is put inside the workspace), and stops a running render with its backup on exit.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import signal
from pathlib import Path

from dreamloom.errors import DreamloomError
from dreamloom.settings.schema import Settings
from dreamloom.studio.form import form_fields, to_form
from dreamloom.studio.runs import RunQueue
from dreamloom.studio.validation import load_form_settings

LOCAL_HOST = "127.0.0.1"
DEFAULT_PORT = 7860
DEFAULT_WORKSPACE = "studio_workspace"
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
"""Ctrl-C and SIGTERM both end the studio as Ctrl-C does (renders stopped with their backups), even when the
shell that started it ignores SIGINT, as shells do for commands started in the background."""
INSTALL_HINT = "pip install 'dreamloom[studio]' (in a checkout: pip install -e '.[studio]')"

log = logging.getLogger("dreamloom")


class StudioUnavailable(DreamloomError):
    """The optional web-page libraries are not installed."""


def require_gradio() -> None:
    """Fail with the install command when the ``studio`` extra is missing."""
    if importlib.util.find_spec("gradio") is None:
        raise StudioUnavailable(f"dreamloom studio needs the optional studio extra: {INSTALL_HINT}.")


def serve(config: Path | None, *, host: str = LOCAL_HOST, port: int = DEFAULT_PORT, output: Path | None = None,
          workspace: Path | None = None) -> None:
    """Serve the studio until Ctrl-C; ``config`` prefills the form, its ``output_dir`` is the output folder
    unless ``output`` names one."""
    require_gradio()
    cwd = Path.cwd()
    fields = form_fields()
    initial = load_form_settings(config, cwd) if config else Settings.model_construct().model_dump(mode="json")
    output_root = (output or cwd / initial["output_dir"]).resolve()
    if output is not None:  # the form renders where the studio shows
        initial["output_dir"] = os.path.relpath(output_root, cwd)
    workspace = (workspace or cwd / DEFAULT_WORKSPACE).resolve()
    for folder in (output_root, workspace / "cache"):
        folder.mkdir(parents=True, exist_ok=True)
    os.environ["GRADIO_TEMP_DIR"] = str(workspace / "cache")
    os.environ["GRADIO_EXAMPLES_CACHE"] = str(workspace / "cache" / "examples")
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    if host != LOCAL_HOST:
        log.warning("The studio listens on %s: anyone who can reach this machine there can start renders and see "
                    "the pictures in %s. Use it only on a network you trust.", host, output_root)

    import gradio as gr

    from dreamloom.studio.app import CSS, Studio, build_page

    queue = RunQueue(cwd)
    studio = Studio(fields, output_root, workspace, cwd, queue, to_form(fields, initial))
    theme = gr.themes.Default(font=["system-ui", "sans-serif"], font_mono=["ui-monospace", "monospace"])
    previous = {number: signal.signal(number, signal.default_int_handler) for number in STOP_SIGNALS}
    try:
        build_page(studio).launch(
            server_name=host, server_port=port, allowed_paths=[str(output_root), str(workspace)],
            theme=theme, css=CSS, ssr_mode=False, show_error=True, footer_links=[],
        )
    finally:
        queue.close()
        for number, handler in previous.items():
            signal.signal(number, handler)
