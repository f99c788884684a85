"""One cell: its settings and their schema, pre-flight, identity, lock, state, extraction and the runner."""
