"""hierlm's benchmark suite: ``./run bench`` (``python -m bench``); see :mod:`bench.__main__`."""
