"""Differentiable image models."""
