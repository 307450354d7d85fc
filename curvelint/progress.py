"""Progress of a long lint on stderr: runs done / total, rate and ETA (tqdm).

The command line shows it only on a terminal outside CI, or with ``--progress`` (`curvelint.cli`),
and only once a lint has taken `DELAY` seconds: a quick lint draws nothing and never imports tqdm
(~45 ms). The bar is cleared when the lint ends, before the report is printed.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from typing import Any, TextIO

DELAY = float(os.environ.get("CURVELINT_PROGRESS_DELAY", "2"))  # seconds before anything is drawn


class Progress:
    """``progress(done, total)`` as the engine calls it (`curvelint.engine.lint`)."""

    def __init__(self, stream: TextIO | None = None, delay: float = DELAY) -> None:
        self.stream = stream or sys.stderr
        self.delay = delay
        self.start = time.monotonic()
        self.bar: Any = None

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None:
            if done >= total or time.monotonic() - self.start < self.delay:
                return
            from tqdm import tqdm

            width = min(shutil.get_terminal_size((100, 24)).columns, 120)  # (a terminal of unknown size: 100)
            self.bar = tqdm(total=total, initial=done, unit="run", file=self.stream, leave=False, ncols=width,
                            mininterval=0.2, smoothing=0.05, desc="linting")
            return
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
