"""Tests for `kerasnlp_seq.decoder.RecurrentDecoder`.

The decoder is applied two ways, teacher-forced over a whole prefix and one
step at a time inside greedy / beam search; the central check is that both
give the same distributions. A small encoder-decoder then learns to reverse
digit strings, decodes them with both methods, and survives a `.keras` round
trip through `RecurrentDecoder.from_model`.
"""

import numpy as np
import pytest
import tensorflow as tf

import keras

from kerasnlp_seq.builder import build_recurrent
from kerasnlp_seq.decoder import RecurrentDecoder, word_dropout_layer

START, END = 1, 2
VOCAB = 10  # 0 pad, 1 start, 2 end, 3-9 symbols


def _model(cell, attention, num_layers=1, units=16, dropout=0.0,
           tie_embeddings=False, attention_from="top"):
    """Encoder (BiGRU/BiLSTM, summed states) + decoder, functional."""
    source = keras.Input((None,), dtype="int32", name="source")
    target_in = keras.Input((None,), dtype="int32", name="target_in")
    x = keras.layers.Embedding(VOCAB, 16, mask_zero=True, name="src_emb")(source)
    memory, *states = build_recurrent(
        cell=cell, units=units, bidirectional=True, merge_mode="sum",
        return_sequences=True, return_state=True, name="encoder")(x)
    decoder = RecurrentDecoder(VOCAB, 16, cell=cell, units=units,
                               num_layers=num_layers, attention=attention,
                               dropout=dropout, tie_embeddings=tie_embeddings,
                               attention_from=attention_from)
    logits, _ = decoder(target_in, states, memory=memory)
    return keras.Model([source, target_in], logits), decoder, states, memory


def _encoder(model, cell):
    n = 2 if cell == "lstm" else 1
    outs = model.get_layer("encoder_bidirectional_1").output
    merged = [model.get_layer(f"encoder_state_{s}").output
              for s in ("h", "c")[:n]]
    return keras.Model(model.inputs[0], [outs[0]] + merged)


@pytest.mark.parametrize("cell", ["gru", "lstm", "simple_rnn"])
@pytest.mark.parametrize("attention", ["none", "luong", "bahdanau"])
def test_step_by_step_equals_teacher_forcing(cell, attention):
    keras.utils.set_random_seed(0)
    model, decoder, _, _ = _model(cell, attention, num_layers=2)
    _assert_steps_match_teacher_forcing(model, decoder, cell, attention)


@pytest.mark.parametrize("cell", ["gru", "lstm"])
@pytest.mark.parametrize("attention", ["luong", "bahdanau"])
def test_attention_from_the_bottom_layer_feeds_the_layers_above(cell,
                                                               attention):
    keras.utils.set_random_seed(0)
    model, decoder, _, _ = _model(cell, attention, num_layers=3,
                                  attention_from="bottom")
    # Layers 2 and 3 read their input (16) and the context (16 summed
    # encoder units): their input kernels are 32 rows deep, layer 1's 16.
    depths = [model.get_layer(f"decoder_rnn{i}_{cell}_1").cell.kernel.shape[0]
              for i in (1, 2, 3)]
    assert depths == [16, 32, 32]
    _assert_steps_match_teacher_forcing(model, decoder, cell, attention,
                                        num_layers=3)
    # The attention weights follow the bottom layer: changing only the top
    # layer's weights leaves them alone and changes the logits.
    source = np.array([[3, 4, 5, 6]], "int32")
    target = np.array([[1, 4, 5]], "int32")
    probe = keras.Model(model.inputs, [model.output, model.get_layer(
        "decoder_attention").output[1]])
    logits, weights = (t.numpy() for t in probe([source, target]))
    top = model.get_layer(f"decoder_rnn3_{cell}_1").cell.kernel
    top.assign(top.numpy() + 0.5)
    logits2, weights2 = (t.numpy() for t in probe([source, target]))
    np.testing.assert_allclose(weights2, weights, atol=1e-6)
    assert np.abs(logits2 - logits).max() > 1e-3


def _assert_steps_match_teacher_forcing(model, decoder, cell, attention,
                                        num_layers=2):
    encoder = _encoder(model, cell)
    source = np.array([[3, 4, 5, 6], [7, 8, 0, 0]], "int32")
    target = np.array([[1, 4, 5, 6, 9], [1, 3, 3, 0, 0]], "int32")
    forced = tf.nn.log_softmax(model([source, target])[..., 1:]).numpy()
    memory, *state = encoder(source)
    state = [list(state)] * num_layers
    static = None
    if attention != "none":
        static = {"memory": memory, "mask": tf.constant(source != 0)}
    steps = []
    for t in range(target.shape[1]):
        out = decoder.step(tf.constant(target[:, t]), state, static)
        steps.append(out[0].numpy())
        state = out[1]
    steps = np.stack(steps, axis=1)
    assert np.all(steps[..., 0] < -1e8), "padding must never be generated"
    steps = steps[..., 1:] - np.log(np.exp(steps[..., 1:]).sum(-1,
                                                             keepdims=True))
    np.testing.assert_allclose(steps[0], forced[0], atol=1e-4)
    np.testing.assert_allclose(steps[1, :3], forced[1, :3], atol=1e-4)


@pytest.mark.parametrize("attention", ["none", "luong"])
def test_tied_embeddings_are_one_matrix_in_and_out(attention, tmp_path):
    keras.utils.set_random_seed(0)
    untied = _model("gru", attention)[0]
    model, decoder, _, _ = _model("gru", attention, tie_embeddings=True)
    names = [layer.name for layer in model.layers]
    assert "decoder_logits" not in names
    # The output layer adds only its bias: one (units x vocab) kernel less.
    assert untied.count_params() - model.count_params() == 16 * VOCAB
    embedding = model.get_layer("decoder_embedding")
    embedding.logit_bias.assign(np.linspace(-1, 1, VOCAB))
    _assert_steps_match_teacher_forcing(model, decoder, "gru", attention)

    # Both roles train the same matrix: the loss moves every row it scores.
    source = np.array([[3, 4, 5]], "int32")
    target = np.array([[1, 4, 0]], "int32")
    with tf.GradientTape() as tape:
        logits = model([source, target])
        loss = -tf.reduce_mean(tf.nn.log_softmax(logits)[0, 0, 7])
    grad = tape.gradient(loss, embedding.embeddings)
    grad = tf.convert_to_tensor(grad).numpy()
    assert np.abs(grad[7]).sum() > 0  # scored, never embedded
    assert logits._keras_mask.numpy().tolist() == [[True, True, False]]

    path = str(tmp_path / "tied.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(loaded([source, target]), logits, atol=1e-6)
    again = RecurrentDecoder.from_model(loaded, VOCAB, embedding_dim=16,
                                        cell="gru", units=16,
                                        attention=attention,
                                        tie_embeddings=True)
    assert again.embedding is loaded.get_layer("decoder_embedding")
    _assert_steps_match_teacher_forcing(loaded, again, "gru", attention)

    with pytest.raises(ValueError, match="embedding_dim == units"):
        RecurrentDecoder(VOCAB, 8, units=16, tie_embeddings=True)


def test_word_dropout_drops_whole_tokens_in_training_only():
    embedding = keras.layers.Embedding(VOCAB, 6, mask_zero=True)
    ids = np.tile(np.arange(1, VOCAB), (8, 3)).astype("int32")
    ids[:, -4:] = 0  # padding: the mask must come through
    x = embedding(ids)
    layer = word_dropout_layer(0.5, "word_dropout")
    keras.utils.set_random_seed(0)
    y = layer(x, training=True)
    dropped = np.all(y.numpy() == 0, axis=-1)
    kept = ~dropped
    # Every token is zeroed or kept whole, scaled by 1 / (1 - rate).
    np.testing.assert_allclose(y.numpy()[kept], 2 * x.numpy()[kept],
                               rtol=1e-6)
    assert 0.35 < dropped.mean() < 0.65, dropped.mean()
    np.testing.assert_array_equal(y._keras_mask.numpy(), ids != 0)
    np.testing.assert_array_equal(layer(x, training=False).numpy(),
                                  x.numpy())

    # In a decoder: training-mode logits change, inference is untouched.
    keras.utils.set_random_seed(0)
    plain = _model("gru", "luong")[0]
    source = keras.Input((None,), dtype="int32")
    target_in = keras.Input((None,), dtype="int32")
    memory = keras.layers.Embedding(VOCAB, 16, mask_zero=True)(source)
    h = keras.layers.GlobalAveragePooling1D()(memory)
    decoder = RecurrentDecoder(VOCAB, 16, units=16, attention="luong",
                               word_dropout=0.5)
    model = keras.Model([source, target_in],
                        decoder(target_in, [h], memory=memory)[0])
    assert "decoder_word_dropout" in [layer.name for layer in model.layers]
    assert "decoder_word_dropout" not in [layer.name
                                          for layer in plain.layers]
    batch = [np.array([[3, 4, 5, 6]] * 4, "int32"),
             np.array([[1, 7, 8, 9, 3, 4]] * 4, "int32")]
    inference = model(batch, training=False).numpy()
    np.testing.assert_array_equal(model(batch, training=False).numpy(),
                                  inference)
    trained = [model(batch, training=True).numpy() for _ in range(3)]
    assert any(not np.allclose(t, inference) for t in trained)


def test_logits_are_masked_float32_and_attention_sums_to_one():
    source = keras.Input((None,), dtype="int32")
    target_in = keras.Input((None,), dtype="int32")
    memory = keras.layers.Embedding(VOCAB, 8)(source)
    h = keras.layers.Dense(16)(keras.layers.GlobalAveragePooling1D()(memory))
    decoder = RecurrentDecoder(VOCAB, 8, units=16, attention="bahdanau")
    logits, weights = decoder(target_in, [h], memory=memory,
                              memory_mask=keras.ops.not_equal(source, 0))
    model = keras.Model([source, target_in], [logits, weights])
    src = np.array([[3, 4, 0]])
    tgt = np.array([[1, 5, 0, 0]])
    out_logits, out_weights = model([src, tgt])
    assert out_logits.dtype == "float32"
    mask = decoder(tf.constant(tgt), [tf.zeros((1, 16))],
                   memory=tf.zeros((1, 3, 8)))[0]._keras_mask
    assert mask.numpy().tolist() == [[True, True, False, False]]
    w = np.asarray(out_weights)
    np.testing.assert_allclose(w.sum(-1), 1.0, rtol=1e-5)
    assert np.all(w[..., 2] == 0.0)  # masked source position


def test_bad_arguments():
    with pytest.raises(ValueError, match="Unknown `attention`"):
        RecurrentDecoder(10, attention="dot")
    with pytest.raises(ValueError, match="Unknown `attention_from`"):
        RecurrentDecoder(10, attention="luong", attention_from="middle")
    with pytest.raises(ValueError, match="positive int"):
        RecurrentDecoder(0)
    decoder = RecurrentDecoder(10, 4, cell="lstm", units=4, num_layers=2,
                               attention="luong")
    with pytest.raises(ValueError, match="needs `memory`"):
        decoder.generate([tf.zeros((1, 4))] * 2)
    with pytest.raises(ValueError, match="2 state tensor"):
        decoder.generate([tf.zeros((1, 4))], memory=tf.zeros((1, 2, 3)))
    with pytest.raises(ValueError, match="3 per-layer"):
        decoder.generate([[tf.zeros((1, 4))] * 2] * 3,
                         memory=tf.zeros((1, 2, 3)))
    with pytest.raises(ValueError, match="Unknown decoding `method`"):
        decoder.generate([tf.zeros((1, 4))] * 2, memory=tf.zeros((1, 2, 3)),
                         method="sample")


def _reversal_data(n, rng):
    lengths = rng.integers(2, 6, size=n)
    source = np.zeros((n, 5), "int32")
    target = np.zeros((n, 7), "int32")
    for i, length in enumerate(lengths):
        seq = rng.integers(3, VOCAB, size=length)
        source[i, :length] = seq
        target[i, :length + 2] = [START, *seq[::-1], END]
    return source, target


@pytest.fixture(scope="module")
def reversal(tmp_path_factory):
    """An attention GRU encoder-decoder trained to reverse digit strings."""
    keras.utils.set_random_seed(1)
    rng = np.random.default_rng(1)
    source, target = _reversal_data(3000, rng)
    model, decoder, _, _ = _model("gru", "luong", units=32)
    model.compile(optimizer=keras.optimizers.Adam(0.01),
                  loss=keras.losses.SparseCategoricalCrossentropy(
                      from_logits=True))
    model.fit([source, target[:, :-1]], target[:, 1:], batch_size=64,
              epochs=12, verbose=0)
    path = str(tmp_path_factory.mktemp("decoder") / "model.keras")
    model.save(path)
    test_source, test_target = _reversal_data(64, np.random.default_rng(7))
    return model, decoder, path, test_source, test_target


def _decode(model, decoder, source, **kwargs):
    memory, h = _encoder(model, "gru")(source)
    ids, lengths, weights = decoder.generate(
        [h], memory=memory, memory_mask=source != 0, start_id=START,
        end_id=END, max_length=7, **kwargs)
    return ids.numpy(), lengths.numpy(), weights


@pytest.mark.parametrize("method", ["greedy", "beam"])
def test_learns_to_reverse_and_decodes_with_both_methods(reversal, method):
    model, decoder, _, source, target = reversal
    ids, lengths, weights = _decode(model, decoder, source, method=method,
                                    beam_width=3)
    expected = target[:, 1:]
    exact = np.mean([np.array_equal(ids[i, :lengths[i]],
                                     expected[i, :lengths[i]])
                     and expected[i, lengths[i] - 1] == END
                     for i in range(len(ids))])
    assert exact >= 0.9, f"{method}: only {exact:.0%} reversed exactly"
    assert np.all(ids[np.arange(7)[None] >= lengths[:, None]] == 0)
    if method == "greedy":
        assert tuple(weights.shape) == (64, 7, 5)
    else:
        assert weights is None


def test_reloaded_model_decodes_the_same(reversal):
    model, decoder, path, source, _ = reversal
    loaded = keras.saving.load_model(path)
    again = RecurrentDecoder.from_model(loaded, VOCAB, embedding_dim=16,
                                        cell="gru", units=32,
                                        attention="luong")
    assert again.output is loaded.get_layer("decoder_logits")
    for method in ("greedy", "beam"):
        a = _decode(model, decoder, source, method=method)
        b = _decode(loaded, again, source, method=method)
        np.testing.assert_array_equal(a[0], b[0])


def test_generate_traces_with_a_dynamic_batch(reversal):
    model, decoder, _, source, _ = reversal
    encoder = _encoder(model, "gru")

    @tf.function(input_signature=[tf.TensorSpec([None, None], tf.int32)])
    def translate(src):
        memory, h = encoder(src)
        return decoder.generate([h], memory=memory, memory_mask=src != 0,
                                start_id=START, end_id=END, max_length=7,
                                method="beam", beam_width=2)[0]

    eager = _decode(model, decoder, source[:3], method="beam",
                    beam_width=2)[0]
    np.testing.assert_array_equal(translate(tf.constant(source[:3])), eager)
    assert translate(tf.constant(source[:1])).shape == (1, 7)


def test_loss_ignores_padded_target_positions():
    keras.utils.set_random_seed(3)
    model, _, _, _ = _model("lstm", "bahdanau")
    model.compile(loss=keras.losses.SparseCategoricalCrossentropy(
        from_logits=True))
    source = np.array([[3, 4, 5], [6, 0, 0]], "int32")
    target_in = np.array([[1, 5, 4, 3], [1, 6, 0, 0]], "int32")
    labels = np.array([[5, 4, 3, 2], [6, 2, 0, 0]], "int32")
    garbage = labels.copy()
    garbage[1, 2:] = [7, 9]  # labels under padding must not count
    a = model.evaluate([source, target_in], labels, verbose=0)
    b = model.evaluate([source, target_in], garbage, verbose=0)
    assert a == pytest.approx(b, rel=1e-6)


@pytest.mark.parametrize("attention", ["luong", "bahdanau"])
def test_attention_is_not_flat_at_initialization(attention):
    # Keras' uniform(-0.05, 0.05) embeddings give recurrent outputs of about
    # 0.01, so attention starts uniform and learns slowly (Multi30k: token
    # accuracy 0.17 vs 0.39 after 400 batches); the decoder's N(0, 1)
    # embeddings must give scores that already tell positions apart.
    from kerasnlp_seq.decoder import embedding_initializer

    def max_weight(initializer):
        keras.utils.set_random_seed(0)
        source = keras.Input((None,), dtype="int32")
        target_in = keras.Input((None,), dtype="int32")
        x = keras.layers.Embedding(200, 64, mask_zero=True,
                                   embeddings_initializer=initializer)(source)
        memory, state = build_recurrent(
            cell="gru", units=64, bidirectional=True, merge_mode="sum",
            return_sequences=True, return_state=True)(x)
        decoder = RecurrentDecoder(
            200, 64, units=64, attention=attention,
            embeddings_initializer=(None if initializer != "uniform"
                                    else "uniform"))
        _, weights = decoder(target_in, [state], memory=memory)
        model = keras.Model([source, target_in], weights)
        rng = np.random.default_rng(0)
        w = model.predict([rng.integers(3, 200, (8, 20)),
                           rng.integers(3, 200, (8, 10))], verbose=0)
        return float(w.max(-1).mean())

    uniform = 1 / 20
    assert max_weight("uniform") < 1.2 * uniform
    assert max_weight(embedding_initializer()) > 1.5 * uniform
