"""Log gradient norms and how often clipping fires, while a model trains.

Keras 3 `fit()` computes gradients inside its compiled train step and never
shows them to callbacks. `GradientNormLogger` therefore measures them
itself, with `tf.GradientTape`, on data it is given:

- every `every_n_batches` training batches it draws a random batch of
  `batch_size` rows and computes the gradient norm of every trainable weight
  at the current weights. Clipping "fires" on that batch when a weight's
  norm exceeds `clipnorm` (Keras clips each weight on its own) or the global
  norm exceeds `global_clipnorm`; `clip_fraction` is the share of sampled
  batches where it fired: an estimate of the share of training steps.
- at the end of each epoch it computes the norm per layer on a fixed probe
  batch (the first `batch_size` rows), so epochs are comparable.

Cost: one extra forward and backward pass per sampled batch and one per
epoch, i.e. about `1 / every_n_batches` of the training compute. The model
runs with `training=False` (dropout off, no batch-norm updates), so the norms
are those of the deterministic model, not of one dropout draw.
"""

import numpy as np

from kerasnlp_seq import diagnostics
from kerasnlp_seq.errors import ConfigError
from kerasnlp_seq.lazy import keras, tf


class GradientNormLogger(keras.callbacks.Callback):
    """Adds gradient norms and the clip fraction to the epoch logs.

    Keys added to `logs` at each epoch end (so `History`, `CSVLogger` and
    `TensorBoard` callbacks placed after it see them):
    `grad_norm/<layer>` and `grad_norm/global` (probe batch),
    `grad_norm/batch_mean` and `grad_norm/batch_max` (sampled batches) and,
    when a clipping threshold is known, `clip_fraction`. With `log_dir`,
    the same values are written as TensorBoard scalars at step `epoch`.

    Args:
        x: array. Inputs to sample batches from (typically the training
            inputs, or a representative subset).
        y: array. The matching targets.
        loss: str, `keras.losses.Loss`, callable or None. None uses the
            model's compiled loss.
        batch_size: int. Rows per sampled batch; use the training batch
            size so the norms match the optimizer's.
        every_n_batches: int. Sample one batch every this many batches.
        clipnorm: float or None. The per-weight threshold; None reads the
            optimizer's `clipnorm`.
        global_clipnorm: float or None. The global threshold; None reads
            the optimizer's `global_clipnorm`.
        log_dir: str or None. A TensorBoard log folder.
        seed: int. Seeds the batch sampling.

    Example:

    >>> import keras, numpy as np
    >>> from kerasnlp_seq.gradient_callback import GradientNormLogger
    >>> x, y = np.ones((8, 5, 2)), np.zeros((8, 1))
    >>> model = keras.Sequential([keras.Input((5, 2)),
    ...                           keras.layers.GRU(4, name="gru"),
    ...                           keras.layers.Dense(1, name="out")])
    >>> model.compile(keras.optimizers.SGD(clipnorm=1.0), "mse")
    >>> logger = GradientNormLogger(x, y, batch_size=4, every_n_batches=1)
    >>> h = model.fit(x, y, batch_size=4, epochs=1, verbose=0,
    ...               callbacks=[logger])
    >>> sorted(k for k in h.history if k != "loss")[:2]
    ['clip_fraction', 'grad_norm/batch_max']
    """

    def __init__(self, x, y, loss=None, batch_size=32, every_n_batches=10,
                 clipnorm=None, global_clipnorm=None, log_dir=None, seed=0):
        super().__init__()
        x, y = np.asarray(x), np.asarray(y)
        if len(x) == 0 or len(x) != len(y):
            raise ConfigError(
                "Invalid `x`, `y` for `GradientNormLogger`. Expected the "
                "same non-zero number of rows. Received: "
                f"{len(x)} and {len(y)} rows")
        for name, value in (("batch_size", batch_size),
                            ("every_n_batches", every_n_batches)):
            if isinstance(value, bool) or not isinstance(value, int) \
                    or value < 1:
                raise ConfigError(
                    f"Invalid `{name}` for `GradientNormLogger`. Expected a "
                    f"positive int. Received: {name}={value!r}")
        for name, value in (("clipnorm", clipnorm),
                            ("global_clipnorm", global_clipnorm)):
            if value is not None and not value > 0:
                raise ConfigError(
                    f"Invalid `{name}` for `GradientNormLogger`. Expected "
                    f"None or a positive float. Received: {name}={value!r}")
        self.x, self.y, self.loss = x, y, loss
        self.batch_size = batch_size
        self.every_n_batches = every_n_batches
        self.clipnorm, self.global_clipnorm = clipnorm, global_clipnorm
        self.log_dir = log_dir
        self._rng = np.random.default_rng(seed)
        self._writer = None

    def on_train_begin(self, logs=None):
        loss_fn = diagnostics.resolve_loss(self.model, self.loss,
                                           "GradientNormLogger")
        self._groups = diagnostics.weight_groups(self.model)
        variables = [v for _, vs in self._groups for v in vs]
        model = self.model

        def norms(x, y):
            return diagnostics.variable_gradient_norms(model, loss_fn,
                                                       variables, x, y)

        self._norms = tf.function(norms, reduce_retracing=True)
        optimizer = getattr(model, "optimizer", None)
        self._clip = self.clipnorm or getattr(optimizer, "clipnorm", None)
        self._global_clip = self.global_clipnorm or getattr(
            optimizer, "global_clipnorm", None)
        if self.log_dir is not None and self._writer is None:
            self._writer = tf.summary.create_file_writer(str(self.log_dir))

    def on_epoch_begin(self, epoch, logs=None):
        self._sampled = []
        self._fired = 0

    def on_train_batch_end(self, batch, logs=None):
        if batch % self.every_n_batches:
            return
        n = len(self.x)
        rows = self._rng.choice(n, size=self.batch_size,
                                replace=n < self.batch_size)
        norms = np.asarray(self._norms(self.x[rows], self.y[rows]),
                           dtype="float64")
        global_norm = float(np.sqrt(np.sum(np.square(norms))))
        self._sampled.append(global_norm)
        if (self._clip and not np.all(norms <= self._clip)) or (
                self._global_clip and not global_norm <= self._global_clip):
            self._fired += 1

    def on_epoch_end(self, epoch, logs=None):
        logs = {} if logs is None else logs
        probe = slice(0, self.batch_size)
        norms = np.asarray(self._norms(self.x[probe], self.y[probe]),
                           dtype="float64")
        values = {f"grad_norm/{name}": value for name, value in
                  diagnostics.group_norms(self._groups, norms).items()}
        values["grad_norm/global"] = float(np.sqrt(np.sum(np.square(norms))))
        if self._sampled:
            values["grad_norm/batch_mean"] = float(np.mean(self._sampled))
            values["grad_norm/batch_max"] = float(np.max(self._sampled))
            if self._clip or self._global_clip:
                values["clip_fraction"] = self._fired / len(self._sampled)
        logs.update(values)
        if self._writer is not None:
            with self._writer.as_default(step=epoch):
                for name, value in values.items():
                    tf.summary.scalar(name, value)
            self._writer.flush()

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def clipping_experiment(clipnorm=1.0, cell="simple_rnn", recurrent_gain=3.0,
                        seq_len=50, units=32, learning_rate=0.1,
                        num_samples=512, batch_size=32, epochs=3, seed=0):
    """Trains a deliberately exploding RNN with and without `clipnorm`.

    The model reads the adding problem (`kerasnlp_seq.probes`) with one
    recurrent layer from the shared builder whose recurrent kernel is set
    to an orthogonal matrix times `recurrent_gain` (> 1 puts a tanh RNN in
    its chaotic, exploding-gradient regime), and is trained twice from the
    same initial weights with plain SGD: once unclipped, once with
    `clipnorm`. A `GradientNormLogger` records the gradient norms and how
    often clipping fired.

    Args:
        clipnorm: float. The clipped run's per-weight clipping threshold.
        cell: str. `"simple_rnn"`, `"lstm"` or `"gru"`.
        recurrent_gain: float. Scale of the orthogonal recurrent kernel.
        seq_len: int. Sequence length.
        units: int. Recurrent units.
        learning_rate: float. SGD learning rate.
        num_samples: int. Training sequences.
        batch_size: int. Batch size.
        epochs: int. Epochs per run.
        seed: int. Seeds data and weights.

    Returns:
        dict with `"unclipped"` and `"clipped"`, each holding the per-epoch
        `history` (loss and logger keys), `final_loss` and `finite` (every
        epoch's loss finite and below 1e6). Both runs' loggers use
        `clipnorm`, so the unclipped run's `clip_fraction` says how often
        clipping would have fired.

    Example:

    >>> from kerasnlp_seq.gradient_callback import clipping_experiment
    >>> out = clipping_experiment(seq_len=10, num_samples=32, epochs=1)
    >>> sorted(out)
    ['clipped', 'unclipped']
    """
    from kerasnlp_seq.builder import build_recurrent
    from kerasnlp_seq.probes import adding_problem

    x, y = adding_problem(num_samples, seq_len=seq_len, seed=seed)
    out = {}
    for run, clip in (("unclipped", None), ("clipped", clipnorm)):
        keras.utils.set_random_seed(seed)
        inputs = keras.Input((seq_len, 2))
        stack = build_recurrent(cell=cell, units=units, name="encoder")
        outputs = keras.layers.Dense(1, name="regressor")(stack(inputs))
        model = keras.Model(inputs, outputs)
        kernel = stack.layers[0].cell.recurrent_kernel
        kernel.assign(recurrent_gain * keras.initializers.Orthogonal(
            seed=seed)(kernel.shape))
        model.compile(keras.optimizers.SGD(learning_rate, clipnorm=clip),
                      loss="mse")
        logger = GradientNormLogger(x, y, batch_size=batch_size,
                                    every_n_batches=1, clipnorm=clipnorm,
                                    seed=seed)
        history = model.fit(x, y, batch_size=batch_size, epochs=epochs,
                            shuffle=False, verbose=0, callbacks=[logger])
        losses = np.asarray(history.history["loss"], dtype="float64")
        out[run] = {"history": history.history,
                    "final_loss": float(losses[-1]),
                    "finite": bool(np.all(np.isfinite(losses))
                                   and np.all(losses < 1e6))}
    return out
