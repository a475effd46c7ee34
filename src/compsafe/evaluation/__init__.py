"""lm-eval glue: our task folder, option checks, in-process evaluation, metric flattening."""
