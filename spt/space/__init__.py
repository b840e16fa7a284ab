"""The parts of the Space (``app.py``) that are not its page: the served model, the source people, the views,
the motions, and the handling of bad input. Importing it builds no UI."""
