"""Lazy module proxies, so light entry points (the CLI, task configs) stay light.

`from kerasnlp_seq.lazy import keras, tf` binds names that import the real
module on first attribute access. `kerasnlp-seq --help` and task listings never
touch TensorFlow this way; code that trains pays the import once, when it first
needs it.
"""

import importlib


class LazyModule:
    """A stand-in for a module that is imported on first attribute access.

    Args:
        name: str. The module's import name, e.g. `"tensorflow"`.
    """

    def __init__(self, name):
        self._name = name
        self._module = None

    def _load(self):
        if self._module is None:
            self._module = importlib.import_module(self._name)
        return self._module

    def __getattr__(self, attr):
        return getattr(self._load(), attr)

    def __repr__(self):
        state = "loaded" if self._module is not None else "not loaded"
        return f"<LazyModule {self._name!r} ({state})>"


tf = LazyModule("tensorflow")
keras = LazyModule("keras")
np = LazyModule("numpy")
