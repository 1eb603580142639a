"""Outputs: run naming, frame files, loss log and graphs, progress display."""
