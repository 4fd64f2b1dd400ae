"""Training progress on the terminal: a bar per epoch on a TTY, one plain line per epoch otherwise."""

from __future__ import annotations

import sys
import time
from typing import Optional, TextIO

BAR_WIDTH = 30
REFRESH_SECONDS = 0.1


class Progress:
    """Receives ``run_epochs``' ``on_batch`` calls and finished epochs, and prints them, losses to 4
    significant digits (``%.4g``, so that a huge one stays short) and error rates to 4 decimals.

    Epoch lines go to ``out`` (stdout); the bar is redrawn in place on ``err`` (stderr), at most
    every ``REFRESH_SECONDS``.
    """

    def __init__(self, epochs: int, *, bar: bool, lines: bool = True, out: TextIO = None, err: TextIO = None):
        self.epochs, self.bar, self.lines, self.metric = epochs, bar, lines, "error"
        self.out, self.err = out or sys.stdout, err or sys.stderr
        self._drawn_at = 0.0
        self._bar_visible = False

    @classmethod
    def create(cls, mode: str, epochs: Optional[int]) -> "Progress":
        """``mode``: ``auto`` (a bar when stderr is a terminal), ``bar``, ``lines`` or ``none``."""
        bar = mode == "bar" or (mode == "auto" and sys.stderr.isatty())
        return cls(epochs, bar=bar, lines=mode != "none")

    def start(self, epochs: int, metric: str = "error") -> None:
        """The run's total epochs (known once a resumed run is loaded) and its loss's metric."""
        self.epochs, self.metric = epochs, {"r2": "R^2"}.get(metric, metric)

    def batch(self, epoch: int, batch: int, num_batches: int, loss: float, error: float) -> None:
        if not self.bar:
            return
        now = time.perf_counter()
        if now - self._drawn_at < REFRESH_SECONDS and batch + 1 < num_batches:
            return
        self._drawn_at = now
        filled = BAR_WIDTH * (batch + 1) // num_batches
        self.err.write(f"\repoch {epoch}/{self.epochs} [{'#' * filled}{'.' * (BAR_WIDTH - filled)}] "
                       f"{batch + 1}/{num_batches} loss {loss:.4g} {self.metric} {error:.4f}")
        self.err.flush()
        self._bar_visible = True

    def epoch(self, stats) -> None:
        self.clear()
        if self.lines:
            self.out.write(f"epoch {stats.epoch}/{self.epochs}: train loss {stats.train_loss:.4g} "
                           f"{self.metric} {stats.train_metric:.4f} | validation loss {stats.val_loss:.4g} "
                           f"{self.metric} {stats.val_metric:.4f} | {stats.seconds:.2f} s\n")
            self.out.flush()

    def clear(self) -> None:
        """Erase the bar so the next line starts clean."""
        if self._bar_visible:
            self.err.write("\r\033[K")
            self.err.flush()
            self._bar_visible = False
