"""Training a run: data in, a complete run directory out.

`train()` reads and checks the data, fits the preprocessing and only then
creates the run directory (`kerasnlp_seq.run_directory` lists what it
holds), so a bad input leaves nothing behind. The run's status in its
`config.json` goes "training", then "fitted" once the best model is saved,
then "complete": an interrupted run resumes from where it stopped, and one
interrupted after training finishes without training again.

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
from kerasnlp_seq.config_file import resolve_config
from kerasnlp_seq.errors import DataError, RunError
from kerasnlp_seq.run_directory import (CONFIG_FILE, METRICS_FILE, MODEL_FILE,
                                        check_data_outside, prepare_directory,
                                        remove_path)

log = logging.getLogger("kerasnlp_seq")


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
        check_data_outside(output, data, valid)
    previous = prepare_directory(output, overwrite, resume,
                                 distribute.is_chief(distribution))
    if previous is not None and previous.get("task") != task_name:
        raise RunError(
            f"{output}: a {previous.get('task')!r} run, not {task_name!r}; "
            f"resume it with `train {previous.get('task')} --resume --output "
            f"{output}`.")
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
            remove_path(output)
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
    from kerasnlp_seq.early_stopping import best_weights, finished_state
    from kerasnlp_seq.run_callbacks import make_callbacks
    from kerasnlp_seq.training import build_and_compile

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
    state_dir = restore_dir or os.path.join(run_dir, "backup")
    ended = best_weights(state_dir) if resume and finished_state(
        state_dir) else None
    if ended is not None:
        # Interrupted after `fit` had ended: its best epoch is all it needs.
        echo(f"{output}: training had ended; keeping its best epoch.")
        log.info("resumed after training had ended: best epoch's weights")
        model.set_weights(ended)
        return _save_fitted(model, run_dir, output)
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
    return _save_fitted(model, run_dir, output)


def _save_fitted(model, run_dir, output):
    """Save the trained model and mark the run "fitted": a resume from
    here on writes the results without training again."""
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
