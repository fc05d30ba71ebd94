"""Character-level features per token: a CNN or a BiLSTM over each word's characters.

Word embeddings know nothing of a word never seen in training; its spelling
still says a lot ("-ville", "Mc-", capitals, digits). `TokenCharEncoder`
reads the character ids of every token, `(batch, time, chars)`, and returns
one vector per token, `(batch, time, features)`: either a convolution over
character n-grams max-pooled over the word (Ma & Hovy 2016), or the final
states of a bidirectional LSTM over the characters (Lample et al. 2016).
Padding characters never count, and the output mask marks real tokens (any
non-padding character), so the result concatenates with masked word
embeddings.

Example:

>>> import numpy as np
>>> chars = np.array([[[3, 4, 0], [5, 0, 0], [0, 0, 0]]])
>>> tuple(TokenCharEncoder(10, encoder="cnn", units=6)(chars).shape)
(1, 3, 6)
"""

import keras
from keras import ops

ENCODERS = ("cnn", "lstm")


@keras.saving.register_keras_serializable(package="kerasnlp_seq")
class TokenCharEncoder(keras.layers.Layer):
    """Per-token character features from char ids `(batch, time, chars)`.

    Args:
        vocab_size: int. Character ids (padding 0 and unknown 1 included).
        embedding_dim: int. Character embedding width.
        encoder: str. `"cnn"` (n-gram convolution, max over the word) or
            `"lstm"` (bidirectional LSTM, last states of both directions).
        units: int. Output features: CNN filters, or LSTM units per
            direction (the output is then `2 * units` wide).
        kernel_size: int. Width of the CNN's character n-grams.
        dropout: float. Dropout on the character embeddings in training.

    Call arguments:
        inputs: int `(batch, time, chars)` character ids, 0 for padding.

    Returns:
        float `(batch, time, output_dim)`, masked where a token has no
        characters.

    Example:

    >>> layer = TokenCharEncoder(20, encoder="lstm", units=4)
    >>> tuple(layer(keras.ops.ones((2, 5, 7), dtype="int32")).shape)
    (2, 5, 8)
    """

    def __init__(self, vocab_size, embedding_dim=30, encoder="cnn", units=50,
                 kernel_size=3, dropout=0.0, **kwargs):
        super().__init__(**kwargs)
        if encoder not in ENCODERS:
            raise ValueError(
                "Unknown `encoder` for `TokenCharEncoder`. Expected one of "
                f"{list(ENCODERS)}. Received: encoder={encoder!r}")
        for name, value in (("vocab_size", vocab_size),
                            ("embedding_dim", embedding_dim),
                            ("units", units), ("kernel_size", kernel_size)):
            if not isinstance(value, int) or isinstance(value, bool) \
                    or value < 1:
                raise ValueError(
                    f"`{name}` of `TokenCharEncoder` must be a positive int. "
                    f"Received: {name}={value!r}")
        self.vocab_size = vocab_size
        self.embedding_dim = embedding_dim
        self.encoder = encoder
        self.units = units
        self.kernel_size = kernel_size
        self.dropout = float(dropout)
        self.output_dim = units * (2 if encoder == "lstm" else 1)
        self.embedding = keras.layers.Embedding(
            vocab_size, embedding_dim, name="char_embedding")
        self.embedding_dropout = keras.layers.Dropout(self.dropout)
        if encoder == "cnn":
            self.conv = keras.layers.Conv1D(
                units, kernel_size, padding="same", activation="tanh",
                name="char_conv")
        else:
            self.rnn = keras.layers.Bidirectional(
                keras.layers.LSTM(units), name="char_bilstm")
        self.supports_masking = True

    def build(self, input_shape):
        self.embedding.build((None, None))
        inner = (None, None, self.embedding_dim)
        if self.encoder == "cnn":
            self.conv.build(inner)
        else:
            self.rnn.build(inner)

    def call(self, inputs, training=None, mask=None):
        inputs = ops.cast(inputs, "int32")
        shape = ops.shape(inputs)
        flat = ops.reshape(inputs, (-1, shape[2]))           # (B*T, C)
        char_mask = ops.not_equal(flat, 0)
        x = self.embedding_dropout(self.embedding(flat), training=training)
        if self.encoder == "cnn":
            m = ops.cast(char_mask, x.dtype)[:, :, None]
            h = self.conv(x * m)
            h = h * m + (1.0 - m) * ops.cast(-1e4, h.dtype)
            h = ops.max(h, axis=1)
        else:
            # Fully padded words get an all-zero output (no valid step).
            h = self.rnn(x, mask=char_mask, training=training)
        has_chars = ops.cast(ops.any(char_mask, axis=1), h.dtype)[:, None]
        h = h * has_chars
        return ops.reshape(h, (shape[0], shape[1], self.output_dim))

    def compute_mask(self, inputs, mask=None):
        return ops.any(ops.not_equal(inputs, 0), axis=-1)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:2]) + (self.output_dim,)

    def get_config(self):
        return {**super().get_config(), "vocab_size": self.vocab_size,
                "embedding_dim": self.embedding_dim, "encoder": self.encoder,
                "units": self.units, "kernel_size": self.kernel_size,
                "dropout": self.dropout}
