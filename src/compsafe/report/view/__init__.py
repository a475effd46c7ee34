"""The report's presentation: compsafe-table's table, the report's page (overview, findings,
tables, figures) as report.md and report.html, its CSV files and W&B summary run."""
