"""Reading `--config` files: a task's options and training options resolved.

`resolve_config()` starts from the task's defaults (its `Config`, and its
`train_defaults` for `TrainConfig`), applies a JSON file, then the options
given on the command line. The file is one of:

- a run's own `config.json`: `{"task": ..., "task_config": {...},
  "train_config": {...}, "data": ..., "status": ...}` (the `task` is
  optional in a file written by hand, the other record keys too);
- one flat object of option names, of the task's config or of
  `TrainConfig` (`{"units": 64, "epochs": 3}`).

A config file holds options, never data: the data a run's `config.json`
records is not read (training reads `--data`, or the task's bundled sample
without it; `data_notice()` says so for the CLI to show), and a flat file
naming `data` or `valid` is refused. Every problem with the file is one
line that names it: not readable, not JSON, not an object, the config of
another task, unknown keys (all of them), a value of the wrong type.
"""

import os

from kerasnlp_seq import config as config_lib
from kerasnlp_seq import registry
from kerasnlp_seq.errors import ConfigError
from kerasnlp_seq.run_directory import RECORD_KEYS

SECTIONS = ("task_config", "train_config")


def resolve_config(task_name, config_file=None, overrides=None):
    """Task config and train config from defaults, a JSON file, overrides.

    Args:
        task_name: str. A registered task (`kerasnlp_seq.registry`).
        config_file: str or None. A JSON file of options (see the module
            docstring; a run's own `config.json` works, its data aside).
        overrides: dict or None. Option names to values, which win over
            the file (the CLI passes the options given on its command
            line).

    Returns:
        `(task_config, train_config)` dataclass instances.
    """
    task_cls = registry.get_task_class(task_name)
    task_values, train_values = {}, dict(task_cls.train_defaults)
    given = set()  # train fields set by the file or the command line
    sources = [read_config_file(task_name, config_file)] if config_file else []
    sources.append(_split(task_cls, overrides or {}, "command line"))
    for task_part, train_part in sources:
        task_values.update(task_part)
        train_values.update(train_part)
        given.update(train_part)
    # Plateau decay asked for replaces a task's default schedule (the two
    # would fight over the rate); asked for together, they are an error.
    if (train_values.get("lr_decay_patience") is not None
            and "lr_schedule" not in given):
        train_values["lr_schedule"] = "constant"
    return (config_lib.from_dict(task_cls.Config, task_values, "task config"),
            config_lib.from_dict(config_lib.TrainConfig, train_values,
                                 "train config"))


def read_config_file(task_name, path):
    """The options a JSON config file sets, checked for task `task_name`.

    Returns:
        `(task values, train values)`: two dicts of field names to values.

    Raises:
        ConfigError: naming `path`, for a file that cannot be read, is not
            a JSON object, belongs to another task, or holds unknown keys
            or values of the wrong type.
    """
    task_cls = registry.get_task_class(task_name)
    data = config_lib.load_json(path)
    if not isinstance(data, dict):
        raise ConfigError(
            f"{path}: expected a JSON object of options. Received: a JSON "
            f"{type(data).__name__}.")
    task = data.get("task")
    if task is not None and task not in registry.task_names():
        raise ConfigError(
            f"{path}: `task` names no task. Expected {task_name!r} (or no "
            f"`task`). Received: task={task!r}")
    if task is not None and task != task_name:
        raise ConfigError(
            f"{path}: the config of a {task!r} run, not of {task_name!r}: "
            f"give it to `train {task}`, or give a {task_name} config.")
    if any(section in data for section in SECTIONS):
        extra = sorted(set(data) - set(SECTIONS) - set(RECORD_KEYS))
        if extra:
            raise ConfigError(
                f"{path}: unknown key(s) {extra} beside task_config and "
                "train_config; put options inside those, or give one flat "
                "object of options.")
        task_values = _section(task_cls, data, "task_config", path)
        train_values = _section(task_cls, data, "train_config", path)
    else:
        data = {k: v for k, v in data.items() if k != "task"}
        asked = [key for key in ("data", "valid") if key in data]
        if asked:
            raise ConfigError(
                f"{path}: {' and '.join(map(repr, asked))} cannot be set "
                "in a config file, which holds options only: give "
                f"{' and '.join('--' + key for key in asked)} instead.")
        task_values, train_values = _split(task_cls, data, path)
    return (config_lib.check_values(task_cls.Config, task_values, path),
            config_lib.check_values(config_lib.TrainConfig, train_values,
                                    path))


def _section(task_cls, data, name, path):
    """The `task_config` or `train_config` object of a nested config."""
    values = data.get(name, {})
    if not isinstance(values, dict):
        raise ConfigError(
            f"{path}: `{name}` must be a JSON object of options. Received: "
            f"{name}={values!r}")
    config_cls = (task_cls.Config if name == "task_config"
                  else config_lib.TrainConfig)
    values = config_lib.current_names(config_cls, values, path)
    fields = _fields(config_cls)
    unknown = sorted(set(values) - fields)
    if unknown:
        raise ConfigError(_unknown_message(task_cls, unknown, path, name))
    return values


def _split(task_cls, values, source):
    """Flat options split into `(task values, train values)`."""
    task_fields = _fields(task_cls.Config)
    train_fields = _fields(config_lib.TrainConfig)
    values = config_lib.current_names(task_cls.Config, values, source)
    unknown = sorted(set(values) - task_fields - train_fields)
    if unknown:
        raise ConfigError(_unknown_message(task_cls, unknown, source))
    return ({k: v for k, v in values.items() if k in task_fields},
            {k: v for k, v in values.items() if k not in task_fields})


def _unknown_message(task_cls, unknown, source, section=None):
    """One line: the unknown keys, the task, and where they do belong."""
    train_fields = _fields(config_lib.TrainConfig)
    one = len(unknown) == 1
    hint = ""
    if section == "task_config" and set(unknown) <= train_fields:
        hint = f"; {'it goes' if one else 'they go'} in train_config"
    elif section == "train_config" and set(unknown) <= _fields(
            task_cls.Config):
        hint = f"; {'it goes' if one else 'they go'} in task_config"
    else:
        owners = [name for name in registry.task_names()
                  if name != task_cls.name and set(unknown) <= _fields(
                      registry.get_task_class(name).Config)]
        if owners:
            hint = (f"; {'it is an option' if one else 'they are options'} "
                    f"of task {' and '.join(map(repr, owners))}")
    where = f" in {section}" if section else ""
    return (f"{source}: unknown option(s) {unknown}{where} for task "
            f"{task_cls.name!r}{hint}. `kerasnlp-seq train {task_cls.name} "
            "--help` lists the options.")


def data_notice(task_name, config_file, data=None, task_config=None):
    """A one-line note when a config file records data that is not read.

    A run's `config.json` records the data it trained on; as `--config` it
    gives options only. When no `data` is given, training reads the task's
    bundled sample, and this note says so, unless the file records that
    same sample (and no validation file).

    Args:
        task_name: str. The task to train.
        config_file: str or None. The `--config` file.
        data: str or None. The training data given (`--data`).
        task_config: the task's config, for its bundled sample.

    Returns:
        str or None: the note, or None when there is nothing to say.
    """
    if not config_file or data:
        return None
    record = config_lib.load_json(config_file)
    if not isinstance(record, dict) or not record.get("data"):
        return None
    recorded, valid = record["data"], record.get("valid")
    sample = registry.get_task_class(task_name)(task_config).default_data()
    if sample and not valid and _same_path(recorded, sample):
        return None
    trained = f"{recorded}" + (f" (validation: {valid})" if valid else "")
    flags = f"--data {recorded}" + (f" --valid {valid}" if valid else "")
    now = (f"this run trains on the bundled sample ({sample})" if sample
           else "this run needs --data")
    return (f"Note: {config_file} gives options, not data: its run trained "
            f"on {trained}; {now}. Give {flags} to train on that data.")


def _fields(config_cls):
    return set(config_cls.__dataclass_fields__)


def _same_path(a, b):
    return os.path.abspath(str(a)) == os.path.abspath(str(b))
