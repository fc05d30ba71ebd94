"""The captioning model: image features -> initial state (+ memory) -> decoder.

`build_captioner` assembles Show and Tell (the image embedding, projected,
is the decoder's initial state) and, with `attention`, Show, Attend and Tell
(the decoder also attends over the flattened spatial feature map, to which a
learned position embedding is added so the attended context knows *where*).
The decoder is the shared `kerasnlp_seq.decoder.RecurrentDecoder`, trained
with teacher forcing.

A training batch holds `b` images and all their captions, `(b, k, t)` ids
(a missing caption is all padding and costs nothing): the encoder runs once
per image, and its outputs are repeated `k` times for the decoder, so every
(image, caption) pair is one training sequence but the CNN is not re-run
for each. The model outputs `(b * k, t, vocab)` logits.

`CaptionGenerator` wraps a trained (or reloaded) model for greedy or beam
decoding in the TF graph (`kerasnlp_seq.decoding`), from pixels to caption
strings; `export_captioner` writes a SavedModel from encoded image bytes
(JPEG / PNG) to caption strings with the same ops.
"""

from kerasnlp_seq.lazy import keras

STATE_NAME = "init_state"
MEMORY_NAME = "memory_dropout"


@keras.saving.register_keras_serializable(package="kerasnlp_seq")
class FlattenCaptions(keras.layers.Layer):
    """`(b, k, t)` caption ids -> `(b * k, t)`."""

    def call(self, captions):
        shape = keras.ops.shape(captions)
        return keras.ops.reshape(captions, (-1, shape[2]))

    def compute_output_shape(self, shape):
        return (None, shape[2])


@keras.saving.register_keras_serializable(package="kerasnlp_seq")
class RepeatPerCaption(keras.layers.Layer):
    """Repeat each row `k` times: `(b, ...)`, `(b, k, t)` -> `(b * k, ...)`."""

    def call(self, x, captions):
        return keras.ops.repeat(x, keras.ops.shape(captions)[1], axis=0)

    def compute_output_shape(self, x_shape, captions_shape):
        return (None,) + tuple(x_shape[1:])


@keras.saving.register_keras_serializable(package="kerasnlp_seq")
class PositionEmbedding(keras.layers.Layer):
    """Add a learned embedding per position to `(b, n, d)` (n fixed)."""

    def build(self, shape):
        self.embeddings = self.add_weight(
            name="embeddings", shape=tuple(shape[1:]),
            initializer=keras.initializers.RandomNormal(stddev=0.02))

    def call(self, x):
        return x + keras.ops.cast(self.embeddings, x.dtype)


@keras.saving.register_keras_serializable(package="kerasnlp_seq")
class WordPresenceLoss(keras.layers.Layer):
    """Auxiliary training loss: the image alone predicts its caption words.

    The feature map is average-pooled and mapped to a score per vocabulary
    word; the loss is the cross-entropy between the softmax of those scores
    and the image's bag of words (every word id of all its captions, each
    counted once, normalised to sum to 1). It gives the image encoder a
    direct, position-free signal about what is in the picture, instead of
    only the one that reaches it through the decoder's state and attention
    (the "visual concepts" / attributes of Fang et al. 2015 and Yao et al.
    2017, here learned from the training captions themselves).

    The layer passes `logits` through unchanged, so it sits on the path to
    the model's output without changing it. It adds `weight * loss` in
    training only: validation loss stays the captions' own loss, and
    decoding never runs it.

    Args:
        vocab_size: int. Caption vocabulary size.
        weight: float. Weight of the loss, added to the caption loss.
        reserved_ids: int. Ids below this (padding, unknown, start, end)
            are not words and are left out of the bag.
        dropout: float. Dropout on the pooled features.
    """

    def __init__(self, vocab_size, weight=1.0, reserved_ids=4, dropout=0.0,
                 **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True  # keep the logits' mask for the loss
        self.vocab_size, self.weight = int(vocab_size), float(weight)
        self.reserved_ids, self.rate = int(reserved_ids), float(dropout)
        self.dropout = keras.layers.Dropout(self.rate)
        self.scores = keras.layers.Dense(self.vocab_size, name="scores")

    def build(self, logits_shape, features_shape, captions_shape):
        self.scores.build((None, features_shape[-1]))

    def call(self, logits, features, captions, training=None):
        if training:
            self.add_loss(self.weight * self.bag_loss(features, captions))
        return logits

    def bag_loss(self, features, captions):
        """Mean over images of the bag-of-words cross-entropy (training)."""
        ops = keras.ops
        pooled = ops.mean(features, axis=(1, 2))
        scores = ops.cast(self.scores(self.dropout(pooled, training=True)),
                          "float32")
        ids = ops.reshape(captions, (ops.shape(captions)[0], -1))
        bag = ops.max(ops.one_hot(ids, self.vocab_size), axis=1)
        bag = bag * ops.cast(ops.arange(self.vocab_size) >= self.reserved_ids,
                             bag.dtype)
        target = bag / ops.maximum(ops.sum(bag, axis=-1, keepdims=True), 1.0)
        return ops.mean(keras.losses.categorical_crossentropy(
            target, scores, from_logits=True))

    def compute_output_shape(self, logits_shape, features_shape,
                             captions_shape):
        return logits_shape

    def get_config(self):
        config = super().get_config()
        config.update(vocab_size=self.vocab_size, weight=self.weight,
                      reserved_ids=self.reserved_ids, dropout=self.rate)
        return config


def decoder_kwargs(embedding_dim=256, cell="lstm", units=256, num_layers=1,
                   attention="bahdanau", dropout=0.0, word_dropout=0.0,
                   attention_from="top"):
    """The `RecurrentDecoder` arguments, as stored with a run."""
    return dict(embedding_dim=embedding_dim, cell=cell, units=units,
                num_layers=num_layers, attention=attention, dropout=dropout,
                word_dropout=word_dropout, attention_from=attention_from,
                name="decoder")


def build_captioner(vocab_size, encoder=None, features_shape=None,
                    feature_dim=None, word_loss=0.0, reserved_ids=4,
                    name="captioner", **decoder_args):
    """Builds the captioning model over images or over cached features.

    Args:
        vocab_size: int. Caption vocabulary size (0 = padding).
        encoder: a `keras.Model` from `build_image_encoder`, trained with
            the decoder (inputs `image`, `uint8`), or None.
        features_shape: tuple `(h, w, d)` of cached feature maps (inputs
            `features`), when the encoder is frozen and run beforehand.
        feature_dim: int or None. Project the feature map to this width
            with a 1x1 convolution (for wide backbones).
        word_loss: float. Weight of the `WordPresenceLoss` added in
            training (0: none).
        reserved_ids: int. Ids below this are not words (`WordPresenceLoss`).
        name: str. The model's name.
        **decoder_args: as `decoder_kwargs` (cell, units, attention, ...).

    Returns:
        An uncompiled `keras.Model` taking `{"image" | "features",
        "captions"}` and returning `(b * k, t, vocab)` logits.

    Example:

    >>> from kerasnlp_seq.image_encoder import build_image_encoder
    >>> model = build_captioner(30, build_image_encoder(32, filters=(8,)),
    ...                         units=16, embedding_dim=8)
    """
    from kerasnlp_seq.decoder import RecurrentDecoder

    args = decoder_kwargs(**decoder_args)
    if (encoder is None) == (features_shape is None):
        raise ValueError("Give exactly one of `encoder` and `features_shape`.")
    if encoder is not None:
        key = "image"
        source = keras.Input(tuple(encoder.input.shape[1:]), dtype="uint8",
                             name="image")
        features = encoder(source)
    else:
        key = "features"
        source = keras.Input(tuple(features_shape), name="features")
        features = source
    if feature_dim:
        features = keras.layers.Conv2D(feature_dim, 1, activation="relu",
                                       name="feature_projection")(features)
    h, w, d = features.shape[1:]
    dropout = args["dropout"]
    flat = keras.layers.Flatten(name="image_flatten")(features)
    flat = keras.layers.Dropout(dropout, name="image_dropout")(flat)
    num_states = 2 if args["cell"] == "lstm" else 1
    states = [keras.layers.Dense(args["units"], activation="tanh",
                                 name=f"{STATE_NAME}{i}")(flat)
              for i in range(num_states)]
    memory = keras.layers.Reshape((h * w, d), name="memory")(features)
    memory = PositionEmbedding(name="memory_position")(memory)
    memory = keras.layers.Dropout(dropout, name=MEMORY_NAME)(memory)
    captions = keras.Input((None, None), dtype="int32", name="captions")
    caption_in = FlattenCaptions(name="caption_in")(captions)
    states = [RepeatPerCaption(name=f"repeat_state{i}")(s, captions)
              for i, s in enumerate(states)]
    if args["attention"] != "none":
        memory = RepeatPerCaption(name="repeat_memory")(memory, captions)
    else:
        memory = None
    decoder = RecurrentDecoder(vocab_size, **args)
    logits, _ = decoder(caption_in, states, memory=memory)
    if word_loss:
        logits = WordPresenceLoss(vocab_size, weight=word_loss,
                                  reserved_ids=reserved_ids, dropout=dropout,
                                  name="word_presence_loss")(
            logits, features, captions)
    return keras.Model({key: source, "captions": captions}, logits,
                       name=name)


class CaptionGenerator:
    """Greedy / beam captioning of `uint8` pixels with a trained model.

    Args:
        model: the trained or reloaded model of `build_captioner`.
        words: list of str. Token of every id (pad, oov, start, end, ...).
        decoder_args: dict. As given to `build_captioner`.
        start_id: int. The start token's id.
        end_id: int. The end token's id.
        max_length: int. The most tokens to generate (end included).
        method: str. `"greedy"` or `"beam"`.
        beam_width: int. Beam size.
        length_penalty: float. GNMT alpha for beam search.
        min_length: int. Words before the end token may be chosen (0: an
            empty caption is possible).
        encoder: a frozen encoder `keras.Model` run before `model`, or None.
    """

    def __init__(self, model, words, decoder_args, start_id, end_id,
                 max_length, method="beam", beam_width=3, length_penalty=0.0,
                 encoder=None, min_length=0):
        import tensorflow as tf

        from kerasnlp_seq.decoder import RecurrentDecoder

        args = decoder_kwargs(**decoder_args)
        self.decoder = RecurrentDecoder.from_model(model, len(words), **args)
        self.attends = args["attention"] != "none"
        key = "features" if encoder is not None else "image"
        num_states = self.decoder.num_states
        outputs = [model.get_layer(f"{STATE_NAME}{i}").output
                   for i in range(num_states)]
        if self.attends:
            outputs.append(model.get_layer(MEMORY_NAME).output)
        self.head = keras.Model(model.input[key], outputs)
        self.model, self.encoder = model, encoder
        self.map_shape = (tuple(model.get_layer("memory").input.shape[1:3])
                          if self.attends else None)
        self.words = tf.constant(list(words))
        self.start_id, self.end_id = start_id, end_id
        self.settings = dict(max_length=max_length, method=method,
                             beam_width=beam_width,
                             length_penalty=length_penalty,
                             min_length=min_length)
        self._functions = {}

    def ids(self, pixels, method=None):
        """`(ids, lengths, weights)` for a `uint8` batch (graph ops)."""
        x = pixels if self.encoder is None else self.encoder(
            pixels, training=False)
        outputs = self.head(x, training=False)
        outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
        n = self.decoder.num_states
        settings = dict(self.settings)
        settings["method"] = method or settings["method"]
        return self.decoder.generate(
            list(outputs[:n]), memory=outputs[n] if self.attends else None,
            start_id=self.start_id, end_id=self.end_id, **settings)

    def texts(self, ids):
        """Caption strings `(batch,)` from generated ids (graph ops)."""
        import tensorflow as tf

        keep = (ids != 0) & (ids != self.start_id) & (ids != self.end_id)
        tokens = tf.ragged.boolean_mask(tf.gather(self.words, ids), keep)
        return tf.strings.reduce_join(tokens, axis=-1, separator=" ")

    def serve_pixels(self, pixels):
        """`uint8` `(batch, S, S, 3)` -> caption strings (graph ops)."""
        return self.texts(self.ids(pixels)[0])

    def _function(self, name, fn):
        import tensorflow as tf

        if name not in self._functions:
            shape = tuple(self.model.input.get("image", None).shape[1:]) \
                if self.encoder is None else tuple(self.encoder.input.shape[1:])
            self._functions[name] = tf.function(fn, input_signature=[
                tf.TensorSpec((None,) + shape, tf.uint8)])
        return self._functions[name]

    def captions(self, pixels, batch_size=64):
        """Caption strings (Python) for a `uint8` array of images."""
        run = self._function("captions", self.serve_pixels)
        out = []
        for start in range(0, len(pixels), batch_size):
            out.extend(s.decode("utf-8") for s in
                       run(pixels[start:start + batch_size]).numpy())
        return out

    def attend(self, pixels):
        """Greedy `(tokens per image, weights (t, h, w) per image)`."""
        if not self.attends:
            from kerasnlp_seq.errors import RunError

            raise RunError("this model has no attention (attention='none').")
        import tensorflow as tf

        def fn(x):
            ids, lengths, weights = self.ids(x, method="greedy")
            return ids, lengths, weights

        ids, lengths, weights = self._function("attend", fn)(pixels)
        words = self.words.numpy()
        out = []
        for row, n, w in zip(ids.numpy(), lengths.numpy(), weights.numpy()):
            tokens = [words[i].decode("utf-8") for i in row[:n]]
            out.append((tokens, tf.reshape(w[:n], (n,) + self.map_shape)
                        .numpy()))
        return out


def export_captioner(generator, image_size, path):
    """Write a SavedModel: encoded images (JPEG / PNG bytes) -> captions.

    The `serving_default` signature takes `image` (a string vector of
    encoded image files) and returns `caption` (a string vector). An entry
    that cannot be decoded (empty bytes, text, an unknown format, a file
    cut short) gets the caption `""` and the rest of its batch is captioned
    (`kerasnlp_seq.images.decode_images`).

    Args:
        generator: a `CaptionGenerator`.
        image_size: int. The side images are resized to (as in training).
        path: str. The SavedModel directory to write.
    """
    import tensorflow as tf

    from kerasnlp_seq.images import decode_images
    from kerasnlp_seq.serving import empty_batch_safe

    archive = keras.export.ExportArchive()
    archive.track(generator.model)
    if generator.encoder is not None:
        archive.track(generator.encoder)

    def serve(image):
        pixels, ok = decode_images(image, image_size)
        # An undecodable entry: "" (a readable one is never "" at the
        # default min_length of 1).
        return {"caption": tf.where(ok, generator.serve_pixels(pixels), "")}

    archive.add_endpoint(
        "serving_default", empty_batch_safe(serve),
        input_signature=[tf.TensorSpec([None], tf.string, name="image")])
    archive.write_out(path, verbose=False)
