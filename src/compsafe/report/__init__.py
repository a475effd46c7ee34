"""Turning job folders into tables (and, later, the full report)."""
