"""Character-level text features: a character vocabulary and a char encoder.

Words break on the tricks of spam and of noisy text: "fr33", "C4SH",
"w.w.w", a phone number or a URL are out-of-vocabulary or rare as words,
while their characters and character n-grams are common. This module turns
texts into character ids with TensorFlow ops (the same graph in training,
prediction and the exported SavedModel) and encodes them with a masked
convolution over character n-grams, pooled in time, followed by the shared
recurrent builder.

Character ids: 0 is padding, 1 is an unknown character, real characters
start at 2 (most frequent first). Case is kept by default: capitals are a
signal ("FREE", "WINNER"). Runs of white space become one space.
"""

import json
import os

import keras
import tensorflow as tf
from keras import ops

from kerasnlp_seq.errors import DataError
from kerasnlp_seq.text import count_pieces, most_frequent, string_table


def split_chars(texts, lowercase=False):
    """Strings -> a `tf.RaggedTensor` of characters (white space collapsed).

    Args:
        texts: string tensor of shape `(batch,)`.
        lowercase: bool. Lower-case first (Unicode-aware).
    """
    texts = tf.convert_to_tensor(texts, dtype=tf.string)
    if lowercase:
        texts = tf.strings.lower(texts, encoding="utf-8")
    texts = tf.strings.strip(tf.strings.regex_replace(texts, r"\s+", " "))
    return tf.strings.unicode_split(texts, "UTF-8", errors="replace")


class CharVocabulary:
    """A character <-> id mapping with a TensorFlow lookup table for graphs.

    Args:
        chars: list of str. Real characters, most frequent first (ids from 2).
        lowercase: bool. Whether texts are lower-cased before the lookup.

    Example:

    >>> vocab = CharVocabulary.adapt(["aab", "ab c"], max_size=10)
    >>> vocab.encode(["abz"]).numpy().tolist()
    [[2, 3, 1]]
    """

    def __init__(self, chars, lowercase=False):
        self.chars = list(chars)
        self.lowercase = bool(lowercase)
        self._table = None

    def __len__(self):
        return len(self.chars) + 2

    @property
    def size(self):
        """Number of ids, padding and unknown included (Embedding input_dim)."""
        return len(self)

    @classmethod
    def adapt(cls, texts, max_size=200, lowercase=False, batch_size=1024):
        """Count characters over `texts`; keep the `max_size - 2` most frequent.

        Args:
            texts: iterable of str.
            max_size: int. Size of the vocabulary, padding and unknown
                included.
            lowercase: bool. As in `split_chars`.
            batch_size: int. Texts split per TF call.
        """
        if max_size < 3:
            raise ValueError("`max_size` of a CharVocabulary must be at least "
                             f"3. Received: max_size={max_size!r}")
        counts = count_pieces(
            texts, lambda batch: split_chars(batch, lowercase), batch_size)
        return cls(most_frequent(counts, max_size - 2), lowercase=lowercase)

    @property
    def table(self):
        """A `tf.lookup.StaticHashTable` from character to id (unknown -> 1)."""
        if self._table is None:
            self._table = string_table(self.chars)
        return self._table

    def encode(self, texts, max_chars=None, truncating="post"):
        """Strings -> padded int32 ids `(batch, chars)`, at least one column.

        Args:
            texts: string tensor of shape `(batch,)`.
            max_chars: int or None. Characters kept per text.
            truncating: str. `"post"` keeps the first `max_chars`, `"pre"`
                the last.
        """
        chars = split_chars(texts, self.lowercase)
        if max_chars:
            chars = (chars[:, :max_chars] if truncating == "post"
                     else chars[:, -max_chars:])
        ids = tf.cast(self.table.lookup(chars), tf.int32).to_tensor(0)
        pad = tf.maximum(0, 1 - tf.shape(ids)[1])  # empty texts still run
        return tf.pad(ids, [[0, 0], [0, pad]])

    def save(self, path):
        """Write the characters as JSON (they include spaces and quotes)."""
        tmp = f"{path}.tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump({"lowercase": self.lowercase, "chars": self.chars}, f,
                      ensure_ascii=False)
        os.replace(tmp, path)

    @classmethod
    def load(cls, path):
        """Read a vocabulary written by `save`."""
        if not os.path.exists(path):
            raise DataError("character vocabulary file not found.", path)
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        return cls(data["chars"], lowercase=data.get("lowercase", False))


@keras.saving.register_keras_serializable(package="kerasnlp_seq")
class MaskedConv1D(keras.layers.Layer):
    """A 1-D convolution over a masked sequence, then max-pooling in time.

    Padding steps are zeroed before the convolution and never win the
    pooling; the output mask marks every pooled window holding at least one
    real step, so a right-padded input stays right-padded (cuDNN-friendly).

    Args:
        filters: int. Output channels (n-gram detectors).
        kernel_size: int. Width of the convolution window.
        pool_size: int. Pooling window and stride in time (1: no pooling).
        activation: str. Activation of the convolution.

    Example:

    >>> x = keras.ops.ones((2, 7, 3))
    >>> tuple(MaskedConv1D(4, kernel_size=3, pool_size=3)(x).shape)
    (2, 3, 4)
    """

    def __init__(self, filters, kernel_size=5, pool_size=1,
                 activation="relu", **kwargs):
        super().__init__(**kwargs)
        for name, value in (("filters", filters), ("kernel_size", kernel_size),
                            ("pool_size", pool_size)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"`{name}` of MaskedConv1D must be a positive "
                                 f"int. Received: {name}={value!r}")
        self.filters = filters
        self.kernel_size = kernel_size
        self.pool_size = pool_size
        self.activation = activation
        self.conv = keras.layers.Conv1D(filters, kernel_size, padding="same",
                                        activation=activation, name="conv")
        self.supports_masking = True

    def build(self, input_shape):
        self.conv.build(input_shape)

    def call(self, inputs, mask=None):
        if mask is None:
            mask = ops.ones(ops.shape(inputs)[:2], dtype="bool")
        m = ops.expand_dims(ops.cast(mask, inputs.dtype), -1)
        x = self.conv(inputs * m)
        if self.pool_size == 1:
            return x * ops.cast(m, x.dtype)
        m = ops.cast(m, x.dtype)
        x = x * m + (1.0 - m) * ops.cast(-1e4, x.dtype)
        x = self._pool(x, -1e4)
        return x * ops.cast(self._pool_mask(mask)[..., None], x.dtype)

    def _pool(self, x, pad_value):
        """Max-pool time in windows that start at step 0.

        Time is padded at the end by `pool_size - 1` steps of `pad_value`
        and pooled "valid": `ceil(steps / pool_size)` windows, aligned to
        the first step whatever the padded length of the batch. Keras'
        `padding="same"` centres its padding instead, so a batch one step
        longer shifts every window and the same text pools differently
        alone and in a batch. The pad width is static, so the ops Keras
        records for the output mask when it builds the model are the ones
        that run.
        """
        x = ops.pad(x, [[0, 0], [0, self.pool_size - 1], [0, 0]],
                    constant_values=pad_value)
        return ops.max_pool(x, self.pool_size, self.pool_size,
                            padding="valid")

    def _pool_mask(self, mask):
        m = ops.cast(ops.expand_dims(mask, -1), "float32")
        return self._pool(m, 0.0)[..., 0] > 0.5

    def compute_mask(self, inputs, mask=None):
        if mask is None:
            return None
        return mask if self.pool_size == 1 else self._pool_mask(mask)

    def compute_output_shape(self, input_shape):
        steps = input_shape[1]
        if steps is not None:
            steps = -(-steps // self.pool_size)
        return (input_shape[0], steps, self.filters)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters,
                "kernel_size": self.kernel_size, "pool_size": self.pool_size,
                "activation": self.activation}


def text_char_features(char_ids, vocab_size, embedding_dim=32, filters=64,
                       kernel_size=5, pool_size=3, cell="gru", units=32,
                       num_layers=1, bidirectional=True, merge_mode="concat",
                       pooling="max_mean", dropout=0.0, recurrent_dropout=0.0,
                       residual=False, embedding_dropout=0.0, name="char"):
    """Encode a tensor of character ids into one vector per text.

    Embedding (masked) -> `MaskedConv1D` (character n-grams, pooled by
    `pool_size` to shorten the sequence) -> recurrent stack from the shared
    builder -> masked pooling (or the last state).

    Args:
        char_ids: symbolic int tensor `(batch, chars)`, 0 = padding.
        vocab_size: int. Character ids, padding and unknown included.
        embedding_dim: int. Character embedding width.
        filters, kernel_size, pool_size: as in `MaskedConv1D`.
        cell, units, num_layers, bidirectional, merge_mode, dropout,
            recurrent_dropout, residual: as in `build_recurrent`.
        pooling: str. `"last"`, `"max"`, `"mean"` or `"max_mean"`.
        embedding_dropout: float. `SpatialDropout1D` rate on embeddings.
        name: str. Prefix of the layer names.

    Example:

    >>> ids = keras.Input(shape=(None,), dtype="int32")
    >>> text_char_features(ids, 100, units=8).shape
    (None, 32)
    """
    from kerasnlp_seq.builder import build_recurrent
    from kerasnlp_seq.layers import MaskedGlobalPooling

    x = keras.layers.Embedding(vocab_size, embedding_dim, mask_zero=True,
                               name=f"{name}_embedding")(char_ids)
    if embedding_dropout:
        x = keras.layers.SpatialDropout1D(
            embedding_dropout, name=f"{name}_embedding_dropout")(x)
    x = MaskedConv1D(filters, kernel_size, pool_size, name=f"{name}_conv")(x)
    x = build_recurrent(
        cell=cell, units=units, num_layers=num_layers,
        bidirectional=bidirectional, merge_mode=merge_mode,
        return_sequences=pooling != "last", dropout=dropout,
        recurrent_dropout=recurrent_dropout, residual=residual,
        name=f"{name}_encoder")(x)
    if pooling != "last":
        x = MaskedGlobalPooling(pooling, name=f"{name}_pooling")(x)
    return x
