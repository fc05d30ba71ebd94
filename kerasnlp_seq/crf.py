"""A linear-chain conditional random field for Keras 3: layer, loss, decoding.

Keras 3 has no CRF since tensorflow-addons ended. This one is written with
`keras.ops` only, so it trains with `fit`, runs inside `tf.function` with a
dynamic time dimension, saves to `.keras` and exports to a SavedModel.

The user's model stays an ordinary functional model. `CRF` takes emission
scores from a `Dense(num_tags)` layer and returns two tensors, both masked:

- `tags`: int32 `(batch, time)`, the Viterbi-decoded tag ids (0 on padding);
- `potentials`: float32 `(batch, time, num_tags, num_tags)`, the per-step
  scores `transitions[i, j] + emissions[t, j]` (start and end folded in).

`CRFLoss` is a plain function of `potentials` and the gold tag ids, so a
compiled model saves and reloads with no custom state. Name the two outputs
and put the loss on `potentials` only: `fit(x, y)` then takes the int tag
ids `y` (padding values ignored, through the Keras mask, which must be a
right-padded prefix of True). For a token accuracy while training, pass `y`
for both outputs: `fit(x, {"tags": y, "potentials": y})` with
`metrics={"tags": [keras.metrics.Accuracy()]}` (masked steps excluded).
Keras' TF `scan` has a dynamic trip count, so the layer opts out of XLA
(`jit_compile="auto"` then stays off). The algorithms themselves (scores,
forward algorithm, Viterbi) are functions in `kerasnlp_seq.crf_ops`,
importable from here too.

Example:

>>> import numpy as np
>>> inputs = keras.Input(shape=(None,), dtype="int32")
>>> x = keras.layers.Embedding(10, 8, mask_zero=True)(inputs)
>>> x = keras.layers.Dense(3)(x)
>>> tags, potentials = CRF(3, name="crf")(x)
>>> model = keras.Model(inputs, {"tags": tags, "potentials": potentials})
>>> model.compile("adam", loss={"potentials": CRFLoss()})
>>> x_data = np.array([[1, 2, 3, 0], [4, 5, 0, 0]])
>>> y_data = np.array([[0, 1, 2, 0], [2, 1, 0, 0]])
>>> history = model.fit(x_data, y_data, epochs=1, verbose=0)
>>> model.predict(x_data, verbose=0)["tags"].shape
(2, 4)
"""

import keras
from keras import ops

from kerasnlp_seq.crf_ops import (
    crf_log_likelihood, crf_log_partition, crf_potentials, potentials_decode,
    potentials_log_partition, potentials_score, viterbi_decode)

__all__ = ["CRF", "CRFLoss", "FORBIDDEN", "crf_log_likelihood",
           "crf_log_partition", "crf_potentials", "potentials_decode",
           "potentials_log_partition", "potentials_score", "viterbi_decode"]

try:  # The mask Keras attaches to tensors; no public accessor in Keras 3.
    from keras.src.backend import get_keras_mask as _get_keras_mask
except ImportError:  # pragma: no cover
    def _get_keras_mask(x):
        return getattr(x, "_keras_mask", None)


FORBIDDEN = -10000.0  # added to the score of a forbidden transition


def _bool_table(values, shape, name):
    """`values` as nested lists of bool of `shape`, or None; else ValueError."""
    if values is None:
        return None

    def check(x, dims):
        if not dims:
            if not isinstance(x, (bool, int)) or x not in (0, 1):
                raise ValueError
            return bool(x)
        if len(x) != dims[0]:
            raise ValueError
        return [check(v, dims[1:]) for v in x]

    try:
        return check(values.tolist() if hasattr(values, "tolist") else values,
                     shape)
    except (ValueError, TypeError):
        raise ValueError(
            f"`{name}` for `CRF` must be None or bools of shape {shape}. "
            f"Received: {name}={values!r}") from None


def _penalty(allowed):
    """0 where allowed, `FORBIDDEN` elsewhere (float32 constant)."""
    import numpy as np

    return ops.convert_to_tensor(
        np.where(np.array(allowed, dtype=bool), 0.0, FORBIDDEN).astype(
            "float32"))


@keras.saving.register_keras_serializable(package="kerasnlp_seq")
class CRF(keras.layers.Layer):
    """Linear-chain CRF head: decodes tags and exposes scores for `CRFLoss`.

    Owns a learned `transitions` matrix (from-tag by to-tag) and `start` and
    `end` vectors. Computes in float32 whatever the dtype policy.

    Constraints (optional, e.g. `tagging.allowed_transitions` for BIOES: no
    `I-PER` after `O`): a forbidden transition, first tag or last tag gets a
    fixed score of -10000 added to its learned one, in training (the loss
    then normalises over well-formed paths only) and in decoding (Viterbi
    never returns an ill-formed path when a well-formed one exists). They
    are part of the layer's config, not weights.

    Args:
        num_tags: int. The number of tags; the input's last dimension.
        allowed_transitions: None, or `(num_tags, num_tags)` nested lists of
            bool: whether tag `j` may follow tag `i` (`[i][j]`).
        allowed_start: None, or `num_tags` bools: may a sequence start with
            each tag.
        allowed_end: None, or `num_tags` bools: may a sequence end with it.
        **kwargs: Base layer keyword arguments, such as `name`.

    Call arguments:
        inputs: float `(batch, time, num_tags)` emission scores.
        mask: bool `(batch, time)`, right-padded; usually passed by Keras.

    Returns:
        `(tags, potentials)`: int32 `(batch, time)` Viterbi tag ids (0 on
        padding) and float32 `(batch, time, num_tags, num_tags)` scores for
        `CRFLoss`. Both carry the input mask.

    Example:

    >>> crf = CRF(4)
    >>> tags, potentials = crf(keras.ops.zeros((2, 5, 4)))
    >>> tuple(tags.shape), tuple(potentials.shape)
    ((2, 5), (2, 5, 4, 4))
    """

    def __init__(self, num_tags, allowed_transitions=None, allowed_start=None,
                 allowed_end=None, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(num_tags, int) or isinstance(num_tags, bool) or num_tags < 1:
            raise ValueError(
                "`num_tags` for `CRF` must be a positive int. "
                f"Received: num_tags={num_tags!r}")
        self.num_tags = num_tags
        k = num_tags
        self.allowed_transitions = _bool_table(
            allowed_transitions, (k, k), "allowed_transitions")
        self.allowed_start = _bool_table(allowed_start, (k,), "allowed_start")
        self.allowed_end = _bool_table(allowed_end, (k,), "allowed_end")
        self.supports_masking = True
        # Keras' TF `scan` is a while loop of dynamic length: no XLA gradient.
        self.supports_jit = False

    def build(self, input_shape):
        if input_shape[-1] != self.num_tags:
            raise ValueError(
                f"`CRF` expects emissions with last dimension num_tags="
                f"{self.num_tags}. Received: input_shape={tuple(input_shape)}")
        k = self.num_tags
        # autocast=False keeps the weights float32 under mixed precision.
        self.transitions = self.add_weight(
            shape=(k, k), initializer="zeros", name="transitions", autocast=False)
        self.start_transitions = self.add_weight(
            shape=(k,), initializer="zeros", name="start_transitions",
            autocast=False)
        self.end_transitions = self.add_weight(
            shape=(k,), initializer="zeros", name="end_transitions",
            autocast=False)

    def _weights(self):
        weights = (self.transitions, self.start_transitions,
                   self.end_transitions)
        allowed = (self.allowed_transitions, self.allowed_start,
                   self.allowed_end)
        return tuple(w if a is None else ops.cast(w, "float32") + _penalty(a)
                     for w, a in zip(weights, allowed))

    def call(self, inputs, mask=None):
        potentials = crf_potentials(inputs, mask, *self._weights())
        tags, _ = potentials_decode(potentials, mask)
        return tags, potentials

    def compute_mask(self, inputs, mask=None):
        return None if mask is None else (mask, mask)

    def compute_output_spec(self, inputs, mask=None):
        batch_time = tuple(inputs.shape[:2])
        k = self.num_tags
        return (keras.KerasTensor(batch_time, dtype="int32"),
                keras.KerasTensor(batch_time + (k, k), dtype="float32"))

    def decode(self, emissions, mask=None):
        """Viterbi `(tags, scores)` for emissions, with this layer's weights."""
        return viterbi_decode(emissions, mask, *self._weights())

    def log_likelihood(self, emissions, tags, mask=None):
        """Log-probability `(batch,)` of `tags`, with this layer's weights."""
        return crf_log_likelihood(emissions, tags, mask, *self._weights())

    def get_config(self):
        return {**super().get_config(), "num_tags": self.num_tags,
                "allowed_transitions": self.allowed_transitions,
                "allowed_start": self.allowed_start,
                "allowed_end": self.allowed_end}


@keras.saving.register_keras_serializable(package="kerasnlp_seq")
class CRFLoss(keras.losses.Loss):
    """Negative CRF log-likelihood, read from `CRF`'s `potentials` output.

    The gold tags `y_true` are int `(batch, time)`; padded steps (from the
    Keras mask on `y_pred`) are ignored. Reduces per sequence: the default
    `"sum_over_batch_size"` is the mean negative log-likelihood per sequence.

    Args:
        name: str. The loss name.
        reduction: str. As for any Keras loss.

    Example:

    >>> p = CRF(3)(keras.ops.zeros((1, 2, 3)))[1]
    >>> round(float(CRFLoss()(keras.ops.array([[0, 1]]), p)), 4)  # log(9)
    2.1972
    """

    def __init__(self, name="crf_loss", reduction="sum_over_batch_size",
                 dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)

    def call(self, y_true, y_pred, mask=None):
        if mask is None:
            mask = _get_keras_mask(y_pred)
        return -(potentials_score(y_pred, y_true, mask)
                 - potentials_log_partition(y_pred, mask))

    def __call__(self, y_true, y_pred, sample_weight=None):
        # The base class would apply the (batch, time) mask to our (batch,)
        # loss; read the mask here and reduce per sequence instead.
        losses = self.call(y_true, y_pred, _get_keras_mask(y_pred))
        weight = ops.ones_like(losses)
        if sample_weight is not None:
            weight = ops.reshape(ops.cast(sample_weight, "float32"), (-1,))
            losses = losses * weight
        if self.reduction in (None, "none"):
            return losses
        if self.reduction == "sum":
            return ops.sum(losses)
        if self.reduction == "mean_with_sample_weight":
            return ops.divide_no_nan(ops.sum(losses), ops.sum(weight))
        return ops.mean(losses)
