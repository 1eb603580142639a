"""Perceptors, cutouts and prompt losses: how dreamloom looks at the image and scores it."""
