"""dreamloom studio: a local web page to write scenes, run renders in the background and browse results.

Needs the optional ``studio`` extra (Gradio); :func:`dreamloom.studio.server.serve` is what the
``dreamloom studio`` command runs. The page drives renders only through the ``dreamloom render`` command.
"""
