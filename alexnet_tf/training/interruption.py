"""Stopping a training run cleanly on SIGINT and SIGTERM.

A signal handler that raises (Python's default for SIGINT) interrupts whatever Python
code the main thread is running: TensorFlow's function-call machinery, a checkpoint
write, an input iterator's creation. The training state may then be saved from an
inconsistent point, and the interrupted frames (with their running `tf.data`
iterators) stay alive in the exception's traceback until the interpreter shuts down.
`StopSignals` instead records the first signal; the training loop asks at its safe
points (between steps, between validation batches) and stops there. A second signal
interrupts at once, for a user who does not want to wait for the current step.

Example:

```python
with StopSignals() as stop:
    for step in range(steps):
        train_step()
        stop.check()  # raises StopRequested after a SIGINT or SIGTERM
```
"""

from __future__ import annotations

import logging
import signal
import threading
from typing import Sequence

logger = logging.getLogger(__name__)


class StopRequested(Exception):
    """Raised at a safe point of the training loop after a stop signal arrived."""

    def __init__(self, signal_name: str):
        super().__init__(signal_name)
        self.signal_name = signal_name


class TrainingInterrupted(Exception):
    """Training stopped on a signal; the state is in `checkpoint` (None on a worker that
    does not write checkpoints)."""

    def __init__(self, signal_name: str, checkpoint: str | None):
        where = f"saved in {checkpoint}" if checkpoint else "not saved by this process"
        super().__init__(f"stopped on {signal_name}; training state {where}")
        self.signal_name = signal_name
        self.checkpoint = checkpoint


class StopSignals:
    """Turns the first of `signals` into a stop request; a second one raises
    `KeyboardInterrupt` at once.

    Handlers can only be installed from the main thread; elsewhere this context manager
    does nothing and `check` never raises.

    Args:
        signals: sequence of signal.Signals. Defaults to SIGINT and SIGTERM.
    """

    def __init__(self, signals: Sequence[signal.Signals] = (signal.SIGINT, signal.SIGTERM)):
        self.signals = tuple(signals)
        self.received: str | None = None
        self._previous: dict[signal.Signals, object] = {}

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():
            for signum in self.signals:
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc_info) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()

    def _handle(self, signum: int, frame) -> None:
        name = signal.Signals(signum).name
        if self.received is not None:
            raise KeyboardInterrupt(f"second stop signal ({name})")
        self.received = name
        logger.warning(
            "%s received: stopping after the current step and saving a checkpoint "
            "(send it again to stop at once).", name,
        )

    def check(self) -> None:
        """Raises `StopRequested` if a stop signal has arrived."""
        if self.received is not None:
            raise StopRequested(self.received)
