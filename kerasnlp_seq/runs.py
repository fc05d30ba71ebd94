"""Training runs: a run directory from data, and everything done with one after.

`train()` reads and checks the data, fits the preprocessing and only then
creates the run directory, so a bad input leaves nothing behind. The
directory holds:

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

`evaluate()`, `predict()` and `export()` load a finished run directory. The
CLI is a thin layer over these functions; scripts can call them directly.

Training options that make a run fast or big (`TrainConfig`): a token
budget per batch (`batch_tokens`), mixed precision, XLA (`jit_compile`),
and `tf.distribute` (`distribution`; `kerasnlp_seq.distribute`): the model
is then built and compiled in the strategy's scope, and in a multi-worker
run only the chief writes the run directory. Examples may be a list or a
streamed file (`kerasnlp_seq.streaming`): the runner never needs them all
in memory, and asks `count_examples` rather than `len()`.
"""

import datetime
import logging
import logging.handlers
import os
import shutil
import warnings

from kerasnlp_seq import config as config_lib
from kerasnlp_seq import registry
from kerasnlp_seq.errors import DataError, RunError

CONFIG_FILE = "config.json"
MODEL_FILE = "model.keras"
METRICS_FILE = "metrics.json"
log = logging.getLogger("kerasnlp_seq")


def resolve_config(task_name, config_file=None, overrides=None):
    """Task config and train config from defaults, a JSON file, overrides.

    The JSON file may hold `{"task_config": {...}, "train_config": {...}}`
    (a run's own `config.json` works) or one flat dict of fields of either.

    Returns:
        `(task_config, train_config)` dataclass instances.
    """
    task_cls = registry.get_task_class(task_name)
    task_values, train_values = {}, dict(task_cls.train_defaults)
    task_fields = set(task_cls.Config.__dataclass_fields__)
    train_fields = set(config_lib.TrainConfig.__dataclass_fields__)
    given = set()  # train fields set by the file or the command line

    def split(values, source):
        values = config_lib.current_names(task_cls.Config, values, source)
        for key, value in values.items():
            if key in task_fields:
                task_values[key] = value
            elif key in train_fields:
                train_values[key] = value
                given.add(key)
            else:
                raise RunError(
                    f"{source}: unknown option {key!r} for task "
                    f"{task_name!r}.")

    if config_file:
        data = config_lib.load_json(config_file)
        if not isinstance(data, dict):
            raise RunError(f"{config_file}: expected a JSON object.")
        if "task_config" in data or "train_config" in data:
            task_values.update(config_lib.current_names(
                task_cls.Config, data.get("task_config", {}), config_file))
            train_values.update(data.get("train_config", {}))
            given.update(data.get("train_config", {}))
        else:
            split(data, config_file)
    split(overrides or {}, "command line")
    # Plateau decay asked for replaces a task's default schedule (the two
    # would fight over the rate); asked for together, they are an error.
    if (train_values.get("lr_decay_patience") is not None
            and "lr_schedule" not in given):
        train_values["lr_schedule"] = "constant"
    return (config_lib.from_dict(task_cls.Config, task_values, "task config"),
            config_lib.from_dict(config_lib.TrainConfig, train_values,
                                 "train config"))


def _prepare_directory(output, overwrite, resume, chief=True):
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
    if exists and chief and not _is_run_directory(output):
        raise RunError(
            f"{output}: not a run directory (no {CONFIG_FILE} of a run); "
            "--overwrite replaces only a previous run. Choose another "
            "--output, or remove it yourself.")
    return None


def _is_run_directory(path):
    """Whether `path` is a directory holding a run's `config.json`."""
    config_path = os.path.join(path, CONFIG_FILE)
    if not os.path.isfile(config_path):
        return False
    try:
        run_config = config_lib.load_json(config_path)
    except ValueError:  # not JSON: a ConfigError
        return False
    return isinstance(run_config, dict) and "task" in run_config


def _check_data_outside(output, *specs):
    """Refuse to overwrite a directory that holds the data read from."""
    root = os.path.realpath(output)
    for spec in specs:
        if not spec or _is_tfds(spec):
            continue
        path = os.path.realpath(spec.split("?", 1)[0])
        if path == root or path.startswith(root + os.sep):
            raise RunError(
                f"{output}: holds the data ({spec}); --overwrite would "
                "delete it. Choose another --output.")


def count_examples(examples):
    """How many examples: a list's length, or a streamed file's count."""
    count = getattr(examples, "num_examples", None)
    return count if count is not None else len(examples)


def _file_logger(path):
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    return handler


def train(task_name, data=None, valid=None, output=None, task_config=None,
          train_config=None, overwrite=False, resume=False, verbose="auto",
          echo=print):
    """Train a task and write a complete run directory.

    Args:
        task_name: str. A registered task (`kerasnlp_seq.registry`).
        data: str or None. Training data spec; None: the task's sample.
        valid: str or None. Validation data spec; None: a held-back
            fraction (`train_config.valid_fraction`) of the training data.
        output: str or None. The run directory (default `runs/<task>`).
        task_config: the task's Config instance (defaults if None).
        train_config: a `TrainConfig`; None: the task's defaults, as the
            CLI resolves them (`resolve_config(task_name)`, e.g. NER's 28
            epochs and clipnorm 5). A given one is used as it is: build
            it with `resolve_config(task_name, overrides={...})` to change
            a few fields and keep the task's other defaults.
        overwrite: bool. Replace an existing run directory (only a run:
            any other non-empty directory, or one holding `data`, is
            refused).
        resume: bool. Continue an interrupted run in `output`.
        verbose: Keras `fit` verbosity (progress bar by default).
        echo: callable. Where one-line progress messages go.

    Returns:
        `(run_dir, metrics)`.
    """
    from kerasnlp_seq import distribute

    task_cls = registry.get_task_class(task_name)
    output = output or os.path.join("runs", task_name)
    distribution = (train_config.distribution if train_config else "none")
    if overwrite and not resume:
        _check_data_outside(output, data, valid)
    previous = _prepare_directory(output, overwrite, resume,
                                  distribute.is_chief(distribution))
    if previous is not None:
        task_config = config_lib.from_dict(
            task_cls.Config, previous["task_config"], "resumed config")
        train_config = config_lib.from_dict(
            config_lib.TrainConfig, previous["train_config"], "resumed config")
        data, valid = previous["data"], previous["valid"]
    task = task_cls(task_config)
    if train_config is None:
        train_config = resolve_config(task_name)[1]
    data = data or task.default_data()
    if data is None:
        raise RunError(f"task {task_name!r} has no bundled sample: give --data.")

    # Before any other TensorFlow work (a multi-worker strategy must be).
    strategy = distribute.make_strategy(train_config.distribution)
    chief = distribute.is_chief(train_config.distribution)
    import keras

    keras.utils.set_random_seed(train_config.seed)
    # What reading the data logs (skipped or truncated examples) reaches
    # train.log too, once the run directory exists.
    early_log = logging.handlers.MemoryHandler(
        capacity=100000, flushLevel=logging.CRITICAL + 1)
    handlers = [early_log]
    if not log.handlers and not logging.getLogger().handlers:
        # Warnings stay on stderr, as Python shows them with no handler
        # set up (which any handler here would otherwise switch off).
        console = logging.StreamHandler()
        console.setLevel(logging.WARNING)
        handlers.append(console)
    for handler in handlers:
        log.addHandler(handler)
    log.setLevel(logging.INFO)
    try:
        return _train(task_name, task, data, valid, output, train_config,
                      previous, resume, strategy, chief, verbose, echo,
                      early_log)
    finally:
        for handler in handlers:
            log.removeHandler(handler)
            handler.close()


def _train(task_name, task, data, valid, output, train_config, previous,
           resume, strategy, chief, verbose, echo, early_log):
    from kerasnlp_seq import distribute

    echo(f"Reading {data}")
    train_examples = task.read(data, "train")
    valid_examples = None
    if valid:
        valid_examples = task.read(valid, "valid")
    elif _is_tfds(data):
        valid_examples = task.read(data, "valid")  # None: no such split
    if valid_examples is None:
        if not train_config.valid_fraction:
            raise RunError(
                "--valid-fraction 0 holds back nothing, and early stopping "
                "needs validation data: give --valid FILE, or a fraction "
                "above 0.")
        train_examples, valid_examples = task.split_validation(
            train_examples, train_config.valid_fraction, train_config.seed)
    n_train, n_valid = (count_examples(train_examples),
                        count_examples(valid_examples))
    echo(f"{n_train} training and {n_valid} validation examples")
    if not n_train or not n_valid:
        where = valid if valid and not n_valid else data
        raise DataError(
            f"too little data: {n_train} training and {n_valid} validation "
            "examples; training needs at least one of each (give more data"
            + (", or a --valid file)." if not valid else ")."), where)
    if previous is not None:
        task.load_assets(output)
    else:
        task.adapt(train_examples)
    # Only when set: a task whose `dataset` predates the option still runs.
    budget = ({"batch_tokens": train_config.batch_tokens}
              if train_config.batch_tokens else {})
    train_ds = task.dataset(train_examples, train_config.batch_size,
                            training=True, seed=train_config.seed, **budget)
    valid_ds = task.dataset(valid_examples, train_config.batch_size,
                            training=False)
    if train_config.steps_per_epoch:  # epochs go on where the last stopped
        train_ds = train_ds.repeat()
    if train_config.distribution == "multi_worker":
        train_ds = distribute.shard_by_data(train_ds)
        valid_ds = distribute.shard_by_data(valid_ds)

    # Data and preprocessing are good: only now touch the run directory
    # (a non-chief worker writes its copy to a temporary directory).
    write_dir = distribute.write_directory(output, train_config.distribution)
    if previous is None:
        if chief:
            _remove(output)
            os.makedirs(output)
        task.save_assets(write_dir)
    # Interrupted after training, while writing the results: finish
    # without training again.
    fitted = (previous is not None and previous.get("status") == "fitted"
              and os.path.exists(os.path.join(output, MODEL_FILE)))
    run_config = {
        "task": task_name, "data": data, "valid": valid,
        "task_config": config_lib.to_dict(task.config),
        "train_config": config_lib.to_dict(train_config),
        "status": "fitted" if fitted else "training",
        "started": (previous or {}).get(
            "started", datetime.datetime.now().isoformat(timespec="seconds")),
        "versions": _versions(),
    }
    config_lib.save_json(run_config, os.path.join(write_dir, CONFIG_FILE))
    handler = _file_logger(os.path.join(write_dir, "train.log"))
    early_log.setTarget(handler)
    early_log.flush()
    log.removeHandler(early_log)
    restore_dir = (os.path.join(output, "backup")
                   if resume and not chief else None)
    try:
        if fitted:
            echo(f"{output}: training had finished; writing its results.")
            log.info("resumed after training: writing the results")
            model = task.load_model(os.path.join(output, MODEL_FILE))
        else:
            model = _fit(task, train_config, train_ds, valid_ds,
                         train_examples, valid_examples, write_dir, resume,
                         verbose, echo, strategy=strategy,
                         restore_dir=restore_dir, output=output)
        metrics = _finish(task, model, train_examples, valid_examples,
                          write_dir, output)
    finally:
        log.removeHandler(handler)
        handler.close()
        if not chief:
            distribute.remove_worker_directory(write_dir, output)
    if chief:
        run_config["status"] = "complete"
        run_config["finished"] = datetime.datetime.now().isoformat(
            timespec="seconds")
        config_lib.save_json(run_config, os.path.join(output, CONFIG_FILE))
    return output, metrics


def _probe_examples(examples, size=256):
    """Examples for the gradient probe: a streamed file's sample."""
    sample = getattr(examples, "sample_records", None)
    return sample(size) if sample else examples


def _fit(task, train_config, train_ds, valid_ds, train_examples,
         valid_examples, run_dir, resume, verbose, echo, strategy=None,
         restore_dir=None, output=None):
    from kerasnlp_seq.cudnn import cudnn_report, format_cudnn_report
    from kerasnlp_seq.training import build_and_compile, make_callbacks

    output = output or run_dir
    model = build_and_compile(task, train_config, strategy)
    report = format_cudnn_report(cudnn_report(model))
    for line in report.splitlines():
        log.info(line)
    echo(report)
    if strategy is not None:
        from kerasnlp_seq.distribute import build_before_fit

        build_before_fit(model, train_ds, strategy)
        echo(f"Distribution: {train_config.distribution}, "
             f"{strategy.num_replicas_in_sync} replicas in sync")
    log.info("train %d / valid %d examples, %d parameters, precision %s",
             count_examples(train_examples), count_examples(valid_examples),
             model.count_params(), train_config.mixed_precision)
    probe = None
    if train_config.log_gradients:
        from kerasnlp_seq.diagnose import probe_batch

        probe = probe_batch(task, _probe_examples(train_examples),
                            num_examples=256)
    callbacks = make_callbacks(task, train_config, run_dir, resume,
                               gradient_probe=probe, restore_dir=restore_dir)
    # Bucketed datasets have no known length until the first epoch ends;
    # Keras warns about that once per run, which is expected here.
    warnings.filterwarnings("ignore", message="Your input ran out of data")
    try:
        model.fit(train_ds, validation_data=valid_ds,
                  epochs=train_config.epochs, callbacks=callbacks,
                  steps_per_epoch=train_config.steps_per_epoch,
                  verbose=verbose, shuffle=False)  # the dataset shuffles
    except KeyboardInterrupt:
        if verbose not in (0, 2):  # end the progress bar's line first
            print(flush=True)
        raise RunError(
            f"{output}: training interrupted; continue it with "
            f"`--resume --output {output}`.") from None
    # The backup is gone once `fit` returns (BackupAndRestore deletes it),
    # so the best model is saved and the run marked before anything else:
    # a resume from here on finishes without training again.
    try:
        model.save(os.path.join(run_dir, MODEL_FILE))
        config_path = os.path.join(run_dir, CONFIG_FILE)
        run_config = config_lib.load_json(config_path)
        run_config["status"] = "fitted"
        config_lib.save_json(run_config, config_path)
    except KeyboardInterrupt:
        raise RunError(
            f"{output}: training interrupted while saving the model; "
            f"continue it with `--resume --output {output}`.") from None
    return model


def _finish(task, model, train_examples, valid_examples, run_dir, output):
    """After training: threshold, metrics, curve, SavedModel; metrics."""
    from kerasnlp_seq.plots import plot_history

    try:
        task.after_fit(model, train_examples, valid_examples, run_dir)
        metrics = task.evaluate(model, valid_examples, run_dir=run_dir)
        config_lib.save_json(metrics, os.path.join(run_dir, METRICS_FILE))
        log.info("validation metrics: %s", metrics)
        plot_history(os.path.join(run_dir, "history.csv"),
                     os.path.join(run_dir, "training_curve.png"))
        task.export(model, os.path.join(run_dir, "saved_model"))
    except KeyboardInterrupt:
        raise RunError(
            f"{output}: interrupted after training, while writing the "
            f"results; the trained model is kept: `--resume --output "
            f"{output}` finishes the run without training again.") from None
    shutil.rmtree(os.path.join(run_dir, "backup"), ignore_errors=True)
    return metrics


def _is_tfds(spec):
    from kerasnlp_seq import tfds_data

    return tfds_data.is_tfds(spec)


def _versions():
    import keras
    import tensorflow as tf

    return {"tensorflow": tf.__version__, "keras": keras.__version__}


def load_run(run_dir, options=None):
    """A finished run: `(task, model, run_config)`.

    Args:
        run_dir: str. A finished run directory.
        options: dict or None. Changes to the run's task config for this
            use of it, restricted to the task's `inference_options`
            (decoding settings): field names to values, or to strings as
            typed on the command line (`{"beam_width": "10"}`).
    """
    path = os.path.join(run_dir, CONFIG_FILE)
    if os.path.isfile(run_dir):
        raise RunError(f"{run_dir}: a file, not a run directory (give the "
                       "run directory first, then --data).")
    if not os.path.isdir(run_dir):
        raise RunError(f"{run_dir}: run directory not found.")
    if not os.path.exists(path):
        raise RunError(f"{run_dir}: not a run directory (no {CONFIG_FILE}).")
    run_config = config_lib.load_json(path)
    if not isinstance(run_config, dict) or "task" not in run_config:
        raise RunError(f"{path}: not a kerasnlp-seq run config.")
    if run_config.get("status") != "complete":
        raise RunError(
            f"{run_dir}: training did not finish (status "
            f"{run_config.get('status')!r}); resume it with --resume.")
    task_cls = registry.get_task_class(run_config["task"])
    config = config_lib.from_dict(
        task_cls.Config, run_config["task_config"], path)
    if options:
        config = _with_options(task_cls, config, options)
    task = task_cls(config)
    task.load_assets(run_dir)
    model_path = os.path.join(run_dir, MODEL_FILE)
    if not os.path.exists(model_path):
        raise RunError(f"{run_dir}: no {MODEL_FILE} in the run directory.")
    return task, task.load_model(model_path), run_config


def _with_options(task_cls, config, options):
    """`config` with the inference `options` of `load_run` applied."""
    allowed = task_cls.inference_options
    values = config_lib.to_dict(config)
    options = config_lib.current_names(task_cls.Config, options, "--set")
    for name, value in options.items():
        if name not in allowed:
            can = (f"it can change {', '.join(allowed)}" if allowed
                   else "it has no options that can change after training")
            raise RunError(
                f"--set {name}: a {task_cls.name} run cannot change "
                f"{name!r} after training; {can}.")
        if isinstance(value, str):
            value = config_lib.parse_value(task_cls.Config, name, value)
        values[name] = value
    return config_lib.from_dict(task_cls.Config, values, "--set")


def evaluate(run_dir, data, options=None):
    """Metrics of a finished run on a data spec (`options`: `load_run`)."""
    task, model, _ = load_run(run_dir, options)
    examples = task.read(data, "eval")
    return task.evaluate(model, examples)


def predict(run_dir, inputs, attention_plot=None, options=None):
    """Readable answers of a finished run for raw inputs.

    Args:
        run_dir: str. A finished run directory.
        inputs: iterable of raw inputs (texts, or image paths).
        attention_plot: str or None. Also draw the attention of the first
            input into this PNG file (tasks whose models attend).
        options: dict or None. Decoding settings to change (`load_run`).

    Returns:
        `(task, answers)`.
    """
    inputs = list(inputs)
    if not inputs:
        raise RunError("predict: no inputs given.")
    if attention_plot:  # before any work, so no answer is lost to it
        folder = os.path.dirname(os.path.abspath(attention_plot))
        if not os.path.isdir(folder):
            raise RunError(f"{attention_plot}: cannot write the attention "
                           f"plot: no folder {folder}.")
    task, model, _ = load_run(run_dir, options)
    answers = task.predict(model, inputs)
    if attention_plot:
        task.plot_attention(model, inputs[0], attention_plot)
    return task, answers


def export(run_dir, output, overwrite=False, options=None):
    """Write a run's serving SavedModel to `output` (`options`: the
    decoding settings it serves with, as in `load_run`)."""
    if os.path.exists(output) and not overwrite:
        raise RunError(f"{output}: already exists. Use --overwrite.")
    if os.path.isdir(output) and os.listdir(output) and not os.path.exists(
            os.path.join(output, "saved_model.pb")):
        raise RunError(
            f"{output}: not a SavedModel directory (no saved_model.pb); "
            "--overwrite replaces only a previous export. Choose another "
            "--output.")
    task, model, _ = load_run(run_dir, options)
    tmp = output.rstrip("/") + ".tmp-export"
    _remove(tmp)
    task.export(model, tmp)
    _remove(output)
    os.replace(tmp, output)
    return output


def _remove(path):
    """Delete a file or a directory tree, if it exists."""
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    elif os.path.lexists(path):
        os.remove(path)
