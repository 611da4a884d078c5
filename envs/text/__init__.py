"""Text encoders (bundled all-MiniLM-L6-v2, hashing) and their on-disk embedding cache."""
