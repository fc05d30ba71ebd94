"""Token-level model inputs for taggers: word ids, character ids, casing classes.

A tagger reads each token three ways: its normalised word (lower-cased,
digits folded to `0`) through a word vocabulary, its characters (case kept)
through a character vocabulary, and its casing class (all digits, mostly
digits, has a digit, lower, upper, capitalised, mixed, other). All three are
computed with TensorFlow ops from a batch of token strings, so training,
`predict` and the exported SavedModel share one graph.

Ids: 0 is padding everywhere, 1 is the unknown word / character; casing
classes start at 1.

Example:

>>> encoder = TokenEncoder.adapt([["EU", "rejects", "German", "call"]])
>>> x = encoder.encode(tf.ragged.constant([["EU", "calls", "1996"]]))
>>> sorted(x), x["casing"].numpy().tolist()
(['casing', 'chars', 'words'], [[4, 3, 1]])
"""

import collections
import json
import os

import tensorflow as tf

from kerasnlp_seq.chars import CharVocabulary
from kerasnlp_seq.errors import DataError
from kerasnlp_seq.text import Vocabulary

CASINGS = ("<pad>", "numeric", "mainly_numeric", "lower", "upper",
           "initial_upper", "mixed", "contains_digit", "other")
_FILE = "token_encoder.json"


def casing_ids(tokens):
    """Casing class ids (int32, 1..8, see `CASINGS`) of a string tensor.

    Args:
        tokens: string tensor or `tf.RaggedTensor` of tokens, any shape.
    """
    if isinstance(tokens, tf.RaggedTensor):
        return tokens.with_flat_values(casing_ids(tokens.flat_values))
    tokens = tf.convert_to_tensor(tokens, dtype=tf.string)
    n_chars = tf.strings.length(tokens, unit="UTF8_CHAR")
    n_digits = tf.strings.length(
        tf.strings.regex_replace(tokens, r"[^\pN]", ""), unit="UTF8_CHAR")
    has_lower = tf.strings.regex_full_match(tokens, r".*\p{Ll}.*")
    has_upper = tf.strings.regex_full_match(tokens, r".*\p{Lu}.*")
    initial = tf.strings.regex_full_match(tokens, r"\p{Lu}[^\p{Lu}]*")
    rules = [  # first match wins
        (tf.logical_and(n_digits > 0, tf.equal(n_digits, n_chars)), 1),
        (2 * n_digits >= n_chars, 2),
        (n_digits > 0, 7),
        (tf.logical_and(has_lower, tf.logical_not(has_upper)), 3),
        (tf.logical_and(has_upper, tf.logical_not(has_lower)), 4),
        (tf.logical_and(initial, has_lower), 5),
        (tf.logical_and(has_upper, has_lower), 6),
    ]
    ids = tf.fill(tf.shape(tokens), 8)
    for condition, value in reversed(rules):
        ids = tf.where(tf.logical_and(condition, n_chars > 0), value, ids)
    return tf.cast(ids, tf.int32)


class TokenEncoder:
    """Word and character vocabularies plus the rules that normalise words.

    Args:
        words: `kerasnlp_seq.text.Vocabulary` of normalised words, most
            frequent first.
        chars: `kerasnlp_seq.chars.CharVocabulary` or None (no characters).
        lowercase: bool. Lower-case words before the word lookup.
        normalize_digits: bool. Map every digit to `0` before the lookup.
        max_word_chars: int. Characters kept per token (the first ones).
        num_frequent: int. How many words (ids `2 .. 2 + num_frequent - 1`)
            were seen more than once; the rest are singletons, which
            training may replace by the unknown word (`drop_singletons`).
    """

    def __init__(self, words, chars=None, lowercase=True,
                 normalize_digits=True, max_word_chars=20, num_frequent=None):
        self.words = words
        self.chars = chars
        self.lowercase = bool(lowercase)
        self.normalize_digits = bool(normalize_digits)
        self.max_word_chars = int(max_word_chars)
        self.num_frequent = (len(words.tokens) if num_frequent is None
                             else int(num_frequent))

    @classmethod
    def adapt(cls, token_lists, max_words=100000, max_chars=100,
              use_chars=True, lowercase=True, normalize_digits=True,
              max_word_chars=20):
        """Build the vocabularies from training sentences (lists of tokens).

        Args:
            token_lists: iterable of lists of str.
            max_words: int. Word vocabulary size, padding and unknown
                included.
            max_chars: int. Character vocabulary size, the same way.
            use_chars: bool. Whether to build a character vocabulary.
            lowercase: bool. As in the class.
            normalize_digits: bool. As in the class.
            max_word_chars: int. As in the class.
        """
        token_lists = [list(tokens) for tokens in token_lists]
        probe = cls(Vocabulary([]), None, lowercase, normalize_digits,
                    max_word_chars)
        counts = collections.Counter()
        for start in range(0, len(token_lists), 2048):
            batch = tf.ragged.constant(token_lists[start:start + 2048],
                                       dtype=tf.string)
            counts.update(probe.normalize(batch).flat_values.numpy().tolist())
        ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        ranked = ranked[:max(0, max_words - 2)]
        words = Vocabulary([w.decode("utf-8") for w, _ in ranked])
        num_frequent = sum(1 for _, n in ranked if n > 1)
        chars = None
        if use_chars:
            chars = CharVocabulary.adapt(
                (t for tokens in token_lists for t in tokens),
                max_size=max_chars)
        return cls(words, chars, lowercase, normalize_digits, max_word_chars,
                   num_frequent)

    def normalize(self, tokens):
        """The word-lookup form of tokens (a string tensor, ragged or not)."""
        if self.lowercase:
            tokens = tf.strings.lower(tokens, encoding="utf-8")
        if self.normalize_digits:
            tokens = tf.strings.regex_replace(tokens, r"[0-9]", "0")
        return tokens

    def encode(self, tokens):
        """Ragged tokens `(batch, None)` -> dict of padded int32 model inputs.

        `words` and `casing` are `(batch, time)`, `chars` (when the encoder
        has characters) `(batch, time, chars)`; `time` and `chars` are at
        least 1, so empty sentences still make valid (all-padding) inputs.

        Args:
            tokens: a string `tf.RaggedTensor` of shape `(batch, None)`.
        """
        words = self.words.lookup(self.normalize(tokens)).to_tensor(0)
        pad = tf.maximum(0, 1 - tf.shape(words)[1])
        inputs = {
            "words": tf.pad(words, [[0, 0], [0, pad]]),
            "casing": tf.pad(casing_ids(tokens).to_tensor(0),
                             [[0, 0], [0, pad]]),
        }
        if self.chars is not None:
            chars = tf.strings.unicode_split(tokens, "UTF-8",
                                             errors="replace")
            chars = chars[:, :, :self.max_word_chars]
            ids = chars.with_flat_values(tf.cast(
                self.chars.table.lookup(chars.flat_values), tf.int32))
            ids = ids.to_tensor(0)
            char_pad = tf.maximum(0, 1 - tf.shape(ids)[2])
            inputs["chars"] = tf.pad(ids, [[0, 0], [0, pad], [0, char_pad]])
        return inputs

    def drop_singletons(self, word_ids, rate, seed=None):
        """Replace singleton word ids by the unknown id with probability `rate`.

        Teaches the model what to do with unknown words (Lample et al. 2016).
        """
        if rate <= 0:
            return word_ids
        singleton = word_ids >= 2 + self.num_frequent
        drop = tf.random.uniform(tf.shape(word_ids), seed=seed) < rate
        return tf.where(tf.logical_and(singleton, drop), 1, word_ids)

    @property
    def lookup_tables(self):
        """The TF tables the encoder uses (for an export to track)."""
        return [v.table for v in (self.words, self.chars) if v is not None]

    def save(self, directory):
        """Write `words.txt`, `chars.json` and the options into a folder."""
        self.words.save(os.path.join(directory, "words.txt"))
        if self.chars is not None:
            self.chars.save(os.path.join(directory, "chars.json"))
        options = {"lowercase": self.lowercase,
                   "normalize_digits": self.normalize_digits,
                   "max_word_chars": self.max_word_chars,
                   "num_frequent": self.num_frequent,
                   "chars": self.chars is not None}
        with open(os.path.join(directory, _FILE), "w", encoding="utf-8") as f:
            json.dump(options, f, indent=2)

    @classmethod
    def load(cls, directory):
        """Read an encoder written by `save`."""
        path = os.path.join(directory, _FILE)
        if not os.path.exists(path):
            raise DataError("token encoder options not found.", path)
        with open(path, encoding="utf-8") as f:
            options = json.load(f)
        chars = None
        if options.pop("chars"):
            chars = CharVocabulary.load(os.path.join(directory, "chars.json"))
        words = Vocabulary.load(os.path.join(directory, "words.txt"))
        return cls(words, chars, **options)
