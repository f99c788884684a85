"""Auxiliary-text extractors. Each builds its model lazily, on the first cache miss."""
