"""Training and evaluation of dreamloom's demo perceptor, kept apart from the runtime package.

``dreamloom`` ships the trained weights and loads them without importing anything from here; this
package imports ``dreamloom`` (its cutouts, augmentations and distance) so the model learns from the
views the renderer will show it. Entry points: ``python -m dreamloom_train.train`` and
``python -m dreamloom_train.check``.
"""
