"""Flat, frozen configuration dataclasses and their JSON round trip.

A task's options are one flat frozen dataclass whose defaults work. The same
dataclass is written into every run directory as JSON, read back by
`evaluate` / `predict` / `export`, and turned into command-line options by
the CLI. `TrainConfig` holds what every task shares: epochs, batch size,
optimizer, learning rate, gradient clipping, early stopping, seed, and how
to run fast (token budget, mixed precision, XLA, distribution).

This module imports nothing heavy, so the CLI can build its options from it
without importing TensorFlow.
"""

import dataclasses
import json
import typing

from kerasnlp_seq.errors import ConfigError


def choice(default, choices, help=""):
    """A dataclass field restricted to a set of strings.

    Args:
        default: str. The default value.
        choices: sequence of str. The allowed values.
        help: str. One line for `--help`.
    """
    return dataclasses.field(
        default=default, metadata={"choices": tuple(choices), "help": help})


def option(default, help=""):
    """A dataclass field with a help line for the CLI.

    Args:
        default: The default value (int, float, str, bool or None).
        help: str. One line for `--help`.
    """
    return dataclasses.field(default=default, metadata={"help": help})


def validate_choices(config):
    """Check every `choice()` field of `config`; raise `ConfigError` if off."""
    for f in dataclasses.fields(config):
        choices = f.metadata.get("choices")
        value = getattr(config, f.name)
        if choices and value not in choices:
            raise ConfigError(
                f"Unknown `{f.name}` for {type(config).__name__}. Expected one "
                f"of {sorted(choices, key=str)}. Received: {f.name}={value!r}")


def check_range(config, name, low=None, high=None, inclusive_high=True,
                inclusive_low=True):
    """Raise `ConfigError` unless `low (<=|<) config.name (<=|<) high`."""
    value = getattr(config, name)
    if value is None:
        return
    too_low = low is not None and (
        value < low if inclusive_low else value <= low)
    too_high = high is not None and (
        value > high if inclusive_high else value >= high)
    if too_low or too_high:
        if low is not None and high is not None:
            bounds = (f"in {'[' if inclusive_low else '('}{low}, "
                      f"{high}{']' if inclusive_high else ')'}")
        elif low is not None:
            bounds = f"{'>=' if inclusive_low else '>'} {low}"
        else:
            bounds = f"{'<=' if inclusive_high else '<'} {high}"
        raise ConfigError(
            f"`{name}` of {type(config).__name__} must be {bounds}. "
            f"Received: {name}={value!r}")


def check_attention_from(config, layers_field):
    """`attention_from="bottom"` needs an attention and two or more decoder
    layers (`config.<layers_field>`): raise `ConfigError` otherwise."""
    layers = getattr(config, layers_field)
    if config.attention_from == "bottom" and (
            config.attention == "none" or layers < 2):
        raise ConfigError(
            "`attention_from='bottom'` feeds the attention context to the "
            "decoder layers above the first: it needs an attention and "
            f"`{layers_field}` >= 2. Received: attention="
            f"{config.attention!r}, {layers_field}={layers}")


def field_type(cls, f):
    """The plain Python type of a dataclass field (Optional unwrapped)."""
    hints = typing.get_type_hints(cls)
    tp = hints.get(f.name, str)
    if typing.get_origin(tp) is typing.Union:
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        tp = args[0] if args else str
    return tp


_BOOLEANS = {"true": True, "1": True, "yes": True, "on": True,
             "false": False, "0": False, "no": False, "off": False}


def renamed_fields(cls):
    """`{old name: current name}` of the fields `cls` has renamed.

    A config dataclass lists them in a `RENAMED` class variable
    (`typing.ClassVar`), so run directories, JSON configs and `--set`
    written with the old name keep working.
    """
    return dict(getattr(cls, "RENAMED", {}))


def current_names(cls, values, source="config"):
    """`values` (a dict) with renamed fields of `cls` under their new names.

    Raises:
        ConfigError: if a field is given under both its old and new name.
    """
    renamed = renamed_fields(cls)
    out = {}
    for key, value in values.items():
        new = renamed.get(key, key)
        if new != key and new in values:
            raise ConfigError(
                f"{source}: {key!r} is the old name of {new!r}; give only "
                f"{new!r}.")
        out[new] = value
    return out


def parse_value(cls, name, text):
    """The string `text` as a value of field `name` of dataclass `cls`.

    For `KEY=VALUE` options given as text (`evaluate --set beam_width=10`):
    ints and floats as Python reads them, booleans as true/false (also
    1/0, yes/no, on/off), `none` or `null` for an optional field. Range
    checks are the dataclass's own, when it is built. A renamed field's
    old name is read as its new one.
    """
    name = renamed_fields(cls).get(name, name)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    if name not in fields:
        raise ConfigError(
            f"unknown option {name!r} for {cls.__name__}. Expected one of "
            f"{sorted(fields)}.")
    f = fields[name]
    tp = field_type(cls, f)
    word = text.strip().lower()
    if _optional(cls, f) and word in ("none", "null"):
        return None
    if tp is bool and word in _BOOLEANS:
        return _BOOLEANS[word]
    if tp in (int, float):
        try:
            return tp(text)
        except ValueError:
            pass
    elif tp is not bool:
        return text
    raise ConfigError(
        f"`{name}` must be of type {tp.__name__}. Received: {name}={text!r}")


def _optional(cls, f):
    tp = typing.get_type_hints(cls).get(f.name)
    return typing.get_origin(tp) is typing.Union and type(None) in \
        typing.get_args(tp)


def to_dict(config):
    """A JSON-ready dict of a config dataclass."""
    return dataclasses.asdict(config)


def from_dict(cls, values, source="config"):
    """Build `cls` from a dict, rejecting unknown keys and wrong types.

    Args:
        cls: a dataclass type.
        values: dict. Field names to values; missing ones take defaults.
            Old names of renamed fields (`renamed_fields`) are accepted.
        source: str. Where the values came from, for error messages.
    """
    return cls(**check_values(cls, values, source))


def check_values(cls, values, source="config"):
    """`values` checked against the fields of `cls`, under current names.

    The checks of `from_dict` without building `cls` (whose cross-field
    checks need every value): unknown keys, nulls where a field is not
    optional, and types (an int where a float is expected becomes one).

    Args:
        cls: a dataclass type.
        values: dict. Field names (or old names) to values.
        source: str. Where the values came from, for error messages.

    Returns:
        A new dict of the values, keyed by current field names.
    """
    values = current_names(cls, values, source)
    names = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(names))
    if unknown:
        raise ConfigError(
            f"{source}: unknown option(s) {unknown} for {cls.__name__}. "
            f"Expected some of {sorted(names)}.")
    coerced = {}
    for key, value in values.items():
        tp = field_type(cls, names[key])
        if value is None and not _optional(cls, names[key]):
            raise ConfigError(
                f"{source}: `{key}` may not be null; expected "
                f"{tp.__name__}. Received: {key}=None")
        if tp is float and type(value) is int:  # not bool: True is no rate
            value = float(value)
        if value is not None and tp in (int, float, str, bool):
            ok = isinstance(value, tp) and not (
                tp is int and isinstance(value, bool))
            if not ok:
                raise ConfigError(
                    f"{source}: `{key}` must be of type {tp.__name__}. "
                    f"Received: {key}={value!r}")
        coerced[key] = value
    return coerced


def save_json(data, path):
    """Write `data` as indented JSON, atomically (temp file then rename)."""
    import os
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2, sort_keys=True)
        f.write("\n")
    os.replace(tmp, path)


def load_json(path):
    """Read a JSON file; any problem reading it is a one-line `ConfigError`."""
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found.") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: a directory, not a JSON file.") from None
    except OSError as e:
        raise ConfigError(f"{path}: cannot read it ({e.strerror}).") from None
    except UnicodeDecodeError as e:
        raise ConfigError(f"{path}: not a JSON file (not UTF-8 text: byte "
                          f"{e.object[e.start]:#04x} at offset {e.start})."
                          ) from None
    except json.JSONDecodeError as e:
        raise ConfigError(f"{path}:{e.lineno}: invalid JSON ({e.msg}).") from None


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Options every task shares: how to fit, not what to fit."""

    epochs: int = option(10, "Maximum number of epochs.")
    batch_size: int = option(32, "Examples per batch (global batch size).")
    optimizer: str = choice("adam", ["adam", "adamw", "rmsprop", "sgd"],
                            "Optimizer.")
    learning_rate: float = option(1e-3, "Learning rate.")
    clipnorm: typing.Optional[float] = option(
        None, "Clip each gradient to this norm.")
    clipvalue: typing.Optional[float] = option(
        None, "Clip each gradient value to [-v, v].")
    patience: int = option(
        2, "Early stopping: epochs without improvement before stopping.")
    lr_decay_patience: typing.Optional[int] = option(
        None, "Multiply the learning rate by --lr-decay-factor after this "
        "many epochs without validation improvement (ReduceLROnPlateau; "
        "off by default).")
    lr_decay_factor: float = option(
        0.5, "Learning-rate factor of --lr-decay-patience.")
    lr_decay_min_delta: float = option(
        1e-4, "With --lr-decay-patience: an epoch that moves the validation "
        "monitor by less than this counts as no improvement (decay once "
        "gains get small, not only when they stop).")
    lr_schedule: str = choice(
        "constant", ["constant", "cosine"],
        "Learning-rate schedule. cosine: fall from --learning-rate to "
        "--lr-final-ratio of it along half a cosine over --epochs, or over "
        "--time-limit when that runs out first.")
    lr_final_ratio: float = option(
        0.01, "With --lr-schedule cosine: the last rate as a fraction of "
        "--learning-rate.")
    ema: typing.Optional[float] = option(
        None, "Keep an exponential moving average of the weights with this "
        "momentum (Polyak averaging, e.g. 0.999); validation, early "
        "stopping and the saved model use the averaged weights.")
    valid_fraction: float = option(
        0.1, "Held-back validation fraction when no --valid is given.")
    seed: int = option(1337, "Random seed (data split, init, shuffling).")
    log_gradients: bool = option(
        False, "Log per-layer gradient norms and the clipping rate "
        "(history.csv, TensorBoard).")
    batch_tokens: typing.Optional[int] = option(
        None, "Token budget per training batch: short texts make bigger "
        "batches (batch-size stays the upper bound).")
    steps_per_epoch: typing.Optional[int] = option(
        None, "Cap each epoch at this many batches (large or streamed "
        "data).")
    time_limit: typing.Optional[float] = option(
        None, "Stop training after this many minutes (checked after every "
        "batch; the cut epoch is still validated, and early stopping "
        "restores the best weights).")
    mixed_precision: str = choice(
        "none", ["none", "mixed_float16", "mixed_bfloat16"],
        "Compute in 16-bit floats, keep float32 weights and outputs "
        "(mixed_float16 scales the loss).")
    jit_compile: bool = option(
        False, "Compile the train step with XLA (off: Keras' default, XLA "
        "only on a GPU).")
    distribution: str = choice(
        "none", ["none", "mirrored", "multi_worker"],
        "Train over the local devices (mirrored) or several machines "
        "(multi_worker, configured by TF_CONFIG).")

    def __post_init__(self):
        validate_choices(self)
        check_range(self, "epochs", 1)
        check_range(self, "batch_size", 1)
        check_range(self, "learning_rate", 0.0, inclusive_low=False)
        check_range(self, "clipnorm", 0.0)
        check_range(self, "clipvalue", 0.0)
        check_range(self, "patience", 0)
        check_range(self, "lr_decay_patience", 0)
        check_range(self, "lr_decay_factor", 0.0, 1.0, inclusive_high=False)
        check_range(self, "lr_decay_min_delta", 0.0)
        check_range(self, "lr_final_ratio", 0.0, 1.0)
        if (self.lr_schedule != "constant"
                and self.lr_decay_patience is not None):
            raise ConfigError(
                "Give one learning-rate schedule: `lr_schedule` "
                f"{self.lr_schedule!r} and `lr_decay_patience` both change "
                "the rate. Received: "
                f"lr_decay_patience={self.lr_decay_patience!r}")
        check_range(self, "ema", 0.0, 1.0, inclusive_low=False,
                    inclusive_high=False)
        check_range(self, "valid_fraction", 0.0, 1.0, inclusive_high=False)
        check_range(self, "batch_tokens", 1)
        check_range(self, "steps_per_epoch", 1)
        check_range(self, "time_limit", 0.0, inclusive_low=False)
