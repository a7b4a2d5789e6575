"""``python -m vertex_hydra`` runs the ``vertex-hydra`` command line."""

import sys

from vertex_hydra.cli import main

sys.exit(main())
