"""How much does reporting to Vertex AI cost? Prints two small tables.

1. Per validation epoch, in one real ``Trainer`` run: the time spent in
   ``HypertuneCallback.on_validation_end`` next to an empty callback's hook
   (timer and dispatch only), and the whole validation epoch for scale.
2. Per ``report_metric`` call with 100 entries already in the file (hypertune
   rewrites all of them on every call), next to the bare ``hypertune`` writer.

Run: ``python benchmarks/bench_callback.py`` (about 10 s on a laptop CPU).
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from typing import Any

EPOCHS = 300
REPORTS = 2000


def _summary(name: str, seconds: list[float]) -> str:
    micro = sorted(s * 1e6 for s in seconds)
    p95 = micro[int(0.95 * (len(micro) - 1))]
    return f"{name:<40} {len(micro):>6} {statistics.median(micro):>10.1f} {p95:>10.1f} {max(micro):>10.1f}"


def _header(title: str) -> None:
    print(f"\n{title}")
    print(f"{'':<40} {'n':>6} {'median µs':>10} {'p95 µs':>10} {'max µs':>10}")


def bench_callback(folder: str) -> None:
    import lightning.pytorch as L
    import torch

    from vertex_hydra._compat import callback_base
    from vertex_hydra.callback import HypertuneCallback

    os.environ["CLOUD_ML_HP_METRIC_FILE"] = os.path.join(folder, "callback", "output.metrics")
    hook_times: dict[str, list[float]] = {"empty": [], "hypertune": [], "write": [], "epoch": []}

    class Empty(callback_base()):  # type: ignore[misc]
        def on_validation_epoch_start(self, trainer: Any, pl_module: Any) -> None:
            self.started = time.perf_counter()

        def on_validation_end(self, trainer: Any, pl_module: Any) -> None:
            start = time.perf_counter()
            if not trainer.sanity_checking:
                hook_times["epoch"].append(start - self.started)
            hook_times["empty"].append(time.perf_counter() - start)

    class Timed(HypertuneCallback):
        def on_validation_end(self, trainer: Any, pl_module: Any) -> None:
            start = time.perf_counter()
            super().on_validation_end(trainer, pl_module)
            if not trainer.sanity_checking:
                hook_times["hypertune"].append(time.perf_counter() - start)

        def _report(self, value: float, step: int, checkpoint_path: str = "") -> None:
            start = time.perf_counter()
            super()._report(value, step, checkpoint_path)
            hook_times["write"].append(time.perf_counter() - start)

    class Tiny(L.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.layer = torch.nn.Linear(4, 1)

        def training_step(self, batch: Any, batch_idx: int) -> Any:
            return self.layer(batch[0]).pow(2).mean()

        def validation_step(self, batch: Any, batch_idx: int) -> None:
            self.log("val/loss", self.layer(batch[0]).pow(2).mean())

        def configure_optimizers(self) -> Any:
            return torch.optim.SGD(self.parameters(), lr=0.01)

        def train_dataloader(self) -> Any:
            return torch.utils.data.DataLoader(
                torch.utils.data.TensorDataset(torch.randn(8, 4)), batch_size=8
            )

        val_dataloader = train_dataloader

    trainer = L.Trainer(
        accelerator="cpu",
        max_epochs=EPOCHS,
        callbacks=[Empty(), Timed(monitor="val/loss", mode="min")],
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
    )
    trainer.fit(Tiny())
    _header(f"Per validation epoch ({EPOCHS} epochs, one Trainer run)")
    print(_summary("empty callback: on_validation_end", hook_times["empty"]))
    print(_summary("HypertuneCallback: on_validation_end", hook_times["hypertune"]))
    print(_summary("  of which report_metric (file rewrite)", hook_times["write"][:EPOCHS]))
    print(_summary("whole validation epoch (for scale)", hook_times["epoch"]))
    hypertune_cost = statistics.median(hook_times["hypertune"]) - statistics.median(
        hook_times["empty"]
    )
    share = hypertune_cost / statistics.median(hook_times["epoch"])
    print(
        f"HypertuneCallback adds {hypertune_cost * 1e6:.0f} µs per epoch ({share:.1%} of this tiny epoch);"
    )
    print("nearly all of it is report_metric, i.e. hypertune rewriting its whole file,")
    print("a cost that varies with the disk and the machine's load.")


def bench_report(folder: str) -> None:
    import hypertune

    from vertex_hydra.report import report_metric

    # Interleave the two writers call by call: each call truncates and rewrites
    # the file, whose cost on a busy disk drifts far more than the code path.
    os.environ["CLOUD_ML_HP_METRIC_FILE"] = os.path.join(folder, "bare", "output.metrics")
    bare = hypertune.HyperTune()
    os.environ["CLOUD_ML_HP_METRIC_FILE"] = os.path.join(folder, "report", "output.metrics")
    timings: dict[str, list[float]] = {"report_metric": [], "hypertune": []}
    for step in range(100 + REPORTS):
        value = 0.5 + step * 1e-4
        start = time.perf_counter()
        report_metric(value, tag="val/acc", step=step)
        middle = time.perf_counter()
        bare.report_hyperparameter_tuning_metric("val/acc", value, step)
        end = time.perf_counter()
        if step >= 100:  # both files already hold 100 entries
            timings["report_metric"].append(middle - start)
            timings["hypertune"].append(end - middle)
    _header("Per report, 100 entries already in the file (target: < 1000 µs)")
    print(_summary("vertex_hydra.report_metric", timings["report_metric"]))
    print(_summary("bare hypertune.HyperTune (reference)", timings["hypertune"]))
    median = statistics.median(timings["report_metric"]) * 1e3
    print(f"report_metric median: {median:.3f} ms -> {'OK' if median < 1 else 'ABOVE TARGET'}")


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-hypertune-") as folder:
        bench_callback(folder)
        bench_report(folder)


if __name__ == "__main__":
    main()
