"""Attention layers for recurrent encoder-decoders: Luong and Bahdanau.

Both layers are called as `context, weights = layer(query, values, mask=mask)`
where `values` are the encoder outputs `(batch, tv, dim)` (for captioning, a
flattened spatial feature map), `mask` is a boolean `(batch, tv)` tensor that
marks real source positions, and `query` is either one decoder step
`(batch, units)` or all teacher-forced steps at once `(batch, tq, units)`.
`context` has the shape of `query` with the last axis `dim`; `weights` is
`(batch, tv)` or `(batch, tq, tv)`, sums to 1 over unmasked positions and is
exactly 0 on masked ones (a row with no unmasked position is all zeros).

Why not `keras.layers.Attention` / `AdditiveAttention`: they return weights
and take masks, but `Attention` only scores `dot` (no Luong "general"
projection, so query and values must have the same width), `AdditiveAttention`
has no learned query/key projections (it is `sum(scale * tanh(q + k))`, not
Bahdanau's `v . tanh(W1 q + W2 k)` with its own `units`), both need a 3-D
query and a `[query_mask, value_mask]` list, and a fully masked row gets
uniform weights. The masked softmax here is the same few lines they use.

`context` carries the query's Keras mask (the target's padding, when the
query is a teacher-forced decoder sequence) and `weights` none, so merging
`context` with the decoder outputs (`Concatenate` ORs masks where one is
missing) keeps the target mask for the loss.
"""

import keras
from keras import ops

LUONG_SCORES = ("general", "dot")


def _masked_attention(scores, values, mask):
    """Softmax `scores (b, tq, tv)` over unmasked positions, then weight
    `values (b, tv, d)`. Returns `(context (b, tq, d), weights (b, tq, tv))`."""
    if mask is not None:
        mask = ops.expand_dims(ops.cast(mask, "bool"), axis=1)
        big = 65504.0 if scores.dtype == "float16" else 1.0e9
        scores = ops.where(mask, scores, ops.cast(-big, scores.dtype))
    weights = ops.softmax(scores, axis=-1)
    if mask is not None:
        weights = weights * ops.cast(mask, weights.dtype)
    return ops.matmul(weights, values), weights


class _BaseAttention(keras.layers.Layer):
    """Shared call logic: accept a 2-D or 3-D query, delegate scoring."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        # Overriding `compute_mask` tells Keras the layer handles masks, so
        # an explicit `mask=` is not reported as a dropped input mask.
        self.supports_masking = True

    def _check_shapes(self, query_shape, values_shape):
        name = type(self).__name__
        if len(query_shape) not in (2, 3):
            raise ValueError(
                f"`{name}` expects a query of shape (batch, units) or "
                f"(batch, tq, units). Received: query.shape={query_shape}")
        if len(values_shape) != 3:
            raise ValueError(
                f"`{name}` expects values of shape (batch, tv, dim). "
                f"Received: values.shape={values_shape}")
        if query_shape[-1] is None or values_shape[-1] is None:
            raise ValueError(
                f"`{name}` needs known last dimensions. Received: "
                f"query.shape={query_shape}, values.shape={values_shape}")

    def _scores(self, query, values):
        raise NotImplementedError

    def call(self, query, values, mask=None):
        single_step = len(query.shape) == 2
        if single_step:
            query = ops.expand_dims(query, axis=1)
        scores = self._scores(query, values)
        context, weights = _masked_attention(scores, values, mask)
        if single_step:
            context = ops.squeeze(context, axis=1)
            weights = ops.squeeze(weights, axis=1)
        return context, weights

    def compute_mask(self, query, previous_mask=None):
        # `previous_mask` is the values mask (the `mask=` argument). The
        # context belongs to the query's positions, so it carries the
        # query's mask (e.g. target padding): merged with the decoder
        # outputs (`Concatenate`, `Add`), the target mask survives to the
        # logits and the loss. The weights carry none.
        query_mask = getattr(query, "_keras_mask", None)
        return [query_mask, None]

    def compute_output_shape(self, query_shape, values_shape):
        context = (*query_shape[:-1], values_shape[-1])
        weights = (*query_shape[:-1], values_shape[1])
        return context, weights


@keras.saving.register_keras_serializable(package="kerasnlp_seq")
class LuongAttention(_BaseAttention):
    """Multiplicative (Luong et al. 2015) attention over encoder outputs.

    Scores are `q . W k` (`score="general"`) or `q . k` (`score="dot"`, which
    needs query and values of the same width), optionally times a learned
    scalar initialised to `1 / sqrt(dim)`.

    Args:
        score: str. `"general"` (learned projection) or `"dot"`.
        use_scale: bool. Whether to multiply scores by a learned scalar.
        **kwargs: Base layer keyword arguments (`name`, `dtype`, ...).

    Example:

    >>> import numpy as np
    >>> layer = LuongAttention()
    >>> context, weights = layer(np.ones((2, 6)), np.ones((2, 4, 3)),
    ...                          mask=np.array([[1, 1, 1, 0]] * 2, bool))
    >>> tuple(context.shape), tuple(weights.shape)
    ((2, 3), (2, 4))
    """

    def __init__(self, score="general", use_scale=False, **kwargs):
        super().__init__(**kwargs)
        if score not in LUONG_SCORES:
            raise ValueError(
                "Unknown `score` for `LuongAttention`. Expected one of "
                f"{list(LUONG_SCORES)}. Received: score={score!r}")
        self.score = score
        self.use_scale = bool(use_scale)
        self.projection = None  # for "general", made in build(): needs dim

    def build(self, query_shape, values_shape):
        self._check_shapes(query_shape, values_shape)
        dim = values_shape[-1]
        if self.score == "dot" and query_shape[-1] != dim:
            raise ValueError(
                "`LuongAttention(score='dot')` needs query and values of the "
                f"same width; use score='general' otherwise. Received: "
                f"query.shape={query_shape}, values.shape={values_shape}")
        if self.score == "general":
            self.projection = keras.layers.Dense(
                dim, use_bias=False, dtype=self.dtype_policy,
                name="projection")
            self.projection.build(tuple(query_shape))
        self.scale = None
        if self.use_scale:
            self.scale = self.add_weight(
                name="scale", shape=(),
                initializer=keras.initializers.Constant(float(dim) ** -0.5))

    def _scores(self, query, values):
        if self.projection is not None:
            query = self.projection(query)
        scores = ops.matmul(query, ops.swapaxes(values, 1, 2))
        if self.scale is not None:
            scores = scores * ops.cast(self.scale, scores.dtype)
        return scores

    def get_config(self):
        config = super().get_config()
        config.update({"score": self.score, "use_scale": self.use_scale})
        return config


@keras.saving.register_keras_serializable(package="kerasnlp_seq")
class BahdanauAttention(_BaseAttention):
    """Additive (Bahdanau et al. 2015) attention over encoder outputs.

    Scores are `v . tanh(W1 q + W2 k)` with `W1`, `W2` projecting to `units`.

    Args:
        units: int. The width of the hidden scoring layer.
        **kwargs: Base layer keyword arguments (`name`, `dtype`, ...).

    Example:

    >>> import numpy as np
    >>> layer = BahdanauAttention(units=8)
    >>> context, weights = layer(np.ones((2, 5, 6)), np.ones((2, 4, 3)))
    >>> tuple(context.shape), tuple(weights.shape)
    ((2, 5, 3), (2, 5, 4))
    """

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(units, int) or isinstance(units, bool) or units < 1:
            raise ValueError(
                "`units` for `BahdanauAttention` must be a positive int. "
                f"Received: units={units!r}")
        self.units = units
        self.query_dense = keras.layers.Dense(
            units, use_bias=False, dtype=self.dtype_policy, name="query_dense")
        self.key_dense = keras.layers.Dense(
            units, use_bias=False, dtype=self.dtype_policy, name="key_dense")
        self.score_dense = keras.layers.Dense(
            1, use_bias=False, dtype=self.dtype_policy, name="score_dense")

    def build(self, query_shape, values_shape):
        self._check_shapes(query_shape, values_shape)
        self.query_dense.build(tuple(query_shape))
        self.key_dense.build(tuple(values_shape))
        self.score_dense.build((None, self.units))

    def _scores(self, query, values):
        q = ops.expand_dims(self.query_dense(query), axis=2)  # (b, tq, 1, u)
        k = ops.expand_dims(self.key_dense(values), axis=1)  # (b, 1, tv, u)
        return ops.squeeze(self.score_dense(ops.tanh(q + k)), axis=-1)

    def get_config(self):
        config = super().get_config()
        config.update({"units": self.units})
        return config
