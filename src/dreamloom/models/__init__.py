"""Model weights: the registry of downloadable files, the cache, downloads, verification, safe reading."""
