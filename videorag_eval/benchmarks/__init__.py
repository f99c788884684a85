"""The benchmarks' rows as typed questions: schemas, row and path checks, subtitle files and the with-subtitles arm."""
