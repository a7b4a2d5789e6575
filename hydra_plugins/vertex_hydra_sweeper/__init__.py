"""Hydra discovers ``hydra/sweeper: vertex`` here; the logic is in :mod:`vertex_hydra.sweeper`."""
