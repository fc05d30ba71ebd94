"""Small Keras layers the stock set lacks, registered for `.keras` reloads.

Importing this module also registers the builder's recurrent layers
(`kerasnlp_seq.recurrent`), so `import kerasnlp_seq.layers` is the one
import a script needs before `keras.saving.load_model` of a toolkit model.
"""

import keras
from keras import ops

from kerasnlp_seq import recurrent  # noqa: F401  (registers FastLSTM, ...)


@keras.saving.register_keras_serializable(package="kerasnlp_seq")
class MaskedGlobalPooling(keras.layers.Layer):
    """Pool a masked sequence over time: `max`, `mean`, or both concatenated.

    Keras 3's `GlobalMaxPooling1D` ignores masks, so padding would leak into
    the max; this layer excludes masked steps from both statistics.

    Args:
        mode: str. `"max"`, `"mean"` or `"max_mean"` (features concatenated).

    Example:

    >>> x = keras.ops.ones((2, 5, 3))
    >>> tuple(MaskedGlobalPooling("max_mean")(x).shape)
    (2, 6)
    """

    MODES = ("max", "mean", "max_mean")

    def __init__(self, mode="max", **kwargs):
        super().__init__(**kwargs)
        if mode not in self.MODES:
            raise ValueError(
                "Unknown `mode` for `MaskedGlobalPooling`. Expected one of "
                f"{list(self.MODES)}. Received: mode={mode!r}")
        self.mode = mode
        self.supports_masking = True

    def call(self, inputs, mask=None):
        if mask is None:
            mask = ops.ones(ops.shape(inputs)[:2], dtype="bool")
        m = ops.expand_dims(ops.cast(mask, inputs.dtype), -1)
        count = ops.sum(m, axis=1)
        outputs = []
        if self.mode in ("max", "max_mean"):
            very_negative = ops.cast(-1e9 if inputs.dtype == "float32"
                                     else -6e4, inputs.dtype)
            masked = inputs * m + (1.0 - m) * very_negative
            # An all-masked (empty) sequence pools to zeros, not -1e9.
            outputs.append(ops.max(masked, axis=1) * ops.cast(
                count > 0, inputs.dtype))
        if self.mode in ("mean", "max_mean"):
            total = ops.sum(inputs * m, axis=1)
            outputs.append(total / ops.maximum(count, 1.0))
        return outputs[0] if len(outputs) == 1 else ops.concatenate(outputs, -1)

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        width = input_shape[-1]
        if self.mode == "max_mean" and width is not None:
            width *= 2
        return (input_shape[0], width)

    def get_config(self):
        return {**super().get_config(), "mode": self.mode}
