"""Measuring child processes for the benchmark scripts: wall time and peak RSS.

Every benchmark runs studygraph and its reference as separate processes, side by side,
and measures them the same way: these helpers (the rest they share is in common.py).
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Run:
    """One measured child process."""

    argv: list[str]
    wall_s: float
    max_rss_mib: float
    returncode: int

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def run_measured(argv: Sequence[str], stdout: Path, stderr: Path) -> Run:
    """Run ``argv`` to completion; wall time and the peak RSS of that child alone."""
    with stdout.open("wb") as out, stderr.open("wb") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(list(argv), stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here; Popen must not wait again
    return Run(list(argv), wall, usage.ru_maxrss / 1024, proc.returncode)  # ru_maxrss is KiB on Linux


