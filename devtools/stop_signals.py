"""One SIGTERM, SIGINT (Ctrl-C) or SIGHUP stops `make run` cleanly, and nothing interrupts the stop.

Python's defaults turn SIGINT into a KeyboardInterrupt wherever the main thread happens to be
and let SIGTERM and SIGHUP end the process on the spot. So a signal during start-up left
PostgreSQL running, and a second signal during the cleanup (make forwards the one it got, and
Ctrl-C reaches the whole process group) broke it off half way, before PostgreSQL was stopped.
Here a signal only records the request; the main thread checks it between start-up steps and
waits for it while serving, and the cleanup then runs to its end whatever else arrives.
Ctrl-\\ (SIGQUIT) still ends the process at once, for a start-up that hangs.
"""

from __future__ import annotations

import signal
import time
from types import FrameType

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


class StopSignals:
    """Installed in the main thread; `requested` once any stop signal has arrived."""

    def __init__(self) -> None:
        self.received: list[str] = []

    @property
    def requested(self) -> bool:
        return bool(self.received)

    def install(self) -> StopSignals:
        for number in STOP_SIGNALS:
            signal.signal(number, self._handle)
        return self

    def _handle(self, number: int, _frame: FrameType | None) -> None:
        # Nothing but a list append: a handler runs between any two bytecodes of the main
        # thread, so taking a lock here (an Event's) could deadlock with the code it interrupts.
        self.received.append(signal.Signals(number).name)

    def wait(self, poll_seconds: float = 0.1) -> None:
        """Until a stop signal arrives."""
        while not self.received:
            time.sleep(poll_seconds)
