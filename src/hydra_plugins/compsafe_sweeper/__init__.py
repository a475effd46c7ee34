"""Hydra plugin package for compsafe."""
