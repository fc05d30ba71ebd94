"""Optimizers, callbacks and precision for a training run, from a `TrainConfig`.

Mixed precision (`--mixed-precision mixed_float16 | mixed_bfloat16`) sets
Keras' global dtype policy while the model is built, so layers compute in
16-bit floats and keep float32 weights; every task's output layer is
float32 (`check_float32_outputs`), and for `mixed_float16`
`model.compile` wraps the optimizer in a `keras.optimizers.
LossScaleOptimizer` (Keras 3 does this itself, `auto_scale_loss=True`;
`make_optimizer` does it explicitly so it holds whoever compiles).
"""

import contextlib
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


@contextlib.contextmanager
def precision_policy(name):
    """Set Keras' global dtype policy for the block, then restore it.

    Args:
        name: str. `"none"` (float32), `"mixed_float16"` or
            `"mixed_bfloat16"`.
    """
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("float32" if name == "none" else name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def check_float32_outputs(model):
    """Raise `ValueError` unless every model output is float32.

    Under a mixed policy a final `Dense`/softmax computing in float16
    loses probability mass to rounding and overflows the loss; the output
    layers must be built with `dtype="float32"`.
    """
    import tensorflow as tf

    bad = [(o.name, str(o.dtype)) for o in tf.nest.flatten(model.outputs)
           if str(o.dtype) != "float32" and "float" in str(o.dtype)]
    if bad:
        raise ValueError(
            "Under mixed precision the model outputs must be float32 (build "
            f"the output layer with dtype='float32'). Received: {bad}")


def make_optimizer(train_config):
    """A Keras optimizer with the run's learning rate and gradient clipping.

    With `train_config.ema` it keeps a moving average of the weights
    (`use_ema`, with the warm-up of `warm_up_ema`; `make_callbacks` swaps
    it in for validation and at the end of each epoch). With
    `mixed_float16` it is wrapped in a `LossScaleOptimizer` (dynamic loss
    scaling, so small float16 gradients do not underflow to zero).

    Args:
        train_config: `TrainConfig`.
    """
    kwargs = {"learning_rate": train_config.learning_rate}
    if train_config.clipnorm:
        kwargs["clipnorm"] = train_config.clipnorm
    if train_config.clipvalue:
        kwargs["clipvalue"] = train_config.clipvalue
    if train_config.ema:
        kwargs.update(use_ema=True, ema_momentum=train_config.ema)
    classes = {"adam": keras.optimizers.Adam,
               "adamw": keras.optimizers.AdamW,
               "rmsprop": keras.optimizers.RMSprop,
               "sgd": keras.optimizers.SGD}
    optimizer = classes[train_config.optimizer](**kwargs)
    if optimizer.use_ema:
        warm_up_ema(optimizer)
    if getattr(train_config, "mixed_precision", "none") == "mixed_float16":
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer


def warm_up_ema(optimizer):
    """Average with momentum `min(m, (1 + t) / (10 + t))` at step `t`.

    Keras' `use_ema` averages with the constant `ema_momentum` m from the
    first step, so the starting point keeps a weight of m ** t: 64% after
    443 steps at m = 0.999 (one CoNLL-2003 epoch), and the averaged model
    validates far below the trained one for the first epochs. This is the
    warm-up of TensorFlow's `tf.train.ExponentialMovingAverage(decay,
    num_updates)`: the momentum is 0.5 at step 8, 0.9 at step 80 and m from
    step (10m - 1) / (1 - m) on (8991 for 0.999). The update replaces the
    optimizer instance's own (same variables, same order, same first step),
    so the saved optimizer is a plain Keras one.

    Args:
        optimizer: a `keras.optimizers.Optimizer` built with `use_ema=True`.
    """
    from keras import ops

    momentum = optimizer.ema_momentum

    def update(trainable_variables):
        step = ops.cast(optimizer.iterations, "float32")
        # Step 0 copies the weights: the averages start at zero.
        current = ops.minimum(momentum, (1.0 + step) / (10.0 + step)) * \
            ops.cast(ops.not_equal(step, 0.0), "float32")
        for var, average in zip(trainable_variables,
                                optimizer._model_variables_moving_average):
            if average is not None:
                m = ops.cast(current, var.dtype)
                average.assign(m * average + (1.0 - m) * var)

    optimizer._update_model_variables_moving_average = update
    return optimizer


def build_and_compile(task, train_config, strategy=None):
    """The task's model, built and compiled under the run's precision policy
    and inside the strategy's scope (when distributed), with `jit_compile`.

    Args:
        task: a `Task` with fitted preprocessing.
        train_config: `TrainConfig`.
        strategy: a `tf.distribute.Strategy` or None.
    """
    from kerasnlp_seq.errors import RunError

    scope = strategy.scope() if strategy else contextlib.nullcontext()
    with scope, precision_policy(train_config.mixed_precision):
        model = task.build_model()
        if train_config.mixed_precision != "none":
            try:
                check_float32_outputs(model)
            except ValueError as e:
                raise RunError(f"task {task.name!r}: {e}") from None
        # Off: Keras' own choice ("auto": XLA on a GPU where it can).
        jit = {"jit_compile": True} if train_config.jit_compile else {}
        model.compile(optimizer=make_optimizer(train_config), **jit,
                      **task.compile_args())
    return model


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


def make_callbacks(task, train_config, run_dir, resume=False,
                   gradient_probe=None, restore_dir=None):
    """Resume state, early stopping, learning-rate decay, history and logs.

    `BackupAndRestore` (in `run_dir/backup`) lets an interrupted run
    continue from its last finished epoch; early stopping watches the
    task's monitor and restores the best weights, and keeps its state in
    the backup too (`kerasnlp_seq.early_stopping`), so a resumed run still
    knows its best epoch. With
    `train_config.lr_decay_patience`, `ReduceLROnPlateau` watches the same
    monitor (on resume the decayed rate comes back with the optimizer's
    state; the plateau counter starts again from zero). With
    `train_config.lr_schedule == "cosine"`, `CosineDecay` lowers the rate
    over the epochs or the `time_limit`, whichever runs out first.

    With `train_config.ema`, `SwapEMAWeights` puts the averaged weights in
    the model for validation and for the end-of-epoch callbacks after the
    backup: the backup holds the raw weights (the averages are optimizer
    variables, saved with them), while early stopping, learning-rate decay
    and the logs see, keep and restore the averaged ones, so the best
    epoch's averaged weights become the run's model.

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
    callbacks = [
        EpochTimer(),
        *([TimeLimit(train_config.time_limit)]
          if train_config.time_limit else []),
        DistributedBackupAndRestore(os.path.join(run_dir, "backup"),
                                    restore_dir=restore_dir),
        # After the backup (raw weights), before everything that reads them.
        *([keras.callbacks.SwapEMAWeights(swap_on_epoch=True)]
          if train_config.ema else []),
        ResumableEarlyStopping(
            os.path.join(run_dir, "backup"), restore_dir=restore_dir,
            monitor=monitor, mode=mode, patience=train_config.patience,
            restore_best_weights=True, verbose=1),
    ]
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
