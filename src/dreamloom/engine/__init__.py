"""The render engine: timeline, optimisation loop, backups and resume."""
