"""Sphinx configuration for the vertex-hydra documentation.

Built in CI with ``python -m sphinx -W --keep-going -b html docs docs/_build/html``:
every warning fails the build. The build needs no network (no intersphinx
inventories), and pages are MyST markdown (``docs/*.md``).
"""

from __future__ import annotations

import sys
from pathlib import Path

# Document the working tree even when the package is not installed.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from vertex_hydra._version import __version__

project = "vertex-hydra"
author = "vertex-hydra contributors"
copyright = "vertex-hydra contributors"
version = release = __version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
]

source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
root_doc = "index"
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "README.md"]

# MyST: only extensions that need no extra package.
myst_enable_extensions = ["colon_fence", "deflist"]
# Anchors for headings, so that pages can link to `page.md#some-heading`.
myst_heading_anchors = 3

# Google-style docstrings only (STYLE.md, principle 7).
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_rtype = False

autodoc_member_order = "bysource"
autodoc_typehints = "signature"
add_module_names = False

html_theme = "alabaster"
html_title = f"vertex-hydra {release}"
html_static_path: list[str] = []


# --- One description per object -------------------------------------------
# `vertex_hydra` re-exports its public API (`__all__`), and api.md documents
# those names once, at the top level, where users import them from. Every
# module section skips them, or Sphinx would see two descriptions of one object
# (`vertex_hydra.to_hydra_args` has `vertex_hydra.translate.to_hydra_args` as
# its canonical name) and a cross-reference such as "Raises: TranslationError"
# would find two targets. The top-level directive overrides `exclude-members`.
import vertex_hydra

PUBLIC_API: list[str] = list(vertex_hydra.__all__)

autodoc_default_options = {
    "members": True,
    "show-inheritance": True,
    "exclude-members": ", ".join(PUBLIC_API),
}
