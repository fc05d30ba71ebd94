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
(`jit_compile="auto"` then stays off).

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

try:  # The mask Keras attaches to tensors; no public accessor in Keras 3.
    from keras.src.backend import get_keras_mask as _get_keras_mask
except ImportError:  # pragma: no cover
    def _get_keras_mask(x):
        return getattr(x, "_keras_mask", None)


def _as_mask(lengths_or_mask, batch_time_shape):
    """A bool `(batch, time)` mask from a mask, lengths, or None (all valid)."""
    if lengths_or_mask is None:
        return ops.ones(batch_time_shape, dtype="bool")
    m = ops.convert_to_tensor(lengths_or_mask)
    if len(m.shape) == 1:
        steps = ops.arange(batch_time_shape[1], dtype="int32")
        return ops.expand_dims(steps, 0) < ops.expand_dims(ops.cast(m, "int32"), 1)
    return ops.cast(m, "bool")


def crf_potentials(emissions, mask, transitions, start, end):
    """Per-step scores `P[b, t, i, j]` of moving from tag `i` to tag `j` at `t`.

    `P[:, 0, i, j] = start[j] + emissions[:, 0, j]` for every `i` (only row 0
    is read), `P[:, t, i, j] = transitions[i, j] + emissions[:, t, j]` after,
    and `end[j]` is added at each sequence's last valid step. Float32.

    Args:
        emissions: float tensor `(batch, time, num_tags)`.
        mask: bool `(batch, time)` mask, int `(batch,)` lengths, or None.
        transitions: float `(num_tags, num_tags)`, from-tag by to-tag.
        start: float `(num_tags,)`, score of starting in each tag.
        end: float `(num_tags,)`, score of ending in each tag.
    """
    emissions = ops.cast(emissions, "float32")
    shape = ops.shape(emissions)
    mask = _as_mask(mask, shape[:2])
    next_valid = ops.pad(mask[:, 1:], [[0, 0], [0, 1]], constant_values=False)
    is_last = ops.cast(ops.logical_and(mask, ops.logical_not(next_valid)), "float32")
    is_first = ops.cast(ops.equal(ops.arange(shape[1]), 0), "float32")
    is_first = ops.reshape(is_first, (1, -1, 1, 1))
    transitions = ops.cast(transitions, "float32")
    start = ops.cast(start, "float32")
    end = ops.cast(end, "float32")
    pair = ((1.0 - is_first) * transitions[None, None]
            + is_first * start[None, None, None])
    return (pair + emissions[:, :, None, :]
            + is_last[:, :, None, None] * end[None, None, None, :])


def _initial_state(potentials):
    """Log-space state before step 0: 0 for row 0, -inf elsewhere."""
    num_tags = ops.shape(potentials)[-1]
    row = ops.where(ops.arange(num_tags) == 0, 0.0, float("-inf"))
    return ops.zeros_like(potentials[:, 0, 0, :]) + row[None, :]


def _time_major(potentials, mask):
    """One `(time, batch, num_tags + 1, num_tags)` tensor: the mask rides as
    an extra row, since Keras' TF `scan` fails on several `xs` of unknown
    length."""
    row = ops.cast(mask, "float32")[:, :, None, None] + ops.zeros_like(
        potentials[:, :, :1, :])
    return ops.transpose(ops.concatenate([potentials, row], axis=2), (1, 0, 2, 3))


def _split(x):
    return x[:, :-1, :], x[:, -1, 0] > 0.5


def potentials_log_partition(potentials, mask=None):
    """Log of the sum of exp-scores over all tag paths, `(batch,)`; 0 if empty."""
    mask = _as_mask(mask, ops.shape(potentials)[:2])

    def step(alpha, inputs):
        p, m = _split(inputs)
        new = ops.logsumexp(alpha[:, :, None] + p, axis=1)
        alpha = ops.where(m[:, None], new, alpha)
        return alpha, alpha

    alpha, _ = ops.scan(step, _initial_state(potentials),
                        _time_major(potentials, mask))
    return ops.logsumexp(alpha, axis=-1)


def potentials_score(potentials, tags, mask=None):
    """Score of the given tag paths, `(batch,)`; masked steps add nothing."""
    mask = _as_mask(mask, ops.shape(potentials)[:2])
    shape = ops.shape(potentials)
    num_tags = shape[-1]
    tags = ops.clip(ops.cast(tags, "int32"), 0, num_tags - 1)
    previous = ops.pad(tags[:, :-1], [[0, 0], [1, 0]], constant_values=0)
    flat = ops.reshape(potentials, (shape[0], shape[1], -1))
    index = ops.expand_dims(previous * num_tags + tags, -1)
    picked = ops.squeeze(ops.take_along_axis(flat, index, axis=-1), -1)
    return ops.sum(picked * ops.cast(mask, "float32"), axis=1)


def potentials_decode(potentials, mask=None):
    """Viterbi over potentials: `(tags int32 (batch, time), score (batch,))`."""
    mask = _as_mask(mask, ops.shape(potentials)[:2])
    num_tags = ops.shape(potentials)[-1]
    identity = ops.arange(num_tags, dtype="int32")[None, :]

    def forward(carry, inputs):
        # Keras' TF scan stacks outputs shaped like the carry: carry both.
        score, _ = carry
        p, m = _split(inputs)
        candidates = score[:, :, None] + p
        best = ops.max(candidates, axis=1)
        pointer = ops.cast(ops.argmax(candidates, axis=1), "int32")
        score = ops.where(m[:, None], best, score)
        pointer = ops.where(m[:, None], pointer, identity + ops.zeros_like(pointer))
        return (score, pointer), (score, pointer)

    init = _initial_state(potentials)
    init = (init, ops.zeros_like(ops.cast(init, "int32")))
    (score, _), (_, pointers) = ops.scan(forward, init,
                                         _time_major(potentials, mask))

    def backward(tag, pointer):
        previous = ops.squeeze(ops.take_along_axis(pointer, tag[:, None], 1), 1)
        return previous, tag

    last = ops.cast(ops.argmax(score, axis=-1), "int32")
    _, tags = ops.scan(backward, last, pointers, reverse=True)
    tags = ops.transpose(tags, (1, 0)) * ops.cast(mask, "int32")
    return tags, ops.max(score, axis=-1)


def crf_log_partition(emissions, lengths_or_mask, transitions, start, end):
    """Log-partition `log sum_paths exp(score(path))`, float32 `(batch,)`.

    Args: as `crf_log_likelihood`, without `tags`.
    """
    p = crf_potentials(emissions, lengths_or_mask, transitions, start, end)
    return potentials_log_partition(p, lengths_or_mask)


def crf_log_likelihood(emissions, tags, lengths_or_mask, transitions, start, end):
    """Log-probability of `tags` under the CRF, float32 `(batch,)`.

    Args:
        emissions: float `(batch, time, num_tags)` unary scores.
        tags: int `(batch, time)` gold tag ids (padding values are ignored).
        lengths_or_mask: int `(batch,)` lengths, bool `(batch, time)` mask
            (right-padded), or None for full length.
        transitions: float `(num_tags, num_tags)`, from-tag by to-tag.
        start: float `(num_tags,)`. end: float `(num_tags,)`.

    Example:

    >>> e = keras.ops.zeros((1, 2, 3))
    >>> z = keras.ops.zeros((3, 3)); s = keras.ops.zeros((3,))
    >>> float(crf_log_likelihood(e, [[0, 1]], None, z, s, s)[0])  # -log(9)
    -2.197...
    """
    p = crf_potentials(emissions, lengths_or_mask, transitions, start, end)
    return (potentials_score(p, tags, lengths_or_mask)
            - potentials_log_partition(p, lengths_or_mask))


def viterbi_decode(emissions, mask, transitions, start, end):
    """Best tag path and its score: `(int32 (batch, time), float32 (batch,))`.

    Args: as `crf_log_likelihood`; padded steps decode to tag 0.
    """
    p = crf_potentials(emissions, mask, transitions, start, end)
    return potentials_decode(p, mask)


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
