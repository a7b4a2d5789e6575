"""Static typing of the public API, checked by mypy in CI (not run by pytest).

``.ci/run`` runs ``mypy vertex_hydra tests/typecheck_api.py``. A line marked
``type: ignore[...]`` must be an error: with ``warn-unused-ignores`` an ignore
that is no longer needed fails the check, so these lines prove what mypy rejects.
"""
# mypy: warn-unused-ignores

from __future__ import annotations

from typing import TYPE_CHECKING

from vertex_hydra import HypertuneCallback, report_metric, to_hydra_args, vertex_compatible

if TYPE_CHECKING:  # typing.assert_type is 3.11+, and this file is never run
    from typing_extensions import assert_type


@vertex_compatible
def bare(cfg: object = None, *, retries: int = 0) -> float:
    return 0.0


@vertex_compatible(rename={"lr": "model.optimizer.lr"}, coerce_integral_floats=False)
def configured(cfg: object = None) -> str:
    return ""


def _checks() -> None:
    """Never called: mypy reads it."""
    # The decorated functions keep their signatures (ParamSpec) and return types.
    assert_type(bare(None, retries=2), float)
    assert_type(configured(), str)
    bare(None, retries="2")  # type: ignore[arg-type]
    configured(None, 1)  # type: ignore[call-arg]
    vertex_compatible(rename=["lr"])  # type: ignore[call-overload]

    assert_type(to_hydra_args(["--lr=0.1"]), list[str])
    to_hydra_args("--lr=0.1", rename=1)  # type: ignore[arg-type]

    # The lazily loaded names carry their real types.
    assert_type(report_metric(0.5, step=3), bool)
    report_metric("high")  # type: ignore[arg-type]
    callback = HypertuneCallback(monitor="val/acc", mode="max")
    assert_type(callback.best, float | None)
