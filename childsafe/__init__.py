"""childsafe: report abuse, watch chat rooms, block listed URLs."""

__version__ = "0.1.0"
