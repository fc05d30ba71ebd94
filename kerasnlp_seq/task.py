"""The `Task` base class: what a task module declares, and nothing more.

A task module subclasses `Task`, sets `name`, `summary` and `Config` (a flat
frozen dataclass), registers itself with `@register_task`, and fills in the
methods below by assembling library parts. The training run
(`kerasnlp_seq.runs`) and the CLI drive every task through this interface
alone, so adding a task touches only its own module.

This module imports nothing heavy; task modules should keep TensorFlow and
Keras imports lazy too (`kerasnlp_seq.lazy`), so that listing tasks and
printing `--help` stay fast.
"""

import random


class Task:
    """Base class of a task. Subclasses assemble; the runner drives.

    Class attributes:
        name: str. The registered name (`kerasnlp-seq train NAME`).
        summary: str. One line for `kerasnlp-seq tasks`.
        Config: type. The task's frozen config dataclass.
        monitor: tuple. `(metric, mode)` that early stopping watches.
        layer_modules: tuple of str. Modules outside the toolkit whose
            import registers custom Keras classes this task's models use
            (`load_model` imports them after `kerasnlp_seq.layers`, which
            registers all of the toolkit's own).
        input_help: str. What `predict` reads, for the CLI help.
        train_defaults: dict. This task's defaults for `TrainConfig`
            fields (e.g. a larger batch), applied before a config file
            and command-line options.
        inference_options: tuple of str. Config fields that a finished
            run may change for one `evaluate` / `predict` / `export`
            (`--set beam_width=10`): decoding settings, and how to read
            the data given to the command (columns, an image folder);
            never what the trained weights or vocabularies depend on.
    """

    name = None
    summary = ""
    Config = None
    monitor = ("val_loss", "min")
    layer_modules = ()
    input_help = "one text per line"
    train_defaults = {}
    inference_options = ()

    def __init__(self, config=None):
        self.config = config if config is not None else self.Config()

    # ----------------------------------------------------------------- data
    def default_data(self):
        """Path of the bundled sample data, or None if the task has none."""
        return None

    def read(self, spec, role):
        """Read examples from a data spec (a path or `tfds:NAME`).

        Args:
            spec: str. A file, a folder, or `tfds:NAME[?split=S]`.
            role: str. `"train"`, `"valid"` or `"eval"` (picks TFDS splits).

        Returns:
            A list of examples (the task's own plain-Python records).
        """
        raise NotImplementedError

    def split_validation(self, examples, fraction, seed):
        """Hold back a seeded fraction of `examples` for validation."""
        order = list(range(len(examples)))
        random.Random(seed).shuffle(order)
        n_valid = max(1, int(round(len(examples) * fraction)))
        valid = [examples[i] for i in order[:n_valid]]
        train = [examples[i] for i in order[n_valid:]]
        return train, valid

    # -------------------------------------------------------- preprocessing
    def adapt(self, examples):
        """Fit preprocessing (vocabularies, label lists) on training data."""
        raise NotImplementedError

    def save_assets(self, directory):
        """Write the fitted preprocessing into a run directory."""
        raise NotImplementedError

    def load_assets(self, directory):
        """Read the fitted preprocessing back from a run directory."""
        raise NotImplementedError

    # ---------------------------------------------------------------- model
    def build_model(self):
        """The uncompiled `keras.Model`, assembled from library parts."""
        raise NotImplementedError

    def compile_args(self):
        """`dict(loss=..., metrics=[...])` for `model.compile`."""
        raise NotImplementedError

    def dataset(self, examples, batch_size, training, seed=None,
                batch_tokens=None):
        """A `tf.data.Dataset` of `(inputs, targets)` batches.

        `batch_tokens`, when set, caps the padded tokens per batch instead of
        the example count (`kerasnlp_seq.pipeline`); `batch_size` is then
        only an upper bound on examples per batch.
        """
        raise NotImplementedError

    def load_model(self, path):
        """Reload `model.keras` (safe mode), registering custom layers."""
        import importlib

        import keras

        from kerasnlp_seq.errors import RunError

        for module in ("kerasnlp_seq.layers", *self.layer_modules):
            importlib.import_module(module)
        try:
            return keras.saving.load_model(path)
        except Exception as e:  # Keras raises many types for a bad file
            reason = (str(e).strip().splitlines() or [type(e).__name__])[0]
            raise RunError(
                f"{path}: cannot load the model ({reason[:200]}); the file is "
                "damaged, or was written by another version.") from None

    # ------------------------------------------------------------ results
    def after_fit(self, model, train, valid, run_dir):
        """Hook after training (e.g. choose a decision threshold)."""

    def evaluate(self, model, examples, run_dir=None):
        """Flat metrics dict on `examples`; may write plots into `run_dir`."""
        raise NotImplementedError

    def predict(self, model, inputs):
        """Readable answers (JSON-ready dicts) for raw inputs."""
        raise NotImplementedError

    def plot_attention(self, model, raw, path):
        """Draw the attention weights of one input into a PNG at `path`."""
        from kerasnlp_seq.errors import RunError

        raise RunError(f"task {self.name!r} has no attention to plot.")

    def format_prediction(self, raw, answer):
        """One human-readable line for an input and its answer."""
        return f"{answer}\t{raw}"

    def export(self, model, path):
        """Write a SavedModel taking raw inputs and giving readable outputs."""
        raise NotImplementedError
