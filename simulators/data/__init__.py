"""Data sets as typed event tables: MovieLens, RecBole and CSV/Parquet loaders, synthetic streams, sequences."""
