"""The report's statistics: the bootstrap engine, the inference on changes (p-values, the false
discovery rate, power), and the analysis that fills every cell. Reads the data layer only."""
