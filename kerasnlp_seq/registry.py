"""The task registry: tasks are found by name, one module per task.

A task module in the `tasks` package registers its `Task` subclass with
`@register_task`. Discovery imports every module of the package, which is
cheap because task modules keep their heavy imports (TensorFlow, Keras) lazy.
Adding a task touches only its own module.
"""

import importlib
import pkgutil

from kerasnlp_seq.errors import ConfigError

_TASKS = {}
_DISCOVERED = False


def register_task(cls):
    """Class decorator: make a `Task` subclass available by its `name`."""
    name = getattr(cls, "name", None)
    if not name:
        raise TypeError(f"{cls.__name__} needs a class attribute `name`.")
    existing = _TASKS.get(name)
    if existing is not None and existing.__qualname__ != cls.__qualname__:
        raise TypeError(
            f"Task name {name!r} is taken by {existing.__module__}."
            f"{existing.__qualname__}.")
    _TASKS[name] = cls
    return cls


def _discover():
    global _DISCOVERED
    if _DISCOVERED:
        return
    _DISCOVERED = True
    try:
        package = importlib.import_module("tasks")
    except ImportError:
        return
    for info in pkgutil.iter_modules(package.__path__):
        if not info.name.startswith("_"):
            importlib.import_module(f"tasks.{info.name}")


def task_names():
    """The sorted names of all registered tasks."""
    _discover()
    return sorted(_TASKS)


def get_task_class(name):
    """The `Task` subclass registered as `name`; `ConfigError` if unknown."""
    _discover()
    if name not in _TASKS:
        raise ConfigError(
            f"Unknown task. Expected one of {sorted(_TASKS)}. "
            f"Received: {name!r}")
    return _TASKS[name]
