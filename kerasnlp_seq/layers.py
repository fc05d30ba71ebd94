"""Small Keras layers the stock set lacks, registered for `.keras` reloads.

Importing this module also imports every other module of the toolkit that
registers a Keras class (recurrent layers, attention, CRF, character
encoders, captioner parts, losses, metrics: `REGISTERING_MODULES`), so
`import kerasnlp_seq.layers` is the one import a script needs before
`keras.saving.load_model` of any toolkit model or run's `model.keras`.
"""

import importlib

import keras
from keras import ops


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


@keras.saving.register_keras_serializable(package="kerasnlp_seq")
class TiedEmbedding(keras.layers.ReversibleEmbedding):
    """A token embedding that is also the softmax layer (tied weights).

    `layer(ids)` embeds tokens as `Embedding` does; `layer(x, reverse=True)`
    maps `(..., output_dim)` features to float32 logits
    `x @ embeddings^T / sqrt(output_dim) + bias` (Press & Wolf 2017; Inan
    et al. 2017), so the output layer adds only a bias to the model. The
    scale keeps the logits of unit-variance embeddings (the generation
    models' N(0, 1) start) near unit size: unscaled, 256-wide N(0, 1) rows
    give initial logits of standard deviation about 8, and on Multi30k the
    tied model trailed the untied one by 0.4 in validation loss after each
    of its first two epochs. (Scaled, a 55-minute Multi30k run still ended
    4.7 BLEU below the untied model: `benchmarks/RESULTS.md`.) Unlike its
    base, `keras.layers.ReversibleEmbedding`, the logits carry the mask of
    the features (a Keras loss then ignores padded steps), have a bias, and
    are float32 under a mixed-precision policy.

    Args:
        input_dim, output_dim, mask_zero, embeddings_initializer, ...: as
            `keras.layers.Embedding`.

    Example:

    >>> layer = TiedEmbedding(10, 4, mask_zero=True)
    >>> x = layer(keras.ops.convert_to_tensor([[3, 5, 0]]))
    >>> logits = layer(x, reverse=True)
    >>> tuple(logits.shape), logits._keras_mask.numpy().tolist()
    ((1, 3, 10), [[True, True, False]])
    """

    def __init__(self, input_dim, output_dim, **kwargs):
        kwargs.pop("tie_weights", None)
        kwargs.setdefault("reverse_dtype", "float32")
        super().__init__(input_dim, output_dim, tie_weights=True, **kwargs)

    def build(self, input_shape=None):
        if self.built:
            return
        super().build(input_shape)
        self.logit_bias = self.add_weight(
            shape=(self.input_dim,), initializer="zeros", name="logit_bias")

    def call(self, inputs, reverse=False):
        if not reverse:
            return super().call(inputs)
        logits = super().call(inputs, reverse=True)
        scale = ops.cast(1.0 / self.output_dim ** 0.5, logits.dtype)
        return logits * scale + ops.cast(self.logit_bias, logits.dtype)

    def compute_mask(self, inputs, mask=None):
        # Ids: the base class masks in `call`. Features: keep their mask.
        if keras.backend.is_int_dtype(inputs.dtype):
            return None
        return mask

    def compute_output_spec(self, inputs, reverse=False):
        spec = super().compute_output_spec(inputs, reverse=reverse)
        if reverse:
            return keras.KerasTensor(spec.shape, dtype=self.reverse_dtype)
        return spec

    @property
    def variable_serialization_spec(self):
        spec = super().variable_serialization_spec
        return {**spec, None: [*spec[None], "logit_bias"]}


# Last, so that modules importing names from this one find them defined.
# tests/test_layers.py checks this list against every
# `register_keras_serializable` in the package.
REGISTERING_MODULES = ("attention", "captioner", "char_features", "chars",
                       "crf", "entity_metric", "losses", "recurrent",
                       "tagger")
for _module in REGISTERING_MODULES:
    importlib.import_module(f"kerasnlp_seq.{_module}")
