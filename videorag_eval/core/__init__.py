"""Records, failure kinds, atomic files and resource paths every layer shares (the lowest layer)."""
