"""Small sample data sets shipped with the package (generated, see generate.py)."""

import os


def sample_path(name):
    """Absolute path of a bundled sample file."""
    return os.path.join(os.path.dirname(__file__), name)
