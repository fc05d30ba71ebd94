"""Losses of the generation tasks (translation, captioning).

`SmoothedSparseCrossentropy` is the teacher-forcing loss: sparse
cross-entropy over logits with optional label smoothing (Szegedy et al.
2016), which Keras's sparse loss lacks. Padding is excluded by the Keras
mask the decoder's logits carry.

A compiled model saves its loss in `model.keras`; `kerasnlp_seq.layers`
(which `Task.load_model` imports for every task) imports this module, so the
registered name resolves whichever task saved it.
"""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="kerasnlp_seq")
class SmoothedSparseCrossentropy(keras.losses.Loss):
    """Sparse categorical cross-entropy from logits, with label smoothing.

    The smoothed target puts `1 - label_smoothing` on the true class and
    spreads `label_smoothing` uniformly over all classes.

    Args:
        label_smoothing: float in [0, 1). 0 is plain cross-entropy.
        **kwargs: `keras.losses.Loss` arguments (`name`, `reduction`).

    Example:

    >>> import numpy as np
    >>> loss = SmoothedSparseCrossentropy(0.1)
    >>> logits = np.array([[[0.0, 2.0, 0.0]]])
    >>> round(float(loss(np.array([[1]]), logits)), 4)
    0.3729
    """

    def __init__(self, label_smoothing=0.0, name="smoothed_crossentropy",
                 **kwargs):
        super().__init__(name=name, **kwargs)
        if not 0.0 <= float(label_smoothing) < 1.0:
            raise ValueError(
                "`label_smoothing` must be in [0, 1). Received: "
                f"label_smoothing={label_smoothing!r}")
        self.label_smoothing = float(label_smoothing)

    def call(self, y_true, y_pred):
        y_pred = ops.cast(y_pred, "float32")
        nll = keras.losses.sparse_categorical_crossentropy(
            y_true, y_pred, from_logits=True)
        if not self.label_smoothing:
            return nll
        uniform = -ops.mean(ops.log_softmax(y_pred, axis=-1), axis=-1)
        return ((1.0 - self.label_smoothing) * nll
                + self.label_smoothing * uniform)

    def get_config(self):
        config = super().get_config()
        config.update({"label_smoothing": self.label_smoothing})
        return config
