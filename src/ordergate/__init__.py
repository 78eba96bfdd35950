"""ordergate: the execution layer between a strategy's signals and a venue's order book."""

__version__ = "0.1.0"
