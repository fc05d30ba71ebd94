"""Text standardisation, word tokenisation and vocabularies, in TensorFlow ops.

Training, evaluation, prediction and the exported SavedModel all run the same
graph ops, so a model never sees text prepared one way in training and another
way in serving. The vocabulary is adapted by running those same ops over the
training texts (or a bounded sample of them) and counting tokens.

Token ids: 0 is padding, 1 is the out-of-vocabulary token, real tokens start
at 2 (most frequent first).
"""

import collections
import os

import numpy as np
import tensorflow as tf

from kerasnlp_seq.errors import DataError

PAD, OOV = "[PAD]", "[UNK]"
_HTML_BREAK = r"<\s*br\s*/?\s*>"
_HTML_TAG = r"<[^>]{0,200}>"
_PUNCT = r"([!?.,;:()\"\[\]{}*/\\=+&%$#@~^|<>`-])"


def standardize(texts, lowercase=True, strip_html=True):
    """Normalise a batch of strings (a string tensor of any shape).

    Lower-cases (Unicode-aware), turns `<br />` and other HTML tags into
    spaces, and puts spaces around punctuation so it becomes its own token.

    Args:
        texts: string tensor.
        lowercase: bool. Lower-case the text.
        strip_html: bool. Replace HTML tags with spaces.
    """
    texts = tf.convert_to_tensor(texts, dtype=tf.string)
    if lowercase:
        texts = tf.strings.lower(texts, encoding="utf-8")
    if strip_html:
        texts = tf.strings.regex_replace(texts, _HTML_BREAK, " ")
        texts = tf.strings.regex_replace(texts, _HTML_TAG, " ")
    # Unicode spaces (no-break, thin, ...) split tokens like ASCII ones.
    texts = tf.strings.regex_replace(texts, r"\p{Z}", " ")
    return tf.strings.regex_replace(texts, _PUNCT, r" \1 ")


def tokenize(texts, lowercase=True, strip_html=True):
    """Standardise and split on white space: a `tf.RaggedTensor` of tokens."""
    return tf.strings.split(standardize(texts, lowercase, strip_html))


def count_pieces(texts, split, batch_size=1024):
    """Count what `split` cuts `texts` into, a batch of texts per TF call.

    Args:
        texts: iterable of str (a list or a generator; read once).
        split: function from a string tensor `(batch,)` to a ragged string
            tensor (tokens, characters, ...).
        batch_size: int. Texts per call of `split`.

    Returns:
        A `collections.Counter` of byte strings.
    """
    counts = collections.Counter()
    batch = []

    def flush():
        counts.update(split(tf.constant(batch)).flat_values.numpy().tolist())
        batch.clear()

    for text in texts:
        batch.append(text)
        if len(batch) >= batch_size:
            flush()
    if batch:
        flush()
    return counts


def most_frequent(counts, limit, min_count=1):
    """The `limit` most frequent keys of `counts` seen `min_count` times or
    more, most frequent first, ties in key order; bytes decoded as UTF-8."""
    ranked = sorted((kv for kv in counts.items() if kv[1] >= min_count),
                    key=lambda kv: (-kv[1], kv[0]))
    return [k.decode("utf-8") if isinstance(k, bytes) else k
            for k, _ in ranked[:max(0, limit)]]


def string_table(keys, first_id=2, default_id=1, dtype=tf.int64):
    """A `tf.lookup.StaticHashTable` from `keys[i]` to `first_id + i`.

    Created eagerly even when first called inside a graph (a tf.data map, a
    tf.function), so every graph that uses it captures the same table.
    Strings not in `keys` map to `default_id`.
    """
    with tf.init_scope():
        keys = list(keys)
        # A table needs one key: an empty vocabulary maps everything to
        # `default_id` (the placeholder "" maps there too).
        values = (tf.range(first_id, first_id + len(keys), dtype=dtype)
                  if keys else tf.constant([default_id], dtype))
        return tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(
                tf.constant(keys or [""], dtype=tf.string), values),
            default_value=tf.constant(default_id, dtype))


class Vocabulary:
    """A token <-> id mapping with a TensorFlow lookup table for graphs.

    Args:
        tokens: list of str. Real tokens, most frequent first (ids from 2).

    Example:

    >>> vocab = Vocabulary.adapt(["a good film", "a bad film"], max_size=10)
    >>> vocab.encode(["a good one"]).numpy().tolist()
    [[2, 5, 1]]
    """

    def __init__(self, tokens):
        self.tokens = list(tokens)
        self._table = None

    def __len__(self):
        return len(self.tokens) + 2

    @property
    def size(self):
        """Number of ids, padding and OOV included (an Embedding's input_dim)."""
        return len(self)

    @classmethod
    def adapt(cls, texts, max_size=20000, min_count=1, lowercase=True,
              strip_html=True, batch_size=1024):
        """Count tokens over `texts` and keep the `max_size` most frequent.

        Args:
            texts: iterable of str (a list or a generator).
            max_size: int. Size of the vocabulary, padding and OOV included.
            min_count: int. Drop tokens seen fewer times.
            lowercase: bool. As in `standardize`.
            strip_html: bool. As in `standardize`.
            batch_size: int. Texts tokenized per TF call.
        """
        counts = count_pieces(
            texts, lambda batch: tokenize(batch, lowercase, strip_html),
            batch_size)
        return cls(most_frequent(counts, max_size - 2, min_count))

    @property
    def table(self):
        """A `tf.lookup.StaticHashTable` from token to id (OOV -> 1)."""
        if self._table is None:
            self._table = string_table(self.tokens)
        return self._table

    def lookup(self, tokens):
        """Map a (ragged) string tensor of tokens to int32 ids."""
        return tf.cast(self.table.lookup(tokens), tf.int32)

    def encode(self, texts, max_length=None, lowercase=True, strip_html=True):
        """Strings -> padded int32 ids (batch, longest or max_length)."""
        tokens = tokenize(texts, lowercase, strip_html)
        if max_length:
            tokens = tokens[:, :max_length]
        return self.lookup(tokens).to_tensor(0)

    def decode(self, ids):
        """Ids -> tokens (padding dropped)."""
        vocab = [PAD, OOV] + self.tokens
        return [vocab[i] for i in np.asarray(ids).tolist() if i != 0]

    def save(self, path):
        """Write one token per line (ids 2.. in order)."""
        tmp = f"{path}.tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            for token in self.tokens:
                f.write(token + "\n")
        os.replace(tmp, path)

    @classmethod
    def load(cls, path):
        """Read a vocabulary written by `save`."""
        if not os.path.exists(path):
            raise DataError("vocabulary file not found.", path)
        with open(path, encoding="utf-8") as f:
            return cls([line.rstrip("\n") for line in f])
