"""Kept for ``vertex_hydra.cloud`` until it imports :mod:`vertex_hydra.check._cli` itself."""

from __future__ import annotations

from vertex_hydra.check._cli import format_received
from vertex_hydra.check._cli import format_report as render

__all__ = ["render", "format_received"]
