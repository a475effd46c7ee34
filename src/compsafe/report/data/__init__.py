"""The report's data layer: job records and their catalogues, items, pairings, rows and cells.

Reads only what the results contract (`compsafe.results`) defines; imports nothing of the
report's statistics or presentation.
"""
