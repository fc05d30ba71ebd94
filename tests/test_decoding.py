"""Tests for greedy and beam-search decoding (`kerasnlp_seq.decoding`).

The reference model is a random second-order Markov chain over a 6-token
vocabulary (0 pad, 1 start, 2 end, 3-5 words), one chain per batch element:
`p(next | prev-prev, prev)`. Its state (the token before last, the batch
element's id) must be tiled and reordered correctly for beam search to match
brute-force enumeration.
"""

import numpy as np
import pytest
import tensorflow as tf

from kerasnlp_seq.decoding import beam_search
from kerasnlp_seq.decoding import greedy_decode

V, PAD, START, END = 6, 0, 1, 2
WORDS = (2, 3, 4, 5)
ALPHA = 0.6


def make_tables(seed, batch):
    """Per-example transition tables `(batch, V, V, V)` of probabilities."""
    rng = np.random.default_rng(seed)
    p = np.zeros((batch, V, V, V))
    p[..., 2:] = rng.dirichlet([0.5] * 4, size=(batch, V, V))
    p[..., END] *= 0.5  # longer sequences, so lengths differ
    return p / p.sum(-1, keepdims=True)


def markov_step(log_table):
    """A step function over `log_table`; state = prev-prev token, batch id."""
    def step_fn(ids, state):
        index = tf.stack([state["bid"], state["prev"], ids], axis=-1)
        log_probs = tf.gather_nd(log_table, index)
        return log_probs, {"prev": ids, "bid": state["bid"]}
    return step_fn


def initial_state(bids):
    return {"prev": tf.zeros_like(bids), "bid": bids}


def penalty(length):
    return ((5.0 + length) / 6.0) ** ALPHA


def brute_force(p, b, max_length, min_length=0):
    """(best penalised score, best sequence) by enumerating every sequence
    (the end token only after `min_length` words)."""
    best = (-np.inf, None)

    def extend(seq, prev_prev, prev, log_prob):
        nonlocal best
        for w in WORDS:
            if w == END and len(seq) < min_length:
                continue
            s, lp = seq + [w], log_prob + np.log(p[b, prev_prev, prev, w])
            if w == END or len(s) == max_length:
                best = max(best, (lp / penalty(len(s)), s))
            else:
                extend(s, prev, w, lp)
    extend([], 0, START, 0.0)
    return best


def numpy_greedy(p, b, max_length, min_length=0):
    seq, prev_prev, prev, log_prob = [], 0, START, 0.0
    while True:
        row = p[b, prev_prev, prev].copy()
        if len(seq) < min_length:
            row[END] = 0.0
        w = int(np.argmax(row))
        seq.append(w)
        log_prob += np.log(p[b, prev_prev, prev, w])
        if w == END or len(seq) == max_length:
            return log_prob / penalty(len(seq)), seq
        prev_prev, prev = prev, w


def padded(seq, max_length):
    return seq + [PAD] * (max_length - len(seq))


SEED, BATCH, MAX_LEN = 11, 4, 4
P = make_tables(SEED, BATCH)
with np.errstate(divide="ignore"):  # -inf for pad and start
    LOG_TABLE = tf.constant(np.log(P), tf.float32)
BIDS = tf.range(BATCH)


def test_greedy_matches_numpy_and_pads_after_end():
    ids, lengths = greedy_decode(markov_step(LOG_TABLE), initial_state(BIDS),
                                 BATCH, START, END, MAX_LEN)
    assert ids.shape == (BATCH, MAX_LEN)
    for b in range(BATCH):
        _, seq = numpy_greedy(P, b, MAX_LEN)
        assert ids[b].numpy().tolist() == padded(seq, MAX_LEN)
        assert lengths[b] == len(seq)
    assert sorted(set(lengths.numpy().tolist())) != [MAX_LEN]  # some end


def test_wide_beam_finds_brute_force_best():
    # 121 hypotheses exist up to length 4 over 3 words + end: a beam of 128
    # keeps them all, so beam search must be exact.
    ids, lengths, scores = beam_search(
        markov_step(LOG_TABLE), initial_state(BIDS), BATCH, START, END,
        MAX_LEN, beam_width=128, length_penalty=ALPHA)
    for b in range(BATCH):
        best_score, best = brute_force(P, b, MAX_LEN)
        assert ids[b].numpy().tolist() == padded(best, MAX_LEN)
        assert lengths[b] == len(best)
        np.testing.assert_allclose(scores[b], best_score, rtol=1e-5)


def test_narrow_beam_beats_greedy_where_greedy_is_wrong():
    ids, _, scores = beam_search(
        markov_step(LOG_TABLE), initial_state(BIDS), BATCH, START, END,
        MAX_LEN, beam_width=3, length_penalty=ALPHA)
    beaten = 0
    for b in range(BATCH):
        greedy_score, greedy_seq = numpy_greedy(P, b, MAX_LEN)
        best_score, best = brute_force(P, b, MAX_LEN)
        assert scores[b] >= greedy_score - 1e-5
        if greedy_seq != best:
            beaten += 1
            assert ids[b].numpy().tolist() == padded(best, MAX_LEN)
    assert beaten >= 1  # the fixture really separates greedy from beam


def test_beam_width_one_equals_greedy():
    step = markov_step(LOG_TABLE)
    g_ids, g_len = greedy_decode(step, initial_state(BIDS), BATCH, START,
                                 END, MAX_LEN)
    b_ids, b_len, b_scores = beam_search(step, initial_state(BIDS), BATCH,
                                         START, END, MAX_LEN, beam_width=1)
    np.testing.assert_array_equal(g_ids, b_ids)
    np.testing.assert_array_equal(g_len, b_len)
    for b in range(BATCH):
        np.testing.assert_allclose(b_scores[b], numpy_greedy(P, b, MAX_LEN)[0],
                                   rtol=1e-5)


def test_batch_elements_do_not_mix():
    step = markov_step(LOG_TABLE)
    together = beam_search(step, initial_state(BIDS), BATCH, START, END,
                           MAX_LEN, beam_width=3)
    for b in range(BATCH):
        alone = beam_search(step, initial_state(BIDS[b:b + 1]), 1, START,
                            END, MAX_LEN, beam_width=3)
        for x, y in zip(together, alone):
            np.testing.assert_allclose(x[b:b + 1], y)


def test_static_state_gives_same_result():
    def step_fn(ids, state, static):
        return markov_step(LOG_TABLE)(ids, {**state, "bid": static})[0], {
            "prev": ids}
    got = beam_search(step_fn, {"prev": tf.zeros_like(BIDS)}, BATCH, START,
                      END, MAX_LEN, beam_width=3, static=BIDS)
    want = beam_search(markov_step(LOG_TABLE), initial_state(BIDS), BATCH,
                       START, END, MAX_LEN, beam_width=3)
    for x, y in zip(got, want):
        np.testing.assert_allclose(x, y)


def test_stops_early_when_all_finished():
    calls = []
    sure_end = tf.math.log(tf.constant([[1e-9, 1e-9, 1.0, 1e-9, 1e-9, 1e-9]]))

    def step_fn(ids, state):
        calls.append(1)
        return tf.tile(sure_end, [tf.shape(ids)[0], 1]), state

    ids, lengths, _ = beam_search(step_fn, {}, 2, START, END, 10,
                                  beam_width=2)
    # Eager runs one python call per step. Step 1 ends the best beam; the
    # runner-up (a word) ends at step 2, and nothing runs after that.
    assert len(calls) == 2
    assert ids.numpy().tolist() == [[END] + [PAD] * 9] * 2
    assert lengths.numpy().tolist() == [1, 1]


def test_greedy_extras_are_stacked_and_zeroed_after_end():
    def step_fn(ids, state):
        log_probs, state = markov_step(LOG_TABLE)(ids, state)
        return log_probs, state, {"w": tf.ones([tf.shape(ids)[0], 3])}
    ids, lengths, extras = greedy_decode(step_fn, initial_state(BIDS), BATCH,
                                         START, END, MAX_LEN)
    assert extras["w"].shape == (BATCH, MAX_LEN, 3)
    steps = np.arange(MAX_LEN)[None, :, None]
    want = np.broadcast_to(steps < lengths.numpy()[:, None, None],
                           (BATCH, MAX_LEN, 3))
    np.testing.assert_array_equal(extras["w"].numpy(), want.astype("float32"))


class Decoder(tf.Module):
    def __init__(self):
        self.log_table = tf.Variable(LOG_TABLE)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.int32)])
    def decode(self, bids):
        n = tf.shape(bids)[0]
        step = markov_step(self.log_table)
        ids, lengths, scores = beam_search(step, initial_state(bids), n,
                                           START, END, MAX_LEN, beam_width=3)
        greedy_ids, _ = greedy_decode(step, initial_state(bids), n, START,
                                      END, MAX_LEN)
        return {"ids": ids, "lengths": lengths, "scores": scores,
                "greedy_ids": greedy_ids}


def test_tf_function_dynamic_batch_and_saved_model(tmp_path):
    module = Decoder()
    eager = beam_search(markov_step(LOG_TABLE), initial_state(BIDS), BATCH,
                        START, END, MAX_LEN, beam_width=3)
    full = module.decode(BIDS)
    part = module.decode(BIDS[1:3])
    np.testing.assert_array_equal(full["ids"], eager[0])
    np.testing.assert_array_equal(part["ids"], eager[0][1:3])
    tf.saved_model.save(module, str(tmp_path / "decoder"))
    loaded = tf.saved_model.load(str(tmp_path / "decoder"))
    for bids in (BIDS, BIDS[2:]):
        want, got = module.decode(bids), loaded.decode(bids)
        for key in want:
            np.testing.assert_allclose(got[key], want[key])


@pytest.mark.parametrize("kwargs, message", [
    ({"beam_width": 0}, "`beam_width` must be a positive int"),
    ({"max_length": 0}, "`max_length` must be a positive int"),
    ({"length_penalty": -1.0}, "`length_penalty` must be a float >= 0"),
    ({"min_length": -1}, "`min_length` must be an int >= 0"),
    ({"min_length": 1.5}, "`min_length` must be an int >= 0"),
])
def test_bad_arguments_are_rejected(kwargs, message):
    args = {"max_length": MAX_LEN, **kwargs}
    with pytest.raises(ValueError, match=message):
        beam_search(markov_step(LOG_TABLE), initial_state(BIDS), BATCH,
                    START, END, **args)


def test_bad_step_fn_output_is_rejected():
    with pytest.raises(ValueError, match="`step_fn` must return"):
        greedy_decode(lambda ids, state: ids, {}, 1, START, END, 3)


def test_trained_gru_luong_decoder_reverses_sequences():
    """Teacher-force a tiny GRU + Luong model on sequence reversal, then
    decode it greedily and with beams through a step function wrapping the
    trained layers."""
    import keras

    from kerasnlp_seq.attention import LuongAttention

    keras.utils.set_random_seed(0)
    vocab, n, units = 8, 128, 32
    rng = np.random.default_rng(0)
    src = np.zeros((n, 5), np.int32)
    tgt_in, tgt_out = np.zeros((n, 6), np.int32), np.zeros((n, 6), np.int32)
    for i in range(n):
        words = rng.integers(3, vocab, size=rng.integers(3, 6))
        out = list(words[::-1]) + [END]
        src[i, :len(words)] = words
        tgt_out[i, :len(out)], tgt_in[i, :len(out)] = out, [START] + out[:-1]

    enc_emb = keras.layers.Embedding(vocab, 16, mask_zero=True)
    enc_gru = keras.layers.GRU(units, return_sequences=True, return_state=True)
    dec_emb = keras.layers.Embedding(vocab, 16, mask_zero=True)
    dec_gru = keras.layers.GRU(units, return_sequences=True, return_state=True)
    attention = LuongAttention()
    hidden = keras.layers.Dense(units, activation="tanh")
    logits_layer = keras.layers.Dense(vocab)

    s_in = keras.Input((None,), dtype="int32")
    t_in = keras.Input((None,), dtype="int32")
    enc_out, h = enc_gru(enc_emb(s_in))
    dec_out, _ = dec_gru(dec_emb(t_in), initial_state=h)
    context, _ = attention(dec_out, enc_out, mask=keras.ops.not_equal(s_in, 0))
    logits = logits_layer(hidden(keras.ops.concatenate([dec_out, context], -1)))
    model = keras.Model([s_in, t_in], logits)
    model.compile(keras.optimizers.Adam(1e-2), jit_compile=False,
                  loss=keras.losses.SparseCategoricalCrossentropy(
                      from_logits=True, ignore_class=PAD))
    history = model.fit([src, tgt_in], tgt_out, batch_size=32, epochs=20,
                        verbose=0)
    assert history.history["loss"][-1] < 0.2 * history.history["loss"][0]

    def step_fn(ids, state, static):
        h, _ = dec_gru.cell(tf.gather(dec_emb.embeddings, ids), [state["h"]])
        context, weights = attention(h, static["enc"], mask=static["mask"])
        logits = logits_layer(hidden(tf.concat([h, context], -1)))
        return tf.nn.log_softmax(logits), {"h": h}, weights

    @tf.function
    def decode(src):
        enc_out, h = enc_gru(enc_emb(src))
        static = {"enc": enc_out, "mask": tf.not_equal(src, PAD)}
        args = ({"h": h}, tf.shape(src)[0], START, END, 6)
        return (greedy_decode(step_fn, *args, static=static),
                beam_search(step_fn, *args, beam_width=3, static=static))

    (g_ids, g_len, weights), (b_ids, b_len, _) = decode(tf.constant(src))
    assert np.mean(np.all(g_ids.numpy() == tgt_out, axis=1)) >= 0.9
    assert np.mean(np.all(b_ids.numpy() == tgt_out, axis=1)) >= 0.9
    np.testing.assert_array_equal(g_len, (g_ids.numpy() != PAD).sum(1))
    np.testing.assert_array_equal(b_len, (b_ids.numpy() != PAD).sum(1))
    assert weights.shape == (n, 6, 5)
    assert np.all(weights.numpy()[np.broadcast_to(
        (src == PAD)[:, None, :], weights.shape)] == 0)


CAPS = [1, 2, 3, 4]  # one per batch element: each stops at its own cap


@pytest.mark.parametrize("decode", ["greedy", "beam"])
def test_per_sequence_caps_equal_decoding_each_alone(decode):
    def run(bids, max_length):
        step, state = markov_step(LOG_TABLE), initial_state(bids)
        n = int(bids.shape[0])
        if decode == "greedy":
            return greedy_decode(step, state, n, START, END, max_length)
        return beam_search(step, state, n, START, END, max_length,
                           beam_width=3, length_penalty=ALPHA)

    together = run(BIDS, tf.constant(CAPS))
    assert together[0].shape == (BATCH, max(CAPS))
    for b, cap in enumerate(CAPS):
        alone = run(BIDS[b:b + 1], cap)
        assert together[0][b].numpy().tolist() == padded(
            alone[0][0].numpy().tolist(), max(CAPS))
        for x, y in zip(together[1:], alone[1:]):
            np.testing.assert_allclose(x[b], y[0], rtol=1e-6)
        assert 1 <= together[1][b] <= cap
    assert together[1][0] == 1  # the first step alone respects a cap of 1


def test_wide_beam_with_per_sequence_caps_finds_brute_force_best():
    # A hypothesis at its example's cap competes like one that ended there.
    ids, lengths, scores = beam_search(
        markov_step(LOG_TABLE), initial_state(BIDS), BATCH, START, END,
        tf.constant(CAPS), beam_width=128, length_penalty=ALPHA)
    for b, cap in enumerate(CAPS):
        best_score, best = brute_force(P, b, cap)
        assert ids[b].numpy().tolist() == padded(best, max(CAPS))
        assert lengths[b] == len(best)
        np.testing.assert_allclose(scores[b], best_score, rtol=1e-5)


def test_per_sequence_caps_in_a_saved_model(tmp_path):
    class CappedDecoder(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([None], tf.int32),
                                      tf.TensorSpec([None], tf.int32)],
                     autograph=False)
        def decode(self, bids, caps):
            n, step = tf.shape(bids)[0], markov_step(LOG_TABLE)
            return (greedy_decode(step, initial_state(bids), n, START, END,
                                  caps)[0],
                    beam_search(step, initial_state(bids), n, START, END,
                                caps, beam_width=3)[0])

    tf.saved_model.save(CappedDecoder(), str(tmp_path / "capped"))
    loaded = tf.saved_model.load(str(tmp_path / "capped"))
    caps = tf.constant(CAPS)
    got = loaded.decode(BIDS, caps)
    want = (greedy_decode(markov_step(LOG_TABLE), initial_state(BIDS), BATCH,
                          START, END, caps)[0],
            beam_search(markov_step(LOG_TABLE), initial_state(BIDS), BATCH,
                        START, END, caps, beam_width=3)[0])
    for x, y in zip(got, want):
        np.testing.assert_array_equal(x, y)


def test_max_length_of_rank_two_is_rejected():
    with pytest.raises(ValueError, match="a `\\(batch,\\)` tensor"):
        greedy_decode(markov_step(LOG_TABLE), initial_state(BIDS), BATCH,
                      START, END, tf.fill([BATCH, 1], MAX_LEN))


def make_seq2seq_decoder(max_length=60):
    """An untrained (so rarely ending) seeded `build_seq2seq` model."""
    import keras

    from kerasnlp_seq.seq2seq import Seq2SeqDecoder
    from kerasnlp_seq.seq2seq import build_seq2seq

    keras.utils.set_random_seed(0)
    args = dict(embedding_dim=8, cell="gru", units=8, decoder_layers=1,
                attention="luong", dropout=0.0)
    model = build_seq2seq(30, 40, encoder_units=8, **args)
    return Seq2SeqDecoder(model, 40, start_id=START, end_id=END,
                          max_length=max_length, beam_width=3, **args)


@pytest.mark.parametrize("method", ["greedy", "beam"])
def test_seq2seq_translation_does_not_depend_on_its_batch(method):
    decode = make_seq2seq_decoder(max_length=60).function(method)
    rng = np.random.default_rng(0)
    short = [5, 6, 7, END]  # cap 2 * 4 + 10 = 18
    sources = np.zeros((3, 25), np.int32)
    sources[0, :4] = short
    sources[1] = list(rng.integers(3, 30, 24)) + [END]  # cap 60
    sources[2, :11] = list(rng.integers(3, 30, 10)) + [END]  # cap 32
    alone, _ = decode(tf.constant([short]))
    together, _ = decode(tf.constant(sources))
    alone, together = alone.numpy(), together.numpy()
    assert alone.shape == (1, 18) and together.shape == (3, 60)
    # Untrained, the short one runs to its own cap: the cap is tested.
    assert (alone != PAD).sum() == 18
    np.testing.assert_array_equal(together[0], padded(alone[0].tolist(), 60))
    caps = np.minimum(60, 2 * (sources != PAD).sum(1) + 10)
    assert np.all((together != PAD).sum(1) <= caps)
    assert np.all(together[np.arange(60)[None, :] >= caps[:, None]] == PAD)


# A chain whose end token is the most likely first token: decoded freely,
# every sequence is empty (just the end token).
P_EARLY_END = P.copy()
P_EARLY_END[:, 0, START, :] = [0, 0, 0.7, 0.1, 0.1, 0.1]
with np.errstate(divide="ignore"):
    LOG_EARLY_END = tf.constant(np.log(P_EARLY_END), tf.float32)


@pytest.mark.parametrize("min_length", [0, 1, 2, 3])
def test_min_length_greedy_matches_numpy(min_length):
    ids, lengths = greedy_decode(
        markov_step(LOG_EARLY_END), initial_state(BIDS), BATCH, START, END,
        MAX_LEN, min_length=min_length)
    for b in range(BATCH):
        _, seq = numpy_greedy(P_EARLY_END, b, MAX_LEN, min_length)
        assert ids[b].numpy().tolist() == padded(seq, MAX_LEN)
        assert lengths[b] == len(seq)
        words = [w for w in seq if w != END]
        assert len(words) >= min(min_length, MAX_LEN)
    if min_length == 0:  # the fixture really ends at once when free
        assert lengths.numpy().tolist() == [1] * BATCH


@pytest.mark.parametrize("min_length", [0, 1, 2])
def test_min_length_wide_beam_finds_brute_force_best(min_length):
    ids, lengths, scores = beam_search(
        markov_step(LOG_EARLY_END), initial_state(BIDS), BATCH, START, END,
        MAX_LEN, beam_width=128, length_penalty=ALPHA, min_length=min_length)
    for b in range(BATCH):
        best_score, best = brute_force(P_EARLY_END, b, MAX_LEN, min_length)
        assert ids[b].numpy().tolist() == padded(best, MAX_LEN)
        assert lengths[b] == len(best)
        np.testing.assert_allclose(scores[b], best_score, rtol=1e-5)
    if min_length == 0:
        assert lengths.numpy().tolist() == [1] * BATCH
    else:
        assert min(lengths.numpy().tolist()) >= min_length + 1


def test_min_length_above_the_cap_finishes_at_the_cap():
    ids, lengths = greedy_decode(
        markov_step(LOG_EARLY_END), initial_state(BIDS), BATCH, START, END,
        2, min_length=5)
    assert lengths.numpy().tolist() == [2] * BATCH
    assert END not in ids.numpy().tolist()[0]
