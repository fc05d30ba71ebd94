"""The callbacks of a training run, in the order that keeps it resumable.

`make_callbacks` puts everything that adds to an epoch's logs or changes
the optimizer first, then the epoch's row of `history.csv`, then the
backup that marks the epoch done, then what reads the weights the backup
saved (`--ema`'s swap, early stopping). So a run killed at any point
resumes with every finished epoch in its history exactly once: a kill
between the row and the backup trains that epoch again, and `EpochHistory`
drops the row it replaces.
"""

import csv
import os
import time

import keras

from kerasnlp_seq.early_stopping import ResumableEarlyStopping


class EpochTimer(keras.callbacks.Callback):
    """Adds `epoch_seconds` (wall time of the epoch) to the epoch logs."""

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["epoch_seconds"] = time.perf_counter() - self._start


class DistributedBackupAndRestore(keras.callbacks.BackupAndRestore):
    """`BackupAndRestore` whose restore directory may differ from its own.

    Non-chief workers of a multi-worker run save their backups to a
    temporary directory and restore from the chief's; on one process both
    are the same directory.

    Args:
        backup_dir: str. Where this process saves its backups.
        restore_dir: str or None. Where to restore from (default:
            `backup_dir`).
    """

    def __init__(self, backup_dir, restore_dir=None):
        # The previous epoch's copy is kept (a kill while the weights are
        # written leaves it to resume from), and the backup outlives `fit`:
        # the run deletes it once its results are written, so a kill
        # between the end of `fit` and the saved model loses nothing.
        super().__init__(backup_dir, double_checkpoint=True,
                         delete_checkpoint=False)
        self.restore_dir = restore_dir or backup_dir

    def on_train_begin(self, logs=None):
        from kerasnlp_seq.errors import RunError

        try:
            super().on_train_begin(logs)
        except OSError as e:  # damaged, and no earlier copy to fall back on
            raise RunError(
                f"{self.restore_dir}: the backup of the interrupted run "
                f"cannot be read ({str(e).splitlines()[0]}); delete that "
                "folder to resume from the start.") from None

    def _load_model(self):
        saved = (self._weights_path, self._training_metadata_path)
        self._weights_path = os.path.join(self.restore_dir,
                                          "latest.weights.h5")
        self._training_metadata_path = os.path.join(
            self.restore_dir, "training_metadata.json")
        try:
            super()._load_model()
        finally:
            self._weights_path, self._training_metadata_path = saved



class TimeLimit(keras.callbacks.Callback):
    """Stops training once `minutes` of it have passed.

    Checked after every batch, so a run never trains much past its budget;
    Keras still validates the cut epoch, and `EarlyStopping` restores the
    best weights at the end as usual.

    Args:
        minutes: float. The training budget.
    """

    def __init__(self, minutes):
        super().__init__()
        self.seconds = 60.0 * minutes
        self.stopped_epoch = None  # the epoch that was cut, if any

    def on_train_begin(self, logs=None):
        self._start = time.perf_counter()

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if (self.stopped_epoch is None
                and time.perf_counter() - self._start > self.seconds):
            self.model.stop_training = True
            self.stopped_epoch = self._epoch
            print(f"Time limit of {self.seconds / 60:g} min reached in "
                  f"epoch {self._epoch + 1}: stopping.", flush=True)


class CosineDecay(keras.callbacks.Callback):
    """Cosine learning-rate decay over the run's epochs or its time budget.

    The rate falls from `peak` to `peak * final_ratio` along half a cosine
    as training progresses. Progress is the fraction of `epochs` done,
    updated at each epoch's start; with `minutes` it is also the fraction of
    the time budget used, updated before every batch, and the larger of
    the two counts. So a run capped by `--time-limit` reaches its lowest
    rate when the cap stops it, however many epochs the machine manages
    (the schedule `ReduceLROnPlateau` cannot plan: it only reacts).

    On resume the epoch count comes back with the backup; the clock starts
    again from zero, as `TimeLimit`'s does.

    Args:
        peak: float. The starting learning rate.
        epochs: int. The run's epoch budget.
        minutes: float or None. The run's time budget.
        final_ratio: float. The last rate as a fraction of `peak`.
    """

    def __init__(self, peak, epochs, minutes=None, final_ratio=0.0):
        super().__init__()
        self.peak = float(peak)
        self.epochs = int(epochs)
        self.seconds = 60.0 * minutes if minutes else None
        self.final_ratio = float(final_ratio)
        self._epoch = 0
        self._rate = None
        self.clock = time.perf_counter

    def rate(self, progress):
        """The learning rate at `progress` in [0, 1] of the run."""
        import math

        progress = min(max(progress, 0.0), 1.0)
        cosine = 0.5 * (1.0 + math.cos(math.pi * progress))
        return self.peak * (self.final_ratio
                            + (1.0 - self.final_ratio) * cosine)

    def _progress(self):
        done = self._epoch / self.epochs
        if self.seconds:
            done = max(done, (self.clock() - self._start) / self.seconds)
        return done

    def _set(self):
        rate = self.rate(self._progress())
        if rate != self._rate:
            self.model.optimizer.learning_rate = rate
            self._rate = rate

    def on_train_begin(self, logs=None):
        self._start = self.clock()

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        self._set()

    def on_train_batch_begin(self, batch, logs=None):
        if self.seconds:
            self._set()

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = float(keras.ops.convert_to_numpy(
                self.model.optimizer.learning_rate))


class EpochHistory(keras.callbacks.CSVLogger):
    """`CSVLogger` whose file keeps one row per finished epoch across resumes.

    It writes an epoch's row before the backup marks the epoch done (see
    `make_callbacks`), so a kill between the two leaves a row for an epoch
    the resumed run trains again. On resume (`append=True`) it therefore
    drops the rows from the first epoch it is shown onwards, before it
    writes that epoch's row. It opens the file at that first epoch's end,
    when the backup has restored, not at the start of training.

    Args:
        filename: str. The CSV file.
        append: bool. Continue an existing file (resume).
    """

    def __init__(self, filename, append=False):
        super().__init__(filename, append=append)
        self._opened = False

    def on_train_begin(self, logs=None):
        self._opened = False

    def on_epoch_end(self, epoch, logs=None):
        if not self._opened:
            if self.append:
                _drop_rows_from(self.filename, epoch)
            super().on_train_begin()
            self._opened = True
        super().on_epoch_end(epoch, logs)


def _drop_rows_from(path, epoch):
    """Rewrite the CSV history at `path` without its rows for `epoch` and
    later (by its `epoch` column); a missing file is left missing."""
    try:
        with open(path, newline="") as f:
            rows = list(csv.reader(f))
    except FileNotFoundError:
        return
    if not rows or "epoch" not in rows[0]:
        return
    column = rows[0].index("epoch")
    kept = [rows[0]] + [row for row in rows[1:] if len(row) > column
                        and row[column].isdigit()
                        and int(row[column]) < epoch]
    if len(kept) == len(rows):
        return
    with open(path + ".tmp", "w", newline="") as f:
        csv.writer(f).writerows(kept)
    os.replace(path + ".tmp", path)


def make_callbacks(task, train_config, run_dir, resume=False,
                   gradient_probe=None, restore_dir=None):
    """Resume state, early stopping, learning-rate decay, history and logs.

    `BackupAndRestore` (in `run_dir/backup`) lets an interrupted run
    continue from its last finished epoch; early stopping watches the
    task's monitor and restores the best weights, and keeps its state in
    the backup too (`kerasnlp_seq.early_stopping`), so a resumed run still
    knows its best epoch. With
    `train_config.lr_decay_patience`, `ReduceLROnPlateau` watches the same
    monitor (it runs before the backup, so a rate it lowers is saved with
    the optimizer's state; the plateau counter starts again from zero on
    resume). With `train_config.lr_schedule == "cosine"`, `CosineDecay`
    lowers the rate over the epochs or the `time_limit`, whichever runs
    out first.

    The order is the module's: log-adding and optimizer-changing callbacks,
    then `history.csv` (`EpochHistory`), then the backup, then the rest.

    With `train_config.ema`, `SwapEMAWeights` puts the averaged weights in
    the model for validation and for the end-of-epoch callbacks after the
    backup: the backup holds the raw weights (the averages are optimizer
    variables, saved with them), while early stopping keeps and restores
    the averaged ones, so the best epoch's averaged weights become the
    run's model. Validation (and so the logs and the learning-rate decay)
    scores the averaged weights; gradient norms are those of the raw
    weights that training updates.

    Args:
        task: the `Task` being trained.
        train_config: `TrainConfig`.
        run_dir: str. Where this process writes (a temporary directory on
            non-chief workers).
        resume: bool. Append to the history of an interrupted run.
        gradient_probe: `(x, y)` or None. Log gradient norms on it.
        restore_dir: str or None. The backup to restore on resume when it
            is not this process's own (`run_dir/backup`).
    """
    monitor, mode = task.monitor
    backup = os.path.join(run_dir, "backup")
    callbacks = [EpochTimer()]
    if train_config.time_limit:
        callbacks.append(TimeLimit(train_config.time_limit))
    if train_config.lr_decay_patience is not None:
        callbacks.append(keras.callbacks.ReduceLROnPlateau(
            monitor=monitor, mode=mode, factor=train_config.lr_decay_factor,
            patience=train_config.lr_decay_patience,
            min_delta=train_config.lr_decay_min_delta, verbose=1))
    if train_config.lr_schedule == "cosine":
        callbacks.append(CosineDecay(
            train_config.learning_rate, train_config.epochs,
            minutes=train_config.time_limit,
            final_ratio=train_config.lr_final_ratio))
    if gradient_probe is not None:
        from kerasnlp_seq.gradient_callback import GradientNormLogger

        x, y = gradient_probe
        callbacks.append(GradientNormLogger(
            x, y, batch_size=min(train_config.batch_size, len(x)),
            log_dir=os.path.join(run_dir, "logs", "gradients"),
            seed=train_config.seed))
    return callbacks + [
        EpochHistory(os.path.join(run_dir, "history.csv"), append=resume),
        DistributedBackupAndRestore(backup, restore_dir=restore_dir),
        # After the backup (raw weights), before early stopping.
        *([keras.callbacks.SwapEMAWeights(swap_on_epoch=True)]
          if train_config.ema else []),
        ResumableEarlyStopping(
            backup, restore_dir=restore_dir, monitor=monitor, mode=mode,
            patience=train_config.patience, restore_best_weights=True,
            verbose=1),
        keras.callbacks.TensorBoard(os.path.join(run_dir, "logs"),
                                    write_graph=False),
    ]
