"""Ctrl-C between steps: the first interrupt lets the current step finish, so the backup written for it is
exactly the state after a whole step (and a resume repeats nothing). A second Ctrl-C stops at once, in the
middle of a step, so what it leaves must not be backed up: only :class:`StopAtStepBoundary` says the state
is whole."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from dreamloom.engine.frames import StepReport


class StopAtStepBoundary(KeyboardInterrupt):
    """The Ctrl-C raised between two steps: the run's state is exactly that after its last whole step."""


class StepBoundaryInterrupt:
    """A step callback that raises KeyboardInterrupt after the step during which Ctrl-C was pressed."""

    def __init__(self) -> None:
        self.requested = False

    def _on_sigint(self, signum: int, frame: FrameType | None) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def __call__(self, report: StepReport) -> None:
        if self.requested:
            raise StopAtStepBoundary

    @contextmanager
    def installed(self) -> Iterator[StepBoundaryInterrupt]:
        """Handle SIGINT while inside the block (only the main thread may install signal handlers)."""
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        previous = signal.signal(signal.SIGINT, self._on_sigint)
        try:
            yield self
        finally:
            signal.signal(signal.SIGINT, previous)
