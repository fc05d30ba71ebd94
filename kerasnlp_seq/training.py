"""Optimizers and callbacks for a training run, from a `TrainConfig`."""

import os
import time

import keras


class EpochTimer(keras.callbacks.Callback):
    """Adds `epoch_seconds` (wall time of the epoch) to the epoch logs."""

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["epoch_seconds"] = time.perf_counter() - self._start


def make_optimizer(train_config):
    """A Keras optimizer with the run's learning rate and gradient clipping.

    Args:
        train_config: `TrainConfig`.
    """
    kwargs = {"learning_rate": train_config.learning_rate}
    if train_config.clipnorm:
        kwargs["clipnorm"] = train_config.clipnorm
    if train_config.clipvalue:
        kwargs["clipvalue"] = train_config.clipvalue
    classes = {"adam": keras.optimizers.Adam,
               "adamw": keras.optimizers.AdamW,
               "rmsprop": keras.optimizers.RMSprop,
               "sgd": keras.optimizers.SGD}
    return classes[train_config.optimizer](**kwargs)


def make_callbacks(task, train_config, run_dir, resume=False,
                   gradient_probe=None):
    """Resume state, early stopping, history CSV and TensorBoard logs.

    `BackupAndRestore` (in `run_dir/backup`) lets an interrupted run
    continue from its last finished epoch; early stopping watches the
    task's monitor and restores the best weights.
    """
    monitor, mode = task.monitor
    callbacks = [
        EpochTimer(),
        keras.callbacks.BackupAndRestore(os.path.join(run_dir, "backup")),
        keras.callbacks.EarlyStopping(
            monitor=monitor, mode=mode, patience=train_config.patience,
            restore_best_weights=True, verbose=1),
    ]
    if gradient_probe is not None:
        # Before CSVLogger and TensorBoard, so they see its keys.
        from kerasnlp_seq.gradient_callback import GradientNormLogger

        x, y = gradient_probe
        callbacks.append(GradientNormLogger(
            x, y, batch_size=min(train_config.batch_size, len(x)),
            log_dir=os.path.join(run_dir, "logs", "gradients"),
            seed=train_config.seed))
    return callbacks + [
        keras.callbacks.CSVLogger(os.path.join(run_dir, "history.csv"),
                                  append=resume),
        keras.callbacks.TensorBoard(os.path.join(run_dir, "logs"),
                                    write_graph=False),
    ]
