"""Reversible word tokenization for sequence-to-sequence models, in TF ops.

A translation model reads tokens and writes tokens, but users give and
expect normal text. The tokenizers here cut text so that it can be put back
together exactly (up to runs of white space): every punctuation or symbol
character is its own token, and a token that was glued to the one before it
(no space between them in the text) carries the joiner mark `￭` (U+FFED,
the mark OpenNMT's tokenizer uses). `"Hello, world."` becomes
`["Hello", "￭,", "world", "￭."]`, and detokenization joins tokens with
spaces and deletes every space-joiner pair.

Cutting, lookup and detokenization are `tf.strings` ops and lookup tables,
so `tf.data`, `predict` and the exported SavedModel tokenize the same way
with TensorFlow alone. Token ids: 0 padding, 1 out-of-vocabulary, 2 the
start token, 3 the end token, then real tokens (most frequent first).

`WordTokenizer` maps whole tokens to ids (`kerasnlp_seq.text.Vocabulary`);
`kerasnlp_seq.subword.SubwordTokenizer` splits them further into WordPiece
units. Both share this interface: `adapt`, `encode`, `decode`, `pieces`,
`save`, `load`, `size`, `resources`.
"""

import collections
import json
import os

import tensorflow as tf

from kerasnlp_seq.errors import DataError
from kerasnlp_seq.text import Vocabulary, count_pieces

JOINER = "\uffed"
START, END = "[START]", "[END]"
PAD_ID, OOV_ID, START_ID, END_ID = 0, 1, 2, 3
SPECIAL = ("[PAD]", "[UNK]", START, END)
_WORD = r"\pL\pN\pM"
_W = f"([{_WORD}])"
_P = rf"([^\s{_WORD}{JOINER}])"  # punctuation, symbols, anything else


def pretokenize(texts, lowercase=False):
    """Cut raw strings into reversible tokens: a string `tf.RaggedTensor`.

    Args:
        texts: string tensor of shape `(batch,)`.
        lowercase: bool. Lower-case (Unicode-aware) before cutting.

    Example:

    >>> [t.decode() for t in pretokenize(["Hello, world."]).to_list()[0]]
    ['Hello', '￭,', 'world', '￭.']
    """
    t = tf.convert_to_tensor(texts, dtype=tf.string)
    # Bad UTF-8 becomes U+FFFD instead of failing the regular expressions.
    t = tf.strings.unicode_transcode(t, "UTF-8", "UTF-8", errors="replace")
    t = tf.strings.regex_replace(t, JOINER, " ")
    t = tf.strings.regex_replace(t, r"[\s\p{Z}\p{Cc}\p{Cf}]+", " ")
    if lowercase:
        t = tf.strings.lower(t, encoding="utf-8")
    glue = r"\1 " + JOINER + r"\2"
    t = tf.strings.regex_replace(t, _W + _P, glue)
    t = tf.strings.regex_replace(t, _P + _W, glue)
    # Matches do not overlap: two passes split any run of symbols.
    t = tf.strings.regex_replace(t, _P + _P, glue)
    t = tf.strings.regex_replace(t, _P + _P, glue)
    return tf.strings.split(t)


def join_tokens(tokens):
    """Tokens (ragged `(batch, None)` strings) -> text, joiners applied."""
    text = tf.strings.reduce_join(tokens, axis=-1, separator=" ")
    return tf.strings.regex_replace(text, " ?" + JOINER, "")


def count_tokens(texts, lowercase=False, batch_size=1024):
    """A `collections.Counter` of the tokens of `texts` (iterable of str)."""
    counts = count_pieces(texts, lambda batch: pretokenize(batch, lowercase),
                          batch_size)
    return collections.Counter({k.decode("utf-8"): n
                                for k, n in counts.items()})


def strip_special(ids):
    """Int ids `(batch, t)` -> ragged ids up to the end token, specials out."""
    ids = tf.cast(tf.convert_to_tensor(ids), tf.int32)
    ended = tf.cumsum(tf.cast(tf.equal(ids, END_ID), tf.int32), axis=1) > 0
    real = tf.logical_or(ids > END_ID, tf.equal(ids, OOV_ID))
    keep = tf.logical_and(tf.logical_not(ended), real)
    return tf.ragged.boolean_mask(ids, keep)


class WordTokenizer:
    """Whole-token vocabulary over `pretokenize()` tokens.

    Args:
        vocabulary: `kerasnlp_seq.text.Vocabulary` whose first two tokens
            are `[START]` and `[END]` (ids 2 and 3).
        lowercase: bool. As in `pretokenize()`.

    Example:

    >>> tok = WordTokenizer.adapt(["a cat.", "a dog!"], max_size=20)
    >>> ids = tok.encode(["a dog."])
    >>> tok.decode(ids.to_tensor()).numpy().tolist()
    [b'a dog.']
    """

    kind = "word"

    def __init__(self, vocabulary, lowercase=False):
        if vocabulary.tokens[:2] != [START, END]:
            raise DataError(
                f"a translation vocabulary starts with {START} and {END}; "
                f"found {vocabulary.tokens[:2]}.")
        self.vocabulary = vocabulary
        self.lowercase = lowercase
        self._strings = None

    @classmethod
    def adapt(cls, texts, max_size=10000, min_count=1, lowercase=False):
        """Keep the `max_size - 4` most frequent tokens of `texts`.

        Args:
            texts: iterable of str.
            max_size: int. Vocabulary size, the four special ids included.
            min_count: int. Drop tokens seen fewer times.
            lowercase: bool. As in `pretokenize()`.
        """
        counts = count_tokens(texts, lowercase)
        ranked = sorted((kv for kv in counts.items() if kv[1] >= min_count),
                        key=lambda kv: (-kv[1], kv[0]))
        keep = max(0, max_size - len(SPECIAL))
        return cls(Vocabulary([START, END] + [t for t, _ in ranked[:keep]]),
                   lowercase)

    @property
    def size(self):
        """Number of ids, specials included (an Embedding's input_dim)."""
        return self.vocabulary.size

    @property
    def tokens(self):
        """All tokens by id, specials included."""
        return list(SPECIAL[:2]) + self.vocabulary.tokens

    @property
    def resources(self):
        """TF trackables used by the graph ops (for `ExportArchive.track`)."""
        return [self.vocabulary.table]

    def encode(self, texts):
        """Strings `(batch,)` -> ragged int32 ids, no start or end token."""
        return self.vocabulary.lookup(pretokenize(texts, self.lowercase))

    def _token_strings(self):
        if self._strings is None:
            with tf.init_scope():
                self._strings = tf.constant(self.tokens)
        return self._strings

    def pieces(self, ids):
        """Ids `(batch, t)` -> ragged token strings (specials dropped)."""
        return tf.gather(self._token_strings(), strip_special(ids))

    def decode(self, ids):
        """Ids `(batch, t)` -> detokenized strings `(batch,)`."""
        return join_tokens(self.pieces(ids))

    def save(self, directory, prefix):
        """Write `{prefix}_vocab.txt`; returns its metadata dict."""
        path = os.path.join(directory, f"{prefix}_vocab.txt")
        self.vocabulary.save(path)
        return saved_meta(self, path)

    @classmethod
    def load(cls, directory, meta):
        path = os.path.join(directory, meta["file"])
        return cls(Vocabulary.load(path), meta["lowercase"])


def file_digest(path):
    """The SHA-256 of a file, hex (to tell an edited vocabulary)."""
    import hashlib

    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def saved_meta(tokenizer, path):
    """What `load_tokenizer` needs, plus size and digest for checks."""
    return {"kind": tokenizer.kind, "lowercase": tokenizer.lowercase,
            "size": tokenizer.size, "file": os.path.basename(path),
            "sha256": file_digest(path)}


def load_tokenizer(directory, meta):
    """A tokenizer saved by `save(directory, prefix)` from its metadata."""
    if meta.get("kind") == "subword":
        from kerasnlp_seq.subword import SubwordTokenizer

        return SubwordTokenizer.load(directory, meta)
    return WordTokenizer.load(directory, meta)


def make_tokenizer(kind, texts, max_size, lowercase=False, min_count=1):
    """Adapt a `"word"` or `"subword"` tokenizer on training `texts`."""
    if kind == "subword":
        from kerasnlp_seq.subword import SubwordTokenizer

        return SubwordTokenizer.adapt(texts, max_size, lowercase=lowercase)
    return WordTokenizer.adapt(texts, max_size, min_count=min_count,
                               lowercase=lowercase)


def describe(meta):
    """One line about a saved tokenizer, for logs."""
    return json.dumps({k: meta[k] for k in ("kind", "size", "lowercase")})
