"""Benchmark the translation layer: import cost, translation speed, decorator overhead.

Run: ``python benchmarks/bench_translate.py``. Prints three figures with their targets.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import timeit


def import_seconds(repeats: int = 21) -> tuple[float, float]:
    """Median times of ``import hydra`` and of ``import vertex_hydra`` right after it.

    Both are measured in the same fresh interpreter, so start-up noise cancels.
    Bytecode caching is allowed (as for an installed package) and the first run,
    which writes the caches, is not counted.
    """
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    code = (
        "import time; t0 = time.perf_counter(); import hydra; t1 = time.perf_counter(); "
        "import vertex_hydra; t2 = time.perf_counter(); print(t1 - t0, t2 - t1)"
    )
    hydra_times, ours = [], []
    for _ in range(repeats + 1):
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
        )
        first, second = map(float, out.stdout.split())
        hydra_times.append(first)
        ours.append(second)
    return statistics.median(hydra_times[1:]), statistics.median(ours[1:])


def vertex_argv(n: int = 50) -> list[str]:
    """A realistic trial argv: mostly numbers, a few DISCRETE doubles and categoricals."""
    argv = ["experiment=digits"]
    for i in range(n):
        kind = i % 5
        if kind in (0, 1):
            argv.append(f"--model.layer{i}.lr={0.000123 * (i + 1)!r}")
        elif kind == 2:
            argv.append(f"--data.size{i}={float(32 * (i + 1))!r}")
        elif kind == 3:
            argv.append(f"--model.act{i}=gelu")
        else:
            # a categorical with a space: only Hydra's parser can judge it
            argv.append(f"--model.name{i}=resnet {i}")
    return argv


def main() -> None:
    from hydra.core.override_parser.overrides_parser import OverridesParser

    from vertex_hydra import to_hydra_args, translate, vertex_compatible

    base, extra = import_seconds()
    print(
        f"import cost: import hydra {base * 1e3:.1f} ms; vertex_hydra on top {extra * 1e3:.2f} ms; "
        f"ratio {(base + extra) / base:.3f} (target <= 1.03)"
    )

    argv = vertex_argv(50)
    parser = OverridesParser.create()
    translated = to_hydra_args(argv)
    n = 200

    # Cold: clear the parse cache each time, so every categorical is parsed anew.
    def cold() -> None:
        translate._parse.cache_clear()
        to_hydra_args(argv)

    t_cold = min(timeit.repeat(cold, number=n, repeat=5)) / n
    t_warm = min(timeit.repeat(lambda: to_hydra_args(argv), number=n, repeat=5)) / n
    t_hydra = (
        min(timeit.repeat(lambda: parser.parse_overrides(translated), number=20, repeat=5)) / 20
    )
    print(
        f"translate 50-arg argv: {t_cold * 1e3:.3f} ms cold, {t_warm * 1e3:.3f} ms cached; "
        f"Hydra's parse of the result {t_hydra * 1e3:.2f} ms; ratio {t_cold / t_hydra:.3f} cold "
        f"(target <= 0.25)"
    )

    # With the study's types (what @vertex_compatible passes when VERTEX_HYDRA_STUDY is set).
    kinds = ("int", "float", "text")
    types = {t.partition("=")[0][2:]: kinds[i % 3] for i, t in enumerate(argv) if "=" in t}
    t_typed = (
        min(timeit.repeat(lambda: to_hydra_args(argv, value_types=types), number=n, repeat=5)) / n  # type: ignore[arg-type]
    )
    print(f"translate 50-arg argv with value_types: {t_typed * 1e3:.3f} ms cached")

    worst = [f"--model.name{i}=it's model {i}" for i in range(50)]  # every value needs the parser
    worst_out = to_hydra_args(worst)

    def cold_worst() -> None:
        translate._parse.cache_clear()
        to_hydra_args(worst)

    t_worst = min(timeit.repeat(cold_worst, number=20, repeat=5)) / 20
    t_hydra_worst = (
        min(timeit.repeat(lambda: parser.parse_overrides(worst_out), number=20, repeat=5)) / 20
    )
    print(
        f"worst case, 50 values that all need Hydra's parser: {t_worst * 1e3:.2f} ms vs Hydra's parse "
        f"{t_hydra_worst * 1e3:.2f} ms; ratio {t_worst / t_hydra_worst:.2f}"
    )

    sys.argv[1:] = argv

    def task() -> None:
        pass

    wrapped = vertex_compatible(task)
    t_plain = min(timeit.repeat(task, number=n, repeat=5)) / n

    def cold_call() -> None:
        translate._parse.cache_clear()
        wrapped()

    t_wrapped = min(timeit.repeat(cold_call, number=n, repeat=5)) / n
    print(
        f"decorator overhead per call (50-arg argv, cold cache): {(t_wrapped - t_plain) * 1e6:.0f} us"
    )


if __name__ == "__main__":
    main()
