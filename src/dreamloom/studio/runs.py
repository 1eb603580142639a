"""Renders in background processes, one after another: ``dreamloom render CONFIG [--resume]`` and nothing else.

The studio never runs the engine itself: each job is the command line a person would type, so a render
started here behaves as one started in a terminal. Stopping sends SIGINT, which the render treats as Ctrl-C
(it finishes the step, writes a backup and exits with 130); resuming runs the same config with ``--resume``.
"""

from __future__ import annotations

import codecs
import enum
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

PROGRESS = re.compile(
    r"step (?P<done>\d+)/(?P<total>\d+) · scene (?P<scene>\d+)/(?P<scenes>\d+)"
    r"(?: · (?:pre-animation|frame (?P<frame>\d+)/(?P<frames>\d+)))?"
)
"""A render's progress line (``dreamloom.output.display.progress_line``)."""

_PROGRESS_BAR = re.compile(r"\d+%\|")
"""A tqdm progress-bar update: shown as progress, not as a log line."""

INTERRUPTED_EXIT = 130


class JobState(enum.Enum):
    QUEUED = "queued"
    RUNNING = "running"
    STOPPING = "stopping"
    FINISHED = "finished"
    INTERRUPTED = "interrupted"
    FAILED = "failed"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class Progress:
    """Where a render is, from its latest progress line; ``eta`` in seconds when two lines give a rate."""

    done: int
    total: int
    scene: int
    scenes: int
    frame: int | None
    frames: int | None
    eta: float | None


@dataclass
class Job:
    """One render: its config file, the folder its pictures go to, and what it has said so far."""

    number: int
    config: Path
    folder: Path
    resume: bool
    state: JobState = JobState.QUEUED
    started: float | None = None
    exit_code: int | None = None
    log: deque[str] = field(default_factory=lambda: deque(maxlen=400))
    progress: Progress | None = None
    _first: tuple[float, int] | None = None
    _process: subprocess.Popen[bytes] | None = None
    _waiter: threading.Thread | None = None

    def command(self) -> list[str]:
        """The dreamloom command line of this job."""
        return [sys.executable, "-m", "dreamloom.cli", "render", str(self.config), *(["--resume"] if self.resume else [])]

    def describe(self) -> str:
        what = "resume" if self.resume else "render"
        code = f" (exit {self.exit_code})" if self.exit_code not in (None, 0) else ""
        return f"#{self.number} {what} {self.config.name} → {self.folder}: {self.state.value}{code}"

    def read_line(self, line: str, now: float) -> None:
        """Take one line of the render's output: a progress line updates ``progress``, anything else is logged."""
        line = line.rstrip()
        match = PROGRESS.search(line)
        if match:
            self._progress(match, now)
        elif line and not _PROGRESS_BAR.search(line):
            self.log.append(line)

    def _progress(self, match: re.Match[str], now: float) -> None:
        done, total = int(match["done"]), int(match["total"])
        if self._first is None:
            self._first = (now, done)
        first_time, first_done = self._first
        eta = (now - first_time) / (done - first_done) * (total - done) if done > first_done else None
        frame = int(match["frame"]) if match["frame"] else None
        frames = int(match["frames"]) if match["frames"] else None
        self.progress = Progress(done, total, int(match["scene"]), int(match["scenes"]), frame, frames, eta)


class RunQueue:
    """Jobs run one at a time in submission order; ``cwd`` is where relative paths of the configs resolve."""

    def __init__(self, cwd: Path) -> None:
        self.cwd = cwd
        self.jobs: list[Job] = []
        self._lock = threading.RLock()

    def submit(self, config: Path, folder: Path, *, resume: bool = False) -> Job:
        """Queue a render of ``config`` (its pictures go to ``folder``); it starts at once when nothing runs."""
        with self._lock:
            job = Job(len(self.jobs) + 1, config, folder, resume)
            self.jobs.append(job)
            self._start_next()
            return job

    def current(self) -> Job | None:
        """The running (or stopping) job."""
        with self._lock:
            return next((job for job in self.jobs if job.state in (JobState.RUNNING, JobState.STOPPING)), None)

    def latest(self) -> Job | None:
        """The running job, else the one that ran last."""
        with self._lock:
            return self.current() or next((job for job in reversed(self.jobs) if job.started is not None), None)

    def resumable(self) -> Job | None:
        """The newest job that was interrupted: what ``resume`` continues."""
        with self._lock:
            return next((job for job in reversed(self.jobs) if job.state is JobState.INTERRUPTED), None)

    def stop(self) -> Job | None:
        """Ask the running render to stop as Ctrl-C does (SIGINT): it writes a backup and exits."""
        with self._lock:
            job = self.current()
            if job is not None and job._process is not None and job.state is JobState.RUNNING:
                job.state = JobState.STOPPING
                job._process.send_signal(signal.SIGINT)
            return job

    def cancel_queued(self) -> int:
        """Drop the jobs that have not started; returns how many."""
        with self._lock:
            waiting = [job for job in self.jobs if job.state is JobState.QUEUED]
            for job in waiting:
                job.state = JobState.CANCELLED
            return len(waiting)

    def close(self, timeout: float = 30.0) -> None:
        """Cancel what waits and stop what runs (with its backup), waiting up to ``timeout`` seconds."""
        self.cancel_queued()
        job = self.stop()
        if job is not None and job._process is not None and job._waiter is not None:
            job._waiter.join(timeout)
            if job._waiter.is_alive():
                job._process.kill()
                job._waiter.join()

    def _start_next(self) -> None:
        if self.current() is not None:
            return
        job = next((job for job in self.jobs if job.state is JobState.QUEUED), None)
        if job is None:
            return
        environment = {**os.environ, "PYTHONUNBUFFERED": "1"}
        job.started = time.time()
        job.state = JobState.RUNNING
        job._process = subprocess.Popen(
            job.command(), cwd=self.cwd, env=environment, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, start_new_session=True,
        )
        readers = [threading.Thread(target=self._read, args=(job, stream), daemon=True)
                   for stream in (job._process.stdout, job._process.stderr)]
        for reader in readers:
            reader.start()
        job._waiter = threading.Thread(target=self._wait, args=(job, readers), daemon=True)
        job._waiter.start()

    def _read(self, job: Job, stream: IO[bytes] | None) -> None:
        """Lines of one output stream as they come; tqdm's carriage returns end a line too."""
        assert stream is not None
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        pending = ""
        while chunk := stream.read1(4096):  # type: ignore[attr-defined]
            pending += decoder.decode(chunk)
            *lines, pending = re.split(r"[\r\n]", pending)
            with self._lock:
                for line in lines:
                    job.read_line(line, time.time())
        if pending:
            with self._lock:
                job.read_line(pending, time.time())

    def _wait(self, job: Job, readers: list[threading.Thread]) -> None:
        assert job._process is not None
        code = job._process.wait()
        for reader in readers:
            reader.join()
        with self._lock:
            job.exit_code = code
            job.state = {0: JobState.FINISHED, INTERRUPTED_EXIT: JobState.INTERRUPTED}.get(code, JobState.FAILED)
            self._start_next()
