"""compsafe: multi-dimensional safety evaluation of compressed LLMs."""

__version__ = "0.1.0"
