"""The encoder-decoder (sequence to sequence) model and its in-graph decoding.

`build_seq2seq` assembles the textbook model from the shared parts: a source
embedding, an encoder from `build_recurrent` (stacked, optionally
bidirectional, returning its sequences and final states), a bridge from the
encoder's final states to the decoder's width, and a
`kerasnlp_seq.decoder.RecurrentDecoder` initialised by those states that
attends over the encoder outputs (or not: `attention="none"` is the pure
context-vector model). It is trained by teacher forcing:
`{"source": ids, "target_in": ids}` -> target logits.

`Seq2SeqDecoder` wraps a built or reloaded model for greedy or beam
decoding inside the TF graph (`kerasnlp_seq.decoding`), as one
`tf.function` from padded source ids to target ids (and attention
weights), the function `evaluate`, `predict` and a SavedModel all call.
Captioning's counterpart is `kerasnlp_seq.captioner.CaptionGenerator`.

Example (a user's own model, no task module involved):

>>> model = build_seq2seq(100, 120, embedding_dim=8, encoder_units=8,
...                       units=8)
>>> sorted(model.input)
['source', 'target_in']
>>> model.output_shape
(None, None, 120)
"""

from kerasnlp_seq.lazy import keras

# Layer names the decoding side finds its parts by, in a reloaded model too.
SOURCE = "source"
MEMORY = "memory"
BRIDGE = "bridge_{}"
SOURCE_EMBEDDING = "source_embedding"
# The decoder's embedding (named by `decoder_kwargs`); with
# `share_embeddings` it embeds the source too.
TARGET_EMBEDDING = "decoder_embedding"


def build_seq2seq(source_vocab_size, target_vocab_size, embedding_dim=256,
                  cell="gru", encoder_units=256, encoder_layers=1,
                  bidirectional=True, units=256, decoder_layers=1,
                  attention="luong", dropout=0.3, tie_embeddings=False,
                  word_dropout=0.0, share_embeddings=False,
                  attention_from="top", name="seq2seq"):
    """An attention encoder-decoder trained by teacher forcing.

    Args:
        source_vocab_size, target_vocab_size: int. Id 0 is padding on both
            sides.
        embedding_dim: int. Token embedding width (both sides).
        cell: str. `"simple_rnn"`, `"lstm"` or `"gru"` (encoder and decoder).
        encoder_units: int. Encoder units per direction.
        encoder_layers: int. Stacked encoder layers.
        bidirectional: bool. A bidirectional encoder (its forward and
            backward final states are combined by the builder).
        units: int. Decoder units; a tanh `Dense` bridge maps the encoder's
            final states when their width differs, an identity otherwise.
        decoder_layers: int. Stacked decoder layers.
        attention: str. `"none"`, `"luong"` or `"bahdanau"`.
        attention_from: str. `"top"` or `"bottom"`: which decoder layer
            queries the attention (`RecurrentDecoder`'s argument).
        dropout: float. On the source embeddings, between layers and before
            the output layer.
        tie_embeddings: bool. The target embeddings are also the output
            layer (needs `embedding_dim == units`).
        word_dropout: float. In training, whole source and target tokens
            are dropped from the embeddings at this rate
            (`kerasnlp_seq.decoder.word_dropout_layer`).
        share_embeddings: bool. One embedding matrix for source and target
            tokens (the decoder's, named `TARGET_EMBEDDING`), for a vocabulary
            shared by both sides (joint BPE); needs `source_vocab_size ==
            target_vocab_size`. OpenNMT's `share_embeddings`, fairseq's
            `--share-all-embeddings` without the output layer.
        name: str. Model name.

    Returns:
        A `keras.Model` from `{"source": (batch, s), "target_in": (batch, t)}`
        int32 ids to `(batch, t, target_vocab_size)` float32 logits.
    """
    from kerasnlp_seq.builder import build_recurrent
    from kerasnlp_seq.decoder import RecurrentDecoder, embedding_initializer
    from kerasnlp_seq.decoder import word_dropout_layer

    if share_embeddings and source_vocab_size != target_vocab_size:
        raise ValueError(
            "`share_embeddings` needs one vocabulary for both sides. "
            f"Received: source_vocab_size={source_vocab_size}, "
            f"target_vocab_size={target_vocab_size}")
    source = keras.Input((None,), dtype="int32", name=SOURCE)
    target_in = keras.Input((None,), dtype="int32", name="target_in")

    def make_decoder():
        return RecurrentDecoder(
            target_vocab_size, word_dropout=word_dropout, **decoder_kwargs(
                embedding_dim, cell, units, decoder_layers, attention,
                dropout, tie_embeddings, attention_from))

    # Unseeded Keras initializers take their seeds when constructed, so the
    # layers are made in a fixed order: the decoder after the encoder,
    # unless the source needs its embedding first. A seeded run of a model
    # without shared embeddings starts from the same weights as before.
    decoder = make_decoder() if share_embeddings else None
    x = (decoder.embedding if share_embeddings else keras.layers.Embedding(
        source_vocab_size, embedding_dim, mask_zero=True,
        embeddings_initializer=embedding_initializer(),
        name=SOURCE_EMBEDDING))(source)
    if word_dropout:
        x = word_dropout_layer(word_dropout, "source_word_dropout")(x)
    x = keras.layers.Dropout(dropout, name="source_dropout")(x)
    encoder = build_recurrent(
        cell=cell, units=encoder_units, num_layers=encoder_layers,
        bidirectional=bidirectional, return_sequences=True,
        return_state=True, dropout=dropout, name="encoder")
    memory, *states = encoder(x)
    memory = keras.layers.Identity(name=MEMORY)(memory)
    bridge = encoder.output_dim != units
    states = [keras.layers.Dense(units, activation="tanh",
                                 name=BRIDGE.format(i + 1))(s) if bridge
              else keras.layers.Identity(name=BRIDGE.format(i + 1))(s)
              for i, s in enumerate(states)]
    if decoder is None:
        decoder = make_decoder()
    source_mask = keras.layers.Identity(name="source_mask")(
        keras.ops.not_equal(source, 0))
    logits, _ = decoder(target_in, states, memory=memory,
                        memory_mask=source_mask)
    return keras.Model({SOURCE: source, "target_in": target_in}, logits,
                       name=name)


def decoder_kwargs(embedding_dim, cell, units, decoder_layers, attention,
                   dropout, tie_embeddings=False, attention_from="top"):
    """`RecurrentDecoder` arguments of a `build_seq2seq` model."""
    return dict(embedding_dim=embedding_dim, cell=cell, units=units,
                num_layers=decoder_layers, attention=attention,
                dropout=dropout, tie_embeddings=tie_embeddings,
                attention_from=attention_from, name="decoder")


class Seq2SeqDecoder:
    """Greedy / beam decoding of a `build_seq2seq` model in the TF graph.

    The encoder is cut from the model by layer names and the decoder rebuilt
    around its layers (`RecurrentDecoder.from_model`), so a model reloaded
    from a `.keras` file decodes exactly as the trained one.

    Args:
        model: a built or reloaded `build_seq2seq` model.
        target_vocab_size, embedding_dim, cell, units, decoder_layers,
            attention, dropout, tie_embeddings, attention_from: as given to
            `build_seq2seq`.
        start_id, end_id: int. The target side's start and end token ids.
        max_length: int. The most target tokens generated; each sentence
            also stops at twice its own source length (its non-pad ids, end
            token included) plus 10, whatever else is in its batch.
        beam_width: int. Beam size.
        length_penalty: float. GNMT length penalty alpha (beam).
        min_length: int. Target tokens before the end token may be chosen
            (0: an empty translation is possible).
    """

    def __init__(self, model, target_vocab_size, embedding_dim, cell, units,
                 decoder_layers, attention, dropout, start_id, end_id,
                 max_length, beam_width=5, length_penalty=0.6,
                 tie_embeddings=False, attention_from="top", min_length=0):
        from kerasnlp_seq.decoder import RecurrentDecoder

        self.decoder = RecurrentDecoder.from_model(
            model, target_vocab_size, **decoder_kwargs(
                embedding_dim, cell, units, decoder_layers, attention,
                dropout, tie_embeddings, attention_from))
        self.attends = attention != "none"  # else no memory in the model
        self.encoder = keras.Model(
            model.get_layer(SOURCE).output,
            ([model.get_layer(MEMORY).output] if self.attends else []) + [
                model.get_layer(BRIDGE.format(i + 1)).output
                for i in range(self.decoder.num_states)])
        self.start_id, self.end_id = start_id, end_id
        self.max_length = max_length
        self.beam_width, self.length_penalty = beam_width, length_penalty
        self.min_length = min_length
        self._functions = {}

    def function(self, method="beam"):
        """A `tf.function`: padded source ids `(batch, s)` int32 ->
        `(ids (batch, t), attention weights (batch, t, s))`; the weights
        are `(batch, 0, 0)` zeros for beam search and without attention."""
        import tensorflow as tf

        if method in self._functions:
            return self._functions[method]

        # The loops are explicit `tf.while_loop`s: no AutoGraph needed.
        @tf.function(input_signature=[tf.TensorSpec([None, None], tf.int32)],
                     autograph=False)
        def decode(source_ids):
            outputs = tf.nest.flatten(self.encoder(source_ids,
                                                   training=False))
            memory = outputs[0] if self.attends else None
            states = outputs[1:] if self.attends else outputs
            # Translations rarely run past twice their source's length. The
            # cap is per sentence, so a translation does not depend on the
            # longest source of its batch.
            source_lengths = tf.math.count_nonzero(source_ids, axis=1,
                                                   dtype=tf.int32)
            limit = tf.minimum(self.max_length, 2 * source_lengths + 10)
            ids, _, weights = self.decoder.generate(
                states, memory=memory, memory_mask=source_ids != 0,
                start_id=self.start_id, end_id=self.end_id,
                max_length=limit, method=method, beam_width=self.beam_width,
                length_penalty=self.length_penalty,
                min_length=self.min_length)
            if weights is None:
                weights = tf.zeros([tf.shape(ids)[0], 0, 0])
            return ids, weights

        self._functions[method] = decode
        return decode


def export_translator(model, translate, source_ids, source_tokenizer,
                      target_tokenizer, path):
    """Write a SavedModel: raw source strings in, translations out.

    `serving_default(text: string[batch])` returns `{"translation":
    string[batch], "length": int32[batch]}` (target tokens before the end
    token), decoding inside the graph as `translate` does; a blank text
    gives `""` and length 0, as `predict` gives it nothing, and an empty
    batch an empty answer (`kerasnlp_seq.serving`).

    Args:
        model: the trained model (tracked, so its weights are saved).
        translate: `Seq2SeqDecoder.function(...)`: padded source ids ->
            `(ids, attention)`.
        source_ids: callable. String tensor `(batch,)` -> padded source ids
            (graph ops).
        source_tokenizer, target_tokenizer: `kerasnlp_seq.seq_tokenizers`
            tokenizers (their lookup tables are saved with the model).
        path: str. The SavedModel directory to write.
    """
    import tensorflow as tf

    from kerasnlp_seq.seq_tokenizers import END_ID
    from kerasnlp_seq.serving import empty_batch_safe, is_blank

    archive = keras.export.ExportArchive()
    archive.track(model)
    for resource in source_tokenizer.resources + target_tokenizer.resources:
        archive.track(resource)

    def serve(text):
        ids, _ = translate(source_ids(text))
        ended = tf.cumsum(tf.cast(tf.equal(ids, END_ID), tf.int32), 1)
        length = tf.reduce_sum(tf.cast(tf.logical_and(
            ids > 0, ended == 0), tf.int32), axis=1)
        blank = is_blank(text)  # nothing to translate: "", as predict
        return {"translation": tf.where(blank, "",
                                        target_tokenizer.decode(ids)),
                "length": tf.where(blank, 0, length)}

    archive.add_endpoint(
        "serving_default", empty_batch_safe(serve),
        input_signature=[tf.TensorSpec([None], tf.string, name="text")])
    archive.write_out(path, verbose=False)
