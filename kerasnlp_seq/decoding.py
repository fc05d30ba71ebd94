"""Greedy and beam-search decoding driven by a step function, in the TF graph.

Both decoders are model-agnostic. The model is seen only through

    step_fn(token_ids, state) -> (log_probs, new_state[, extras])
    step_fn(token_ids, state, static) -> ...      # when `static=` is given

where `token_ids` is `(n,)` int32 (the previous token), `log_probs` is
`(n, vocab)`, and `state` is a nested structure (dict / list / tuple) of
tensors whose first dimension is `n`: the batch, or batch * beam inside beam
search, which tiles the initial state and reorders it by the chosen beams
with `tf.gather`. `static` is an optional nested structure (encoder outputs,
source mask) that is tiled once and never reordered. `extras` (e.g. attention
weights) is collected by `greedy_decode` for plotting and ignored by
`beam_search`.

Everything is TensorFlow ops (`tf.while_loop`, `tf.TensorArray`,
`tf.math.top_k`), so both run eagerly, inside `tf.function` with a dynamic
batch size, and inside an exported SavedModel.

`max_length` is one cap for the whole batch (an int or a scalar tensor) or
one cap per sequence (an int `(batch,)` tensor): a sequence that reaches its
own cap is finished there as if it had ended (no end token is added), so
its result does not depend on the other sequences of the batch. The loop
runs to the largest cap at most; a finished sequence only extends with pad.

`min_length` (OpenNMT's `-min_length`, fairseq's `--min-len`) forbids the
end token until that many tokens have been generated, so a decoder that
gives the end token most of the mass at the first step (an under-trained
model, a source it has never seen the like of) cannot return an empty
sequence. A cap below it still finishes the sequence at the cap.

Outputs: `ids` are `(batch, largest cap)`; they exclude the start token and
include the end token; positions after it are 0 (pad). `lengths` count
generated tokens including the end token (the sequence's cap for one that
never ended).
"""

import tensorflow as tf

PAD_ID = 0
NEG_INF = -1.0e9


def _check(start_id, end_id, max_length, beam_width=1, length_penalty=0.0,
           min_length=0):
    for name, value in (("start_id", start_id), ("end_id", end_id)):
        if isinstance(value, int) and value < 0:
            raise ValueError(f"`{name}` must be a non-negative token id. "
                             f"Received: {name}={value!r}")
    if isinstance(max_length, int) and max_length < 1:
        raise ValueError("`max_length` must be a positive int. "
                         f"Received: max_length={max_length!r}")
    rank = getattr(max_length, "shape", None)
    rank = None if rank is None else tf.TensorShape(rank).rank
    if rank is not None and rank > 1:
        raise ValueError(
            "`max_length` must be an int, a scalar or a `(batch,)` tensor of "
            f"per-sequence caps. Received: a tensor of rank {rank}")
    if not isinstance(beam_width, int) or beam_width < 1:
        raise ValueError("`beam_width` must be a positive int. "
                         f"Received: beam_width={beam_width!r}")
    if not isinstance(length_penalty, (int, float)) or length_penalty < 0:
        raise ValueError("`length_penalty` must be a float >= 0 (GNMT alpha). "
                         f"Received: length_penalty={length_penalty!r}")
    if not isinstance(min_length, int) or isinstance(min_length, bool) or \
            min_length < 0:
        raise ValueError("`min_length` must be an int >= 0. "
                         f"Received: min_length={min_length!r}")


def _call(step_fn, tokens, state, static):
    out = step_fn(tokens, state) if static is None else step_fn(
        tokens, state, static)
    if not isinstance(out, (tuple, list)) or len(out) not in (2, 3):
        raise ValueError(
            "`step_fn` must return (log_probs, new_state) or (log_probs, "
            f"new_state, extras). Received: {type(out).__name__}")
    log_probs = tf.cast(out[0], tf.float32)
    return log_probs, out[1], (out[2] if len(out) == 3 else None)


def _forbid_end(log_probs, t, end_id, min_length):
    """`log_probs` `(n, vocab)` with the end token impossible while fewer
    than `min_length` tokens precede step `t` (0-based)."""
    if not min_length:
        return log_probs
    is_end = tf.equal(tf.range(tf.shape(log_probs)[-1]), end_id)
    return tf.where(is_end & (t < min_length), NEG_INF, log_probs)


def _caps(max_length, batch_size):
    """`(caps, limit)`: int32 per-sequence caps `(batch,)` and the loop's
    limit, their largest (`max_length` itself when it is one cap)."""
    if isinstance(max_length, int):
        return tf.fill([batch_size], max_length), max_length
    max_length = tf.cast(tf.convert_to_tensor(max_length), tf.int32)
    caps = tf.broadcast_to(max_length, [batch_size])
    if max_length.shape.rank == 0:
        return caps, max_length
    # At least 1: `tf.reduce_max` of an empty batch is the smallest int.
    return caps, tf.maximum(tf.reduce_max(caps), 1)


def _relaxed(x):
    """Loop shape invariant: same shape with an unknown first dimension."""
    shape = tf.TensorShape(x.shape)
    return tf.TensorShape([None] + shape.as_list()[1:]) if shape.rank else shape


def _pad_to(x, max_length, axis=1):
    """Zero-pad `x` along `axis` (which has `steps` entries) to `max_length`."""
    pad = max_length - tf.shape(x)[axis]
    paddings = [[0, 0]] * x.shape.rank
    paddings[axis] = [0, pad]
    return tf.pad(x, paddings)


def length_penalty_fn(lengths, alpha):
    """GNMT length penalty `((5 + length) / 6) ** alpha` (Wu et al. 2016)."""
    return tf.pow((5.0 + tf.cast(lengths, tf.float32)) / 6.0, float(alpha))


def greedy_decode(step_fn, initial_state, batch_size, start_id, end_id,
                  max_length, static=None, min_length=0):
    """Decodes by taking the most likely token at every step.

    Args:
        step_fn: callable. `step_fn(token_ids, state[, static])` returning
            `(log_probs, new_state[, extras])`, see the module docstring.
        initial_state: nested structure of tensors with first dimension
            `batch_size`.
        batch_size: int or scalar int tensor. The number of sequences.
        start_id: int. The token fed at the first step.
        end_id: int. The token that ends a sequence.
        max_length: int, scalar int tensor or int `(batch,)` tensor. The
            most tokens to generate, for the batch or per sequence (each
            positive); a sequence stops at its own cap.
        static: optional nested structure of per-example tensors passed to
            `step_fn` unchanged at every step.
        min_length: int. Tokens generated before the end token may be
            chosen (0: from the first step).

    Returns:
        `(ids, lengths)`: int32 `(batch, max(max_length))` and `(batch,)`;
        plus `extras` when `step_fn` returns them: the same structure stacked
        to `(batch, max(max_length), ...)`, zero after each sequence's end
        token (or cap).

    Example:

    >>> table = tf.math.log(tf.constant([[.1, .1, .2, .6], [.1, .1, .2, .6],
    ...                                  [.25] * 4, [.1, .1, .7, .1]]))
    >>> step = lambda ids, state: (tf.gather(table, ids), state)
    >>> ids, lengths = greedy_decode(step, {}, 1, start_id=1, end_id=2,
    ...                              max_length=4)
    >>> ids.numpy().tolist(), lengths.numpy().tolist()
    ([[3, 2, 0, 0]], [2])
    """
    _check(start_id, end_id, max_length, min_length=min_length)
    end_id = tf.cast(end_id, tf.int32)
    caps, limit = _caps(max_length, batch_size)
    tokens = tf.fill([batch_size], tf.cast(start_id, tf.int32))
    finished = tf.zeros([batch_size], tf.bool)
    lengths = tf.zeros([batch_size], tf.int32)

    def advance(t, finished, lengths, ids_ta, extras_ta, log_probs, extras):
        alive = tf.logical_not(finished)
        log_probs = _forbid_end(log_probs, t, end_id, min_length)
        next_ids = tf.argmax(log_probs, axis=-1, output_type=tf.int32)
        next_ids = tf.where(alive, next_ids, PAD_ID)
        lengths = tf.where(alive, t + 1, lengths)
        # A sequence at its cap is finished as if it had ended there.
        finished = finished | tf.equal(next_ids, end_id) | (t + 1 >= caps)
        ids_ta = ids_ta.write(t, next_ids)
        if extras_ta is not None:
            def keep(ta, x):
                mask = tf.reshape(tf.cast(alive, x.dtype),
                                  [-1] + [1] * (x.shape.rank - 1))
                return ta.write(t, x * mask)
            extras_ta = tf.nest.map_structure(keep, extras_ta, extras)
        return t + 1, next_ids, finished, lengths, ids_ta, extras_ta

    # The first step runs outside the loop: it tells whether `step_fn`
    # returns extras, whose structure the loop variables must then carry.
    log_probs, state, extras = _call(step_fn, tokens, initial_state, static)
    new_ta = lambda x: tf.TensorArray(x.dtype, size=0, dynamic_size=True)
    extras_ta = None if extras is None else tf.nest.map_structure(
        new_ta, extras)
    ids_ta = tf.TensorArray(tf.int32, size=0, dynamic_size=True)
    t, tokens, finished, lengths, ids_ta, extras_ta = advance(
        tf.constant(0), finished, lengths, ids_ta, extras_ta, log_probs,
        extras)

    def body(t, tokens, finished, lengths, state, ids_ta, extras_ta=None):
        log_probs, state, extras = _call(step_fn, tokens, state, static)
        t, tokens, finished, lengths, ids_ta, extras_ta = advance(
            t, finished, lengths, ids_ta, extras_ta, log_probs, extras)
        out = (t, tokens, finished, lengths, state, ids_ta)
        return out if extras_ta is None else out + (extras_ta,)

    loop_vars = (t, tokens, finished, lengths, state, ids_ta)
    if extras_ta is not None:
        loop_vars += (extras_ta,)
    invariants = tf.nest.map_structure(
        lambda x: tf.TensorShape(None) if isinstance(x, tf.TensorArray)
        else _relaxed(x), loop_vars)
    loop_vars = tf.while_loop(
        lambda t, tokens, finished, *_: tf.logical_and(
            t < limit, tf.logical_not(tf.reduce_all(finished))),
        body, loop_vars, shape_invariants=invariants)
    _, _, _, lengths, _, ids_ta = loop_vars[:6]
    ids = _pad_to(tf.transpose(ids_ta.stack()), limit)
    if extras_ta is None:
        return ids, lengths

    def stack(ta):
        x = ta.stack()
        perm = [1, 0] + list(range(2, x.shape.rank))
        return _pad_to(tf.transpose(x, perm), limit)
    return ids, lengths, tf.nest.map_structure(stack, loop_vars[6])


def _tile(x, beam_width):
    """`(batch, ...)` -> `(batch * beam, ...)`, each row repeated in place."""
    return tf.repeat(x, beam_width, axis=0)


def beam_search(step_fn, initial_state, batch_size, start_id, end_id,
                max_length, beam_width=4, length_penalty=0.6, static=None,
                min_length=0):
    """Decodes with beam search under the GNMT length penalty.

    Hypotheses are ranked by `sum(log_probs) / ((5 + length) / 6) ** alpha`.
    A beam that emits `end_id` is finished: it keeps its score and length and
    only extends with pad. A beam that reaches its example's cap
    (`max_length`, per example when a vector) is finished the same way, with
    the score of the tokens it has (no end token is added or scored) and the
    cap as its length: the hypotheses alive at the cap compete with those
    that ended before under the same penalised score, exactly as when the
    example is decoded alone with that `max_length`. Decoding stops when
    every beam of every example is finished, or after the largest cap.

    Args:
        step_fn: callable. `step_fn(token_ids, state[, static])` returning
            `(log_probs, new_state[, extras])`; extras are ignored.
        initial_state: nested structure of tensors with first dimension
            `batch_size`; tiled to `batch_size * beam_width` and reordered by
            the chosen beams at every step.
        batch_size: int or scalar int tensor. The number of sequences.
        start_id: int. The token fed at the first step.
        end_id: int. The token that ends a sequence.
        max_length: int, scalar int tensor or int `(batch,)` tensor. The
            most tokens to generate, for the batch or per example (each
            positive).
        beam_width: int. The number of hypotheses kept per example.
        length_penalty: float. GNMT alpha; 0 ranks by total log-probability.
        static: optional nested structure of per-example tensors, tiled once
            and passed to `step_fn` unchanged at every step.
        min_length: int. Tokens generated before the end token may be
            chosen (0: from the first step).

    Returns:
        `(ids, lengths, scores)` for the best hypothesis of each example:
        int32 `(batch, max(max_length))`, int32 `(batch,)` and its
        length-penalised float32 score `(batch,)`.

    Example:

    >>> table = tf.math.log(tf.constant([[.1, .1, .2, .6], [.1, .1, .2, .6],
    ...                                  [.25] * 4, [.1, .1, .7, .1]]))
    >>> step = lambda ids, state: (tf.gather(table, ids), state)
    >>> ids, lengths, scores = beam_search(step, {}, 1, start_id=1, end_id=2,
    ...                                    max_length=4, beam_width=2)
    >>> ids.numpy().tolist(), lengths.numpy().tolist()
    ([[3, 2, 0, 0]], [2])
    """
    _check(start_id, end_id, max_length, beam_width, length_penalty,
           min_length)
    end_id = tf.cast(end_id, tf.int32)
    caps, limit = _caps(max_length, batch_size)
    at_cap = lambda t: (t + 1 >= caps)[:, None]  # (batch, 1) after step t
    k = beam_width
    state = tf.nest.map_structure(lambda x: _tile(x, k), initial_state)
    if static is not None:
        static = tf.nest.map_structure(lambda x: _tile(x, k), static)
    tokens = tf.fill([batch_size * k], tf.cast(start_id, tf.int32))
    # Only beam 0 is live at first: the k tiled copies are identical.
    scores = tf.tile(tf.concat([[0.0], tf.fill([k - 1], NEG_INF)], 0)[None],
                     [batch_size, 1])
    lengths = tf.zeros([batch_size, k], tf.int32)
    finished = tf.zeros([batch_size, k], tf.bool)
    seqs = tf.zeros([batch_size, k, limit], tf.int32)
    batch_offsets = tf.range(batch_size)[:, None] * k  # (batch, 1)

    def body(t, tokens, scores, lengths, finished, seqs, state):
        log_probs, state, _ = _call(step_fn, tokens, state, static)
        log_probs = _forbid_end(log_probs, t, end_id, min_length)
        vocab = tf.shape(log_probs)[-1]
        log_probs = tf.reshape(log_probs, [batch_size, k, vocab])
        # A finished beam may only extend with pad, at no cost.
        pad_row = tf.where(tf.equal(tf.range(vocab), PAD_ID), 0.0, NEG_INF)
        log_probs = tf.where(finished[..., None], pad_row, log_probs)
        cand_scores = scores[..., None] + log_probs  # (batch, k, vocab)
        cand_lengths = tf.where(finished, lengths, t + 1)
        penalised = cand_scores / length_penalty_fn(
            cand_lengths, length_penalty)[..., None]
        _, top = tf.math.top_k(tf.reshape(penalised, [batch_size, -1]), k)
        parent = top // vocab  # (batch, k)
        token = top % vocab
        scores = tf.gather(tf.reshape(cand_scores, [batch_size, -1]), top,
                           batch_dims=1)
        lengths = tf.gather(cand_lengths, parent, batch_dims=1)
        was_finished = tf.gather(finished, parent, batch_dims=1)
        token = tf.where(was_finished, PAD_ID, token)
        # Dead candidates (impossible tokens, unused beams) count as finished,
        # and so do the beams of an example at its cap.
        finished = was_finished | tf.equal(token, end_id) | (
            scores < NEG_INF / 2) | at_cap(t)
        seqs = tf.gather(seqs, parent, batch_dims=1)
        seqs += token[..., None] * tf.one_hot(t, tf.shape(seqs)[-1],
                                              dtype=tf.int32)
        flat_parent = tf.reshape(parent + batch_offsets, [-1])
        state = tf.nest.map_structure(
            lambda x: tf.gather(x, flat_parent), state)
        return (t + 1, tf.reshape(token, [-1]), scores, lengths, finished,
                seqs, state)

    loop_vars = (tf.constant(0), tokens, scores, lengths, finished, seqs,
                 state)
    _, _, scores, lengths, finished, seqs, _ = tf.while_loop(
        lambda t, tokens, scores, lengths, finished, *_: tf.logical_and(
            t < limit, tf.logical_not(tf.reduce_all(finished))),
        body, loop_vars,
        shape_invariants=tf.nest.map_structure(_relaxed, loop_vars))
    # Beams that reached their cap have it as length (their count of tokens).
    final = scores / length_penalty_fn(lengths, length_penalty)
    best = tf.argmax(final, axis=-1, output_type=tf.int32)[:, None]
    take = lambda x: tf.gather(x, best, batch_dims=1)[:, 0]
    return take(seqs), take(lengths), take(final)
