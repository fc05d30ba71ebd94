"""Run directories: what one holds, and when one may be written or replaced.

A run directory, as `kerasnlp_seq.training_run.train()` writes it:

    config.json         task, task config, train config, data, status
                        ("training", "fitted" once the best model is saved,
                        "complete" when everything below is written)
    vocab / labels      whatever the task's preprocessing saves
    model.keras         the best model (reloads with keras.saving.load_model)
    metrics.json        final validation metrics, flat names
    history.csv         per-epoch losses and metrics
    training_curve.png  the same, drawn
    logs/               TensorBoard
    saved_model/        the exported serving model
    train.log           what the run printed about itself
    backup/             resume state while training (removed when done)

The checks here run before any training: `--overwrite` replaces only a
previous run (never another folder, never one that holds the data read
from), and `--resume` needs an unfinished run, given as it was started
(`resume_changes`).
"""

import os
import shutil

from kerasnlp_seq import config as config_lib
from kerasnlp_seq.errors import KerasNLPSeqError, RunError

CONFIG_FILE = "config.json"
MODEL_FILE = "model.keras"
METRICS_FILE = "metrics.json"
# The keys of a run's config.json besides its options (`task_config`,
# `train_config`): what the run was and how far it got.
RECORD_KEYS = ("task", "data", "valid", "status", "started", "finished",
               "versions")


def prepare_directory(output, overwrite, resume, chief=True):
    """Check the run directory; returns the previous config when resuming.

    Non-chief workers of a multi-worker run never write `output`, so a
    fresh run does not check it there (the chief may have made it).
    """
    exists = os.path.exists(output) and (
        not os.path.isdir(output) or os.listdir(output))
    if resume:
        if not exists or not os.path.exists(os.path.join(output, CONFIG_FILE)):
            raise RunError(f"{output}: nothing to resume (no run here).")
        previous = config_lib.load_json(os.path.join(output, CONFIG_FILE))
        if previous.get("status") == "complete":
            raise RunError(f"{output}: this run is already complete.")
        return previous
    if exists and not overwrite and chief:
        raise RunError(
            f"{output}: already exists. Use --overwrite to replace it or "
            "--resume to continue it.")
    if exists and chief and not is_run_directory(output):
        raise RunError(
            f"{output}: not a run directory (no {CONFIG_FILE} of a run); "
            "--overwrite replaces only a previous run. Choose another "
            "--output, or remove it yourself.")
    return None


def is_run_directory(path):
    """Whether `path` is a directory holding a run's `config.json`."""
    config_path = os.path.join(path, CONFIG_FILE)
    if not os.path.isfile(config_path):
        return False
    try:
        run_config = config_lib.load_json(config_path)
    except ValueError:  # not JSON: a ConfigError
        return False
    return isinstance(run_config, dict) and "task" in run_config


def check_data_outside(output, *specs):
    """Refuse to overwrite a directory that holds the data read from."""
    from kerasnlp_seq.tfds_data import is_tfds

    root = os.path.realpath(output)
    for spec in specs:
        if not spec or is_tfds(spec):
            continue
        path = os.path.realpath(spec.split("?", 1)[0])
        if path == root or path.startswith(root + os.sep):
            raise RunError(
                f"{output}: holds the data ({spec}); --overwrite would "
                "delete it. Choose another --output.")


def remove_path(path):
    """Delete a file or a directory tree, if it exists."""
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    elif os.path.lexists(path):
        os.remove(path)


def resume_changes(output, given):
    """The options of a resume that differ from the run's own, by name.

    Repeating the command that started the run, with `--resume` added,
    changes nothing; a value other than the run's, and any `config` or
    `overwrite`, would. Without a readable run config every option given
    is listed (`prepare_directory` then says what is wrong).

    Args:
        output: str. The run directory.
        given: dict. Option names (task, training, `data`, `valid`,
            `config`, `overwrite`) to the values given with `--resume`.

    Returns:
        A list of option names, in the order given.
    """
    try:
        recorded = config_lib.load_json(os.path.join(output, CONFIG_FILE))
    except KerasNLPSeqError:
        recorded = None
    values = {}
    if isinstance(recorded, dict):
        for section in ("train_config", "task_config"):
            if isinstance(recorded.get(section), dict):
                values.update(recorded[section])
        values.update(data=recorded.get("data"), valid=recorded.get("valid"))
    return [k for k, v in given.items()
            if k in ("config", "overwrite") or k not in values
            or values[k] != v]
