"""The linear-chain CRF's algorithms as functions of `keras.ops`.

Scores, the log partition (forward algorithm) and Viterbi decoding over
per-step potentials `P[b, t, i, j]` (`crf_potentials`), with masks that are
right-padded prefixes of True. `kerasnlp_seq.crf` builds its layer and loss
on these; they are also usable on their own, e.g. to score tag paths from
another model's emissions:

>>> import numpy as np
>>> e = np.zeros((1, 2, 2), "float32")  # two steps, two tags, no preference
>>> t = np.array([[0.0, 1.0], [0.0, 0.0]], "float32")  # 0 -> 1 scores 1
>>> tags, score = viterbi_decode(e, None, t, np.zeros(2), np.zeros(2))
>>> tags.numpy().tolist(), float(score[0])
([[0, 1]], 1.0)
"""

from keras import ops


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

    >>> e = ops.zeros((1, 2, 3))
    >>> z = ops.zeros((3, 3)); s = ops.zeros((3,))
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
