"""The studio's page (Gradio): scene editor and render controls, the settings form, the gallery.

Every widget of the settings form is made from :func:`~dreamloom.studio.form.form_fields`; every render is a
``dreamloom render`` process of :class:`~dreamloom.studio.runs.RunQueue`; every file shown comes from the
output folder or the workspace.
"""

from __future__ import annotations

import html
import threading
from dataclasses import dataclass
from dataclasses import field as default
from pathlib import Path
from typing import Any

import gradio as gr
import yaml
from pydantic import ValidationError

from dreamloom.errors import DreamloomError
from dreamloom.plan import expression_variables
from dreamloom.settings.schema import Settings
from dreamloom.studio.form import FieldKind, FormField, form_yaml, to_form, yaml_text
from dreamloom.studio.gallery import latest_picture, list_runs, loss_rows, open_run
from dreamloom.studio.loss_chart import loss_svg
from dreamloom.studio.runs import Job, JobState, RunQueue
from dreamloom.studio.scenes_view import scenes_html
from dreamloom.studio.validation import Checked, check_form, load_form_settings
from dreamloom.studio.workspace import job_config, store_upload

EDITOR_FIELDS = ("scenes",)
"""Settings shown in the scene editor rather than in the settings tab."""

POLL_SECONDS = 0.5
"""How often an open page asks for the latest picture, progress and log."""

CSS = """
.dl-field-error, .dl-field-error p { color: #b42318; font-weight: 600; margin-top: -6px; }
.dl-scene-error { color: #b42318; white-space: pre-wrap; }
table.dl-scenes { border-collapse: collapse; width: 100%; }
#preview img { width: 100%; height: 100%; object-fit: contain; image-rendering: pixelated; }
table.dl-scenes td, table.dl-scenes th { border: 1px solid #d0d5dd; padding: 2px 6px; text-align: left; }
"""


@dataclass
class Studio:
    """What the page works with: the form, the folders it may read, the render queue, the first values."""

    fields: list[FormField]
    output_root: Path
    workspace: Path
    cwd: Path
    queue: RunQueue
    initial: dict[str, Any]
    lock: threading.Lock = default(default_factory=threading.Lock)

    @property
    def names(self) -> list[str]:
        return [field.name for field in self.fields]

    @property
    def form_file(self) -> Path:
        """Where the form is written to be checked (and downloaded): a config like any other."""
        return self.workspace / "form.yaml"


def build_page(studio: Studio) -> gr.Blocks:
    """The whole page; call ``launch`` on it."""
    with gr.Blocks(title="dreamloom studio", delete_cache=(600, 3600)) as page:
        gr.Markdown("# dreamloom studio")
        widgets: dict[str, gr.components.Component] = {}
        errors: dict[str, gr.Markdown] = {}
        with gr.Tabs():
            with gr.Tab("Render", id="render", elem_id="tab-render"):
                controls = _render_tab(studio, widgets, errors)
            with gr.Tab("Settings", id="settings", elem_id="tab-settings"):
                settings_view = _settings_tab(studio, widgets, errors)
            with gr.Tab("Gallery", id="gallery", elem_id="tab-gallery"):
                gallery = _gallery_tab(studio)
        _wire(page, studio, widgets, errors, controls, settings_view, gallery)
    return page


def _field_widget(field: FormField, value: Any) -> gr.components.Component:
    """The widget of one setting, with its help text, default and choices."""
    default = field.default if field.kind in (FieldKind.TEXT, FieldKind.YAML, FieldKind.CHOICE) else yaml_text(field.default)
    common = {"label": field.name, "info": f"{field.help} Default: {default or '(empty)'}", "elem_id": f"setting-{field.name}"}
    if field.kind is FieldKind.CHECK:
        return gr.Checkbox(value=value, **common)
    if field.kind is FieldKind.CHOICE:
        return gr.Dropdown(choices=list(field.choices), value=value, **common)
    if field.kind is FieldKind.INTEGER:
        return gr.Number(value=value, precision=0, **common)
    if field.kind is FieldKind.NUMBER:
        return gr.Number(value=value, **common)
    lines = 3 if field.name == "scenes" else 1
    return gr.Textbox(value=value, lines=lines, max_lines=12, **common)


def _add_field(field: FormField, value: Any, widgets: dict, errors: dict) -> None:
    widgets[field.name] = _field_widget(field, value)
    errors[field.name] = gr.Markdown(visible=False, elem_id=f"error-{field.name}", elem_classes="dl-field-error")


@dataclass
class _RenderControls:
    scenes_view: gr.HTML
    render: gr.Button
    stop: gr.Button
    resume: gr.Button
    cancel: gr.Button
    status: gr.Markdown
    preview: gr.Image
    progress: gr.Markdown
    losses: gr.HTML
    log: gr.Textbox
    queue: gr.Markdown


def _render_tab(studio: Studio, widgets: dict, errors: dict) -> _RenderControls:
    by_name = {field.name: field for field in studio.fields}
    with gr.Row():
        with gr.Column(scale=3):
            for name in EDITOR_FIELDS:
                _add_field(by_name[name], studio.initial[name], widgets, errors)
            scenes_view = gr.HTML(_scenes_for(studio.initial), elem_id="scenes-view")
            with gr.Row():
                render = gr.Button("Render", variant="primary", elem_id="render-button")
                stop = gr.Button("Stop", variant="stop", elem_id="stop-button")
                resume = gr.Button("Resume", elem_id="resume-button")
                cancel = gr.Button("Cancel queued", elem_id="cancel-button")
            status = gr.Markdown(elem_id="render-status")
            progress = gr.Markdown("No render yet.", elem_id="progress")
            queue = gr.Markdown(elem_id="queue")
        with gr.Column(scale=2):
            preview = gr.Image(label="latest picture", type="filepath", interactive=False, elem_id="preview", height=320)
            losses = gr.HTML(loss_svg([]), label="losses", elem_id="losses")
    log = gr.Textbox(label="log (warnings and errors of the render)", lines=8, max_lines=8, interactive=False, elem_id="log")
    return _RenderControls(scenes_view, render, stop, resume, cancel, status, preview, progress, losses, log, queue)


@dataclass
class _SettingsView:
    check: gr.Button
    general: gr.Markdown
    accordions: dict[str, gr.Accordion]
    upload_yaml: gr.File
    download: gr.Button
    download_file: gr.File
    uploads: gr.File
    uploaded: gr.Markdown
    target: gr.Dropdown
    use: gr.Button


def _settings_tab(studio: Studio, widgets: dict, errors: dict) -> _SettingsView:
    with gr.Row():
        upload_yaml = gr.File(label="load a YAML config", file_types=[".yaml", ".yml"], elem_id="upload-yaml", height=120)
        with gr.Column():
            check = gr.Button("Check settings", elem_id="check-button")
            download = gr.Button("YAML of this form", elem_id="download-button")
        download_file = gr.File(label="download", interactive=False, elem_id="download-file", height=120)
    general = gr.Markdown(visible=False, elem_id="error-general", elem_classes="dl-field-error")
    with gr.Accordion("Files for init images, masks, audio and video", open=False):
        uploads = gr.File(label="upload files (kept in the studio's workspace)", file_count="multiple", elem_id="uploads")
        uploaded = gr.Markdown(elem_id="uploaded")
        text_fields = [field.name for field in studio.fields if field.kind is FieldKind.TEXT]
        with gr.Row():
            target = gr.Dropdown(choices=text_fields, value="init_image", label="put the last upload's path into")
            use = gr.Button("Use")
    accordions = {}
    sections: dict[str, list[FormField]] = {}
    for field in studio.fields:
        if field.name not in EDITOR_FIELDS:
            sections.setdefault(field.section, []).append(field)
    for number, (section, members) in enumerate(sections.items()):
        with gr.Accordion(section, open=number == 0, elem_id=f"section-{number}") as accordion, gr.Row():
            for field in members:
                with gr.Column(min_width=320):
                    _add_field(field, studio.initial[field.name], widgets, errors)
        accordions[section] = accordion
    return _SettingsView(check, general, accordions, upload_yaml, download, download_file, uploads, uploaded, target, use)


@dataclass
class _GalleryView:
    runs: gr.Dropdown
    refresh: gr.Button
    frames: gr.Gallery
    video: gr.Video
    settings: gr.Code
    load: gr.Button
    status: gr.Markdown


def _gallery_tab(studio: Studio) -> _GalleryView:
    with gr.Row():
        runs = gr.Dropdown(choices=list_runs(studio.output_root), label=f"runs under {studio.output_root}", elem_id="gallery-runs")
        refresh = gr.Button("Refresh", elem_id="gallery-refresh")
        load = gr.Button("Load these settings", elem_id="gallery-load")
    status = gr.Markdown(elem_id="gallery-status")
    with gr.Row():
        frames = gr.Gallery(label="frames", columns=6, height=320, elem_id="gallery-frames")
        video = gr.Video(label="video", elem_id="gallery-video", height=320)
    settings = gr.Code(label="the run's settings", language="yaml", elem_id="gallery-settings")
    return _GalleryView(runs, refresh, frames, video, settings, load, status)


def _wire(page: gr.Blocks, studio: Studio, widgets: dict, errors: dict, controls: _RenderControls,
          view: _SettingsView, gallery: _GalleryView) -> None:
    """Connect the events; every handler reads the form through ``inputs`` in field order."""
    inputs = [widgets[name] for name in studio.names]
    problem_outputs = [errors[name] for name in studio.names] + list(view.accordions.values()) + [view.general]

    def values(arguments: tuple) -> dict[str, Any]:
        return dict(zip(studio.names, arguments))

    def problem_updates(problems: dict[str, list[str]]) -> list:
        updates = [gr.update(visible=name in problems, value="\n\n".join(_escaped(problems.get(name, []))))
                   for name in studio.names]
        sections_with = {field.section for field in studio.fields if field.name in problems}
        updates += [gr.update(open=True) if section in sections_with else gr.skip() for section in view.accordions]
        general = problems.get("", [])
        updates.append(gr.update(visible=bool(general), value="\n\n".join(_escaped(general))))
        return updates

    def checked_form(arguments: tuple) -> Checked:
        with studio.lock:
            return check_form(studio.fields, values(arguments), studio.output_root, studio.cwd, studio.form_file)

    def check(*arguments: Any) -> list:
        checked = checked_form(arguments)
        return problem_updates(checked.problems)

    def render(*arguments: Any) -> list:
        checked = checked_form(arguments)
        if checked.settings is None:
            names = ", ".join(name or "settings" for name in checked.problems)
            return problem_updates(checked.problems) + [f"Not started: fix {names} (see the messages next to them)."]
        job = _submit(studio, checked.settings, checked.yaml, resume=False)
        return problem_updates({}) + [f"Queued render #{job.number}: {job.config.name}."]

    def resume(*arguments: Any) -> list:
        interrupted = studio.queue.resumable()
        if interrupted is not None:
            job = studio.queue.submit(interrupted.config, interrupted.folder, resume=True)
            return problem_updates({}) + [f"Queued #{job.number}: resume of #{interrupted.number}."]
        checked = checked_form(arguments)
        if checked.settings is None:
            return problem_updates(checked.problems) + ["Not resumed: fix the settings first."]
        job = _submit(studio, checked.settings, checked.yaml, resume=True)
        return problem_updates({}) + [f"Queued #{job.number}: resume of the latest backup of {checked.settings.file_namespace}."]

    def stop() -> str:
        job = studio.queue.stop()
        return f"Stopping #{job.number}: it finishes its step and writes a backup." if job else "Nothing is rendering."

    def cancel() -> str:
        return f"Cancelled {studio.queue.cancel_queued()} queued render(s)."

    page_outputs = problem_outputs + [controls.status]
    controls.render.click(render, inputs, page_outputs)
    controls.resume.click(resume, inputs, page_outputs)
    controls.stop.click(stop, None, controls.status)
    controls.cancel.click(cancel, None, controls.status)
    view.check.click(check, inputs, problem_outputs)

    scene_inputs = [widgets[name] for name in ("scenes", "scene_prefix", "scene_suffix", "input_audio_filters", "animation_mode")]
    for widget in scene_inputs:
        widget.change(_scenes_view, scene_inputs, controls.scenes_view, trigger_mode="always_last")

    shown = gr.State(None)
    timer = gr.Timer(POLL_SECONDS)
    timer.tick(lambda last: _poll(studio, last), shown,
               [controls.preview, controls.losses, controls.progress, controls.log, controls.queue, shown],
               show_progress="hidden")

    def download(*arguments: Any) -> str:
        with studio.lock:
            studio.form_file.write_text(form_yaml(studio.fields, values(arguments)), encoding="utf-8")
        return str(studio.form_file)

    view.download.click(download, inputs, view.download_file)

    def fill(source: Path) -> list:
        try:
            settings = load_form_settings(source, studio.cwd)
        except DreamloomError as error:
            return [gr.skip()] * len(inputs) + [gr.update(visible=True, value=_escaped([str(error)])[0])]
        filled = to_form(studio.fields, settings)
        return [filled[name] for name in studio.names] + [gr.update(visible=False)]

    view.upload_yaml.upload(lambda file: fill(Path(file)), view.upload_yaml, inputs + [view.general])
    uploaded_paths = gr.State([])
    view.uploads.upload(lambda files, known: _store_uploads(studio, files, known), [view.uploads, uploaded_paths],
                        [view.uploaded, uploaded_paths])
    text_names = [name for name in studio.names if widgets[name].__class__ is gr.Textbox]
    view.use.click(lambda target, known: [known[-1] if known and name == target else gr.skip() for name in text_names],
                   [view.target, uploaded_paths], [widgets[name] for name in text_names])

    gallery.refresh.click(lambda current: _runs_update(studio, current), gallery.runs, gallery.runs)
    gallery.runs.change(lambda label: _open(studio, label), gallery.runs,
                        [gallery.frames, gallery.video, gallery.settings, gallery.status])

    def load_run(label: str | None) -> list:
        try:
            run = open_run(studio.output_root, label) if label else None
        except (ValueError, DreamloomError):
            run = None
        if run is None or run.settings is None:
            return [gr.skip()] * len(inputs) + [gr.update(visible=False), "Pick a run that has a settings file."]
        return fill(run.settings) + [f"Loaded the settings of {label} into the form."]

    gallery.load.click(load_run, gallery.runs, inputs + [view.general, gallery.status])
    page.load(lambda current: _runs_update(studio, current), gallery.runs, gallery.runs)


def _escaped(lines: list[str]) -> list[str]:
    """Messages shown as Markdown, kept verbatim (carets line up in a code block)."""
    return [f"```text\n{line}\n```" if "\n" in line else html.escape(line) for line in lines]


def _submit(studio: Studio, settings: Settings, text: str, *, resume: bool) -> Job:
    config = job_config(studio.workspace, settings.file_namespace, text)
    folder = studio.cwd / settings.output_dir / settings.file_namespace
    return studio.queue.submit(config, folder, resume=resume)


def _scenes_for(values: dict[str, Any]) -> str:
    return _scenes_view(values["scenes"], values["scene_prefix"], values["scene_suffix"],
                        values["input_audio_filters"], values["animation_mode"])


def _scenes_view(scenes: str, prefix: str, suffix: str, filters: str, mode: str) -> str:
    """The parsed scenes; expressions may read the variables the audio filters and mode bring."""
    try:
        variables = expression_variables(Settings(input_audio_filters=yaml.safe_load(filters) or [], animation_mode=mode))
    except (ValidationError, yaml.YAMLError):
        variables = frozenset({"t"})
    return scenes_html(scenes or "", prefix or "", suffix or "", variables)


def _poll(studio: Studio, last: tuple | None) -> list:
    """The latest job's picture, losses, progress and log; unchanged picture and losses are not sent again."""
    job = studio.queue.latest()
    if job is None or job.started is None:
        return [gr.skip(), gr.skip(), "No render yet.", "", _queue_text(studio), last]
    picture = latest_picture(job.folder, job.started)
    rows = loss_rows(job.folder, job.started)
    stamp = (job.number, str(picture), picture.stat().st_mtime if picture else None, len(rows))
    previous = last or (None, None, None, None)
    picture_update = str(picture) if picture and stamp[:3] != previous[:3] else gr.skip()
    losses_update = loss_svg(rows) if rows and stamp[3] != previous[3] else gr.skip()
    return [picture_update, losses_update, _progress_text(job), "\n".join(job.log), _queue_text(studio), stamp]


def _progress_text(job: Job) -> str:
    what = "resume" if job.resume else "render"
    text = f"**#{job.number} {what}: {job.state.value}**"
    progress = job.progress
    if progress is not None:
        text += f" · step {progress.done}/{progress.total} · scene {progress.scene}/{progress.scenes}"
        if progress.frame is not None:
            text += f" · frame {progress.frame}/{progress.frames}"
        if progress.eta is not None and job.state is JobState.RUNNING:
            text += f" · about {progress.eta:.0f} s left"
    return text


def _queue_text(studio: Studio) -> str:
    jobs = studio.queue.jobs
    return "\n".join(f"- {html.escape(job.describe())}" for job in jobs) if jobs else ""


def _store_uploads(studio: Studio, files: list[str] | None, known: list[str]) -> tuple[str, list[str]]:
    stored = list(known)
    for file in files or []:
        source = Path(file)
        path = store_upload(studio.workspace, source, source.name)
        stored.append(_relative(path, studio.cwd))
    listing = "\n".join(f"- `{path}`" for path in stored)
    return f"Uploaded (use these paths in settings and prompts):\n{listing}", stored


def _relative(path: Path, cwd: Path) -> str:
    try:
        return str(path.resolve().relative_to(cwd.resolve()))
    except ValueError:
        return str(path.resolve())


def _runs_update(studio: Studio, current: str | None) -> dict:
    runs = list_runs(studio.output_root)
    return gr.update(choices=runs, value=current if current in runs else (runs[-1] if runs else None))


def _open(studio: Studio, label: str | None) -> list:
    if not label:
        return [[], None, "", ""]
    try:
        run = open_run(studio.output_root, label)
    except (ValueError, DreamloomError) as error:
        return [[], None, "", html.escape(str(error))]
    pictures = [str(path) for path in run.frames]
    video = str(run.video) if run.video and run.video.suffix != ".gif" else None
    if run.video and run.video.suffix == ".gif":
        pictures.append(str(run.video))
    settings = run.settings.read_text(encoding="utf-8") if run.settings else ""
    return [pictures, video, settings, f"{label}: {len(run.frames)} frame(s){', video ' + run.video.name if run.video else ''}."]
