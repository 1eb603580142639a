"""The studio end to end: a real ``dreamloom studio`` server driven in headless Chromium (Debian's chromium and
chromedriver, nothing downloaded), rendering with the bundled demo perceptor at 32×32.

One server serves the tests of this module; each test leaves the page as it found it (the same tab open).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from dreamloom.cli import main
from dreamloom.output.video import export_video

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
pytestmark = pytest.mark.skipif(not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
                                reason="needs Debian's chromium and chromium-driver: apt-get install chromium chromium-driver (.ci/run does)")

WAIT = 90  # seconds any one thing may take on a loaded machine; the tests never rely on it being quick

CONFIG = {
    "scenes": "green", "perceptors": ["demo"], "ViTB32": False, "width": 32, "height": 32, "cutouts": 8,
    "seed": 1, "animation_mode": "2D", "pre_animation_steps": 0, "steps_per_frame": 5, "save_every": 5,
    "display_every": 1, "translate_x": "1", "file_namespace": "s", "backups": 2,
    "steps_per_scene": 100000,  # runs until stopped
}
SCREENSHOTS = os.environ.get("DREAMLOOM_SCREENSHOTS")
"""A folder to keep the screenshots of the three views in (docs/images refreshes those of the docs)."""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """A studio server on a free port, in a fresh folder with CONFIG, and a headless Chromium started while the
    server starts."""
    folder = tmp_path_factory.mktemp("studio")
    (folder / "c.yaml").write_text(yaml.safe_dump(CONFIG), encoding="utf-8")
    port = _free_port()
    environment = {**os.environ, "OMP_NUM_THREADS": "1"}
    server = subprocess.Popen([sys.executable, "-m", "dreamloom.cli", "studio", "c.yaml", "--port", str(port)],
                              cwd=folder, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    driver = None
    try:
        driver = _chromium()
        _until(lambda: _answers(url) or server.poll() is not None, "the studio to answer")
        assert server.poll() is None, server.stdout.read().decode()
        yield {"url": url, "folder": folder, "driver": driver}
    finally:
        if driver is not None:
            driver.quit()
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()


def _chromium() -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1280,1000"):
        options.add_argument(argument)
    return webdriver.Chrome(service=webdriver.ChromeService(str(CHROMEDRIVER)), options=options)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def _until(condition: Callable[[], object], what: str, timeout: float = WAIT) -> object:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="module")
def browser(studio: dict) -> webdriver.Chrome:
    """The page, loaded once for the module's tests."""
    driver = studio["driver"]
    driver.get(studio["url"])
    _wait(driver).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#setting-scenes textarea"))
    return driver


def _wait(driver: webdriver.Chrome, timeout: float = WAIT) -> WebDriverWait:
    return WebDriverWait(driver, timeout, poll_frequency=0.1, ignored_exceptions=(StaleElementReferenceException,))


def _text(driver: webdriver.Chrome, element_id: str) -> str:
    """What an element shows: its text, or the value of the text box inside it."""
    found = driver.find_elements(By.CSS_SELECTOR, f"#{element_id} textarea") or driver.find_elements(By.ID, element_id)
    if not found:
        return ""
    return found[0].get_attribute("value") if found[0].tag_name == "textarea" else found[0].text


def _until_text(driver: webdriver.Chrome, element_id: str, wanted: str) -> str:
    _wait(driver).until(lambda d: wanted in _text(d, element_id),
                        message=f"#{element_id} to show {wanted!r}")
    return _text(driver, element_id)


def _preview_source(driver: webdriver.Chrome) -> str | None:
    images = driver.find_elements(By.CSS_SELECTOR, "#preview img")
    return images[0].get_attribute("src") if images else None


def _new_preview(driver: webdriver.Chrome, seen: set[str | None]) -> str:
    """Wait until the preview shows a picture not in ``seen``; return its address."""
    _wait(driver).until(lambda d: _preview_source(d) not in seen, message="the preview to change")
    source = _preview_source(driver)
    assert source is not None
    seen.add(source)
    return source


def _click(driver: webdriver.Chrome, element_id: str) -> None:
    driver.find_element(By.ID, element_id).click()


def _tab(driver: webdriver.Chrome, name: str) -> None:
    driver.find_element(By.XPATH, f"//button[@role='tab' and normalize-space()='{name}']").click()


def _type(driver: webdriver.Chrome, selector: str, text: str) -> None:
    field = driver.find_element(By.CSS_SELECTOR, selector)
    field.send_keys(Keys.CONTROL, "a")
    field.send_keys(Keys.DELETE)
    field.send_keys(text)


def _screenshot(driver: webdriver.Chrome, name: str, tmp_path: Path) -> None:
    """Save a screenshot of the view and check it is not blank: a page that drew nothing is one flat colour.

    With DREAMLOOM_SCREENSHOTS=docs/images the screenshots are kept there (the README's studio.png)."""
    path = tmp_path / name
    driver.save_screenshot(str(path))
    pixels = np.asarray(Image.open(path).convert("L"), dtype=np.int16)
    background = np.bincount(pixels.ravel()).argmax()
    assert (np.abs(pixels - background) > 60).mean() > 0.01, f"{name} looks blank"
    assert len(np.unique(pixels)) > 32, f"{name} has too few shades to hold text and pictures"
    if SCREENSHOTS:
        shutil.copyfile(path, Path(SCREENSHOTS) / name)


def test_write_a_scene_render_stop_resume_and_open_the_result_in_the_gallery(browser, studio, tmp_path):
    folder: Path = studio["folder"]
    _type(browser, "#setting-scenes textarea", "red:sin(x)_l | blue:1_r")
    error = _until_text(browser, "scenes-view", "unknown name 'x'")
    caret_under_x = "\n    red:sin(x)_l\n" + " " * (4 + "red:sin(x)_l".index("x")) + "^\n"
    assert error.startswith("scenes: scene 1, prompt 1: bad weight: unknown name 'x'" + caret_under_x)

    _type(browser, "#setting-scenes textarea", "red:1_l | blue:2_r:-1")
    _wait(browser).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#scenes-view tbody tr")) == 2)
    rows = [[cell.text for cell in row.find_elements(By.TAG_NAME, "td")]
            for row in browser.find_elements(By.CSS_SELECTOR, "#scenes-view tbody tr")]
    assert rows == [["1", "red", "text", "1", "-inf", "l"], ["1", "blue", "text", "2", "-1", "r"]]

    _click(browser, "render-button")
    _until_text(browser, "progress", "#1 render: running")
    seen: set[str | None] = {None}
    _new_preview(browser, seen)
    _new_preview(browser, seen)  # the picture changes while the render runs
    _wait(browser).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#losses polyline[data-series='blue']"),
                         message="the loss graph")
    assert [line.get_attribute("data-series") for line in browser.find_elements(By.CSS_SELECTOR, "#losses polyline")][:2] == ["red", "blue"]
    _screenshot(browser, "studio.png", tmp_path)
    _click(browser, "stop-button")
    _until_text(browser, "progress", "#1 render: interrupted")
    stopped = re.search(r"Interrupted after (\d+) of 100000 steps\. The backup is (\S+); continue with the same "
                        r"command and --resume", _text(browser, "log"))
    assert stopped, _text(browser, "log")
    stopped_at, backup = int(stopped[1]), folder / stopped[2]
    assert backup.is_file() and backup.name == f"s_{stopped_at}.bak"  # written when it stopped, as Ctrl-C writes it

    _click(browser, "resume-button")
    _until_text(browser, "progress", "#2 resume: running")
    _until_text(browser, "log", f"Resuming s from step {stopped_at}.")
    _new_preview(browser, seen)
    _wait(browser).until(lambda d: _steps_done(_text(d, "progress")) > stopped_at, message="steps after the backup's")
    _click(browser, "stop-button")
    _until_text(browser, "progress", "#2 resume: interrupted")
    assert "#2 resume 1-s.yaml" in _text(browser, "queue")

    _finished_run(folder / "images_out" / "made")
    _tab(browser, "Gallery")
    _click(browser, "gallery-refresh")
    _until_text(browser, "gallery-status", "s/s: ")  # the newest-named run: the one rendered above
    frames = int(_text(browser, "gallery-status").split(": ")[1].split(" ")[0])
    assert frames == len(list((folder / "images_out" / "s").glob("s_[0-9]*.png")))
    _until_text(browser, "gallery-settings", "scenes: red:1_l | blue:2_r:-1")
    _choose(browser, "gallery-runs", "made/made")
    _until_text(browser, "gallery-status", "made/made: 3 frame(s), video made.mp4.")
    _wait(browser).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#gallery-video video[src]"))
    _wait(browser).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#gallery-frames img")) >= 3)
    _screenshot(browser, "studio-gallery.png", tmp_path)
    _click(browser, "gallery-load")
    _until_text(browser, "gallery-status", "Loaded the settings of made/made into the form.")
    _tab(browser, "Render")
    _until_text(browser, "setting-scenes", "a made-up run")
    _type(browser, "#setting-scenes textarea", "red:1_l | blue:2_r:-1")


def _steps_done(progress: str) -> int:
    found = re.search(r"step (\d+)/", progress)
    return int(found[1]) if found else 0


def _finished_run(folder: Path) -> None:
    """A run as a finished animation leaves it: three frames, its video and its settings."""
    folder.mkdir(parents=True)
    frames = []
    for number, colour in enumerate([(250, 0, 0), (0, 250, 0), (0, 0, 250)], start=1):
        frames.append(folder / f"made_{number}.png")
        Image.new("RGB", (32, 32), colour).save(frames[-1])
    export_video(frames, folder / "made.mp4", fps=3)
    settings = {**CONFIG, "scenes": "a made-up run", "file_namespace": "made"}
    (folder / "made_settings.yaml").write_text(yaml.safe_dump(settings), encoding="utf-8")


def _choose(driver: webdriver.Chrome, element_id: str, value: str) -> None:
    """Pick ``value`` in a dropdown: type it and press Enter, as a person would."""
    field = driver.find_element(By.CSS_SELECTOR, f"#{element_id} input")
    field.click()
    field.send_keys(Keys.CONTROL, "a")
    field.send_keys(value, Keys.ENTER)


def test_an_invalid_setting_shows_the_command_lines_message_next_to_it(browser, studio, capsys, tmp_path):
    _tab(browser, "Settings")
    _type(browser, "#setting-steps_per_scene input", "0")
    _click(browser, "check-button")
    shown = _until_text(browser, "error-steps_per_scene", "steps_per_scene")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", browser.find_element(By.ID, "error-steps_per_scene"))
    _screenshot(browser, "studio-settings.png", tmp_path)
    form = studio["folder"] / "studio_workspace" / "form.yaml"
    assert main(["settings", str(form)]) == 2
    printed = capsys.readouterr().err
    assert shown.startswith("steps_per_scene = 0 (from ") and f"  - {shown}\n" in printed
    _type(browser, "#setting-steps_per_scene input", "100000")
    _click(browser, "check-button")
    _wait(browser).until(lambda d: not [element for element in d.find_elements(By.ID, "error-steps_per_scene")
                                        if element.is_displayed()])
    _tab(browser, "Render")


def test_the_server_serves_files_of_the_output_folder_only(studio):
    folder: Path = studio["folder"]
    outside = folder / "secret.txt"
    outside.write_text("not for the page", encoding="utf-8")
    inside = folder / "images_out" / "note.txt"
    inside.write_text("a run's file", encoding="utf-8")
    with urllib.request.urlopen(f"{studio['url']}gradio_api/file={inside}", timeout=10) as response:
        assert response.read() == b"a run's file"
    for refused in (outside, Path("/etc/hostname")):
        with pytest.raises(urllib.error.HTTPError) as answer:
            urllib.request.urlopen(f"{studio['url']}gradio_api/file={refused}", timeout=10)
        assert answer.value.code == 403
