"""Answer parsers, each benchmark's headline metric and a cell's metrics.json."""
