"""Benchmark of reading a trial's metric file (:class:`vertex_hydra.local.metrics_file.MetricLog`).

Run: ``python benchmarks/bench_metrics_file.py`` (a few seconds).

A writer other than hypertune that appends forever left a 117 MB file of
1e6 lines; reading it whole peaked at 1.75 GB and blocked the runner for 46 s.
This writes such a file (1e6 lines, one report each) and reads it as the runner
does (a poll, then the final read), printing the wall time and the peak memory
of the reads (``tracemalloc``), and the same for a hypertune-sized file
(100 lines). Target: the big file reads in well under a second with a peak
of a few MiB (only its last :data:`~vertex_hydra.local.metrics_file.TAIL_BYTES`
are read).
"""

from __future__ import annotations

import json
import tempfile
import time
import tracemalloc
from pathlib import Path

from vertex_hydra.local.metrics_file import TAIL_BYTES, MetricLog


def write(path: Path, lines: int) -> None:
    with path.open("w") as handle:
        for step in range(1, lines + 1):
            entry = {
                "checkpoint_path": "",
                "global_step": str(step),
                "timestamp": 1.7e9 + step,
                "trial": "1",
                "val_loss": str(1.0 / step),
            }
            handle.write(json.dumps(entry, sort_keys=True) + "\n")


def read(path: Path) -> int:
    """A poll plus the final read, as the runner does; the reports kept."""
    log = MetricLog(path, trial_id="1")
    log.refresh()
    log.refresh(final=True)
    return len(log.reports)


def measure(path: Path) -> tuple[float, float, int]:
    """Seconds (untraced, best of 3) and peak MiB (traced) of :func:`read`; reports kept."""
    seconds = []
    for _ in range(3):
        start = time.perf_counter()
        kept = read(path)
        seconds.append(time.perf_counter() - start)
    tracemalloc.start()
    read(path)
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return min(seconds), peak, kept


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        for lines in (100, 1_000_000):
            path = Path(folder) / f"{lines}.metrics"
            write(path, lines)
            seconds, peak, kept = measure(path)
            size = path.stat().st_size / 1e6
            print(
                f"{lines:>9} lines ({size:6.1f} MB): {seconds * 1000:7.1f} ms, "
                f"peak {peak:5.1f} MiB, {kept} reports kept (tail read: {TAIL_BYTES >> 20} MiB)"
            )


if __name__ == "__main__":
    main()
