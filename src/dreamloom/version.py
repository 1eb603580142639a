"""The package version, in the lowest layer so that any module (downloads, backups, the CLI) may read it."""

__version__ = "0.1.0"
