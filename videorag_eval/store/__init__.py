"""What is kept on disk and read back: the extraction cache and its packs, a cell's journal and result files."""
