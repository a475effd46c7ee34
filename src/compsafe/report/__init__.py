"""Turning job folders into compsafe-table's table and compsafe-report's full report."""
