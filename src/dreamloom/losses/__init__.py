"""Image losses: weighting, direct (pixel/HSV) targets and smoothing."""
