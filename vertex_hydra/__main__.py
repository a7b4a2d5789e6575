"""``python -m vertex_hydra`` runs the ``vertex-hydra`` command line."""

from vertex_hydra.cli import console_main

console_main()
