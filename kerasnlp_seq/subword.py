"""Subword tokenization: WordPiece units learned by BPE, applied in TF ops.

Learning (Python, once per run) follows Sennrich et al. (2016): start from
the characters of every training token and repeatedly merge the most
frequent adjacent pair, weighted by token counts, until the vocabulary is
full. As in Hugging Face's `WordPieceTrainer`, the result is written as a
WordPiece vocabulary: a unit that starts a token is stored as is, a unit
inside a token with the `##` prefix (`"walking"` -> `walk`, `##ing`).

Applying it (graph ops, so the exported SavedModel needs TensorFlow alone)
is WordPiece's greedy longest-match-first: from the start of each token,
take the longest vocabulary unit that matches, then continue after it with
`##` units. A token that cannot be covered (an unseen character) becomes
the out-of-vocabulary id, as in BERT. Tokens come from
`kerasnlp_seq.seq_tokenizers.pretokenize`, so detokenization is exact.

Example:

>>> tok = SubwordTokenizer.adapt(["walking talking", "walked"], max_size=30)
>>> tok.decode(tok.encode(["talked"]).to_tensor()).numpy().tolist()
[b'talked']
"""

import heapq

import tensorflow as tf

from kerasnlp_seq.seq_tokenizers import (END, SPECIAL, START, WordTokenizer,
                                         count_tokens, join_tokens,
                                         pretokenize)
from kerasnlp_seq.text import Vocabulary

SUFFIX = "##"
MAX_WORD_CHARS = 100  # longer tokens are out of vocabulary (BERT's rule)


def learn_bpe(token_counts, max_size, min_pair_count=2):
    """Learn WordPiece units from token counts by byte-pair-encoding merges.

    Args:
        token_counts: dict. Token -> count.
        max_size: int. The most units to return (the alphabet is always
            kept whole, so a tiny `max_size` may be exceeded by it).
        min_pair_count: int. Stop when no pair is seen this often.

    Returns:
        A list of units: the alphabet (most frequent first), then the merged
        units in the order they were learned.
    """
    words, counts = [], []
    for token, count in sorted(token_counts.items()):
        if 0 < len(token) <= MAX_WORD_CHARS:
            words.append([token[0]] + [SUFFIX + c for c in token[1:]])
            counts.append(count)
    unit_counts = {}
    for symbols, count in zip(words, counts):
        for s in symbols:
            unit_counts[s] = unit_counts.get(s, 0) + count
    units = sorted(unit_counts, key=lambda u: (-unit_counts[u], u))
    known = set(units)
    pairs, where = {}, {}

    def add(i, delta):
        symbols = words[i]
        for pair in zip(symbols, symbols[1:]):
            pairs[pair] = pairs.get(pair, 0) + delta * counts[i]
            if delta > 0:
                where.setdefault(pair, set()).add(i)
                heapq.heappush(heap, (-pairs[pair], pair))

    heap = []
    for i in range(len(words)):
        add(i, +1)
    while len(units) < max_size and heap:
        negative, pair = heapq.heappop(heap)
        if pairs.get(pair, 0) != -negative:
            continue  # a stale heap entry
        if -negative < min_pair_count:
            break
        merged = pair[0] + pair[1][len(SUFFIX):]
        for i in sorted(where.pop(pair, ())):
            add(i, -1)
            words[i] = _merge(words[i], pair, merged)
            add(i, +1)
        pairs.pop(pair, None)
        if merged not in known:
            known.add(merged)
            units.append(merged)
    return units


def _merge(symbols, pair, merged):
    out, i = [], 0
    while i < len(symbols):
        if i + 1 < len(symbols) and (symbols[i], symbols[i + 1]) == pair:
            out.append(merged)
            i += 2
        else:
            out.append(symbols[i])
            i += 1
    return out


def wordpiece_ids(words, table, max_unit_chars, oov_id=1):
    """Greedy longest-match-first WordPiece over a flat string tensor.

    Args:
        words: string tensor `(n,)`, one token each.
        table: a lookup table from unit (`##` for inner units) to int id,
            returning `oov_id` for anything else.
        max_unit_chars: int. The longest unit in the vocabulary, in
            characters (without `##`): the widest match tried.
        oov_id: int. The id of a token that cannot be covered.

    Returns:
        A ragged int32 tensor `(n, None)` of unit ids per token.
    """
    n = tf.size(words)
    lengths = tf.strings.length(words, unit="UTF8_CHAR")
    widths = tf.range(max_unit_chars, 0, -1)  # longest first
    pos = tf.zeros([n], tf.int32)
    unknown = lengths > MAX_WORD_CHARS
    done = tf.logical_or(unknown, lengths == 0)
    grid = lambda x: tf.tile(x[:, None], [1, max_unit_chars])

    def body(pos, done, unknown, out):
        candidates = tf.strings.substr(
            grid(words), grid(pos), tf.tile(widths[None], [n, 1]),
            unit="UTF8_CHAR")
        inner = grid(pos > 0)
        candidates = tf.where(inner, SUFFIX + candidates, candidates)
        ids = tf.cast(table.lookup(candidates), tf.int32)
        fits = grid(pos) + widths[None] <= grid(lengths)
        found = tf.logical_and(fits, ids != oov_id)
        first = tf.argmax(tf.cast(found, tf.int32), axis=1,
                          output_type=tf.int32)
        hit = tf.logical_and(tf.reduce_any(found, axis=1),
                             tf.logical_not(done))
        unknown = tf.logical_or(unknown, tf.logical_and(
            tf.logical_not(done), tf.logical_not(hit)))
        chosen = tf.gather(ids, first, batch_dims=1)
        out = out.write(out.size(), tf.where(hit, chosen, -1))
        pos = pos + tf.where(hit, tf.gather(widths, first), 0)
        done = tf.logical_or(done, tf.logical_or(unknown, pos >= lengths))
        return pos, done, unknown, out

    out = tf.TensorArray(tf.int32, size=0, dynamic_size=True,
                         element_shape=tf.TensorShape([None]))
    out = out.write(0, tf.fill([n], -1))  # at least one column
    _, _, unknown, out = tf.while_loop(
        lambda pos, done, *_: tf.logical_not(tf.reduce_all(done)),
        body, (pos, done, unknown, out))
    matrix = tf.transpose(out.stack())  # (n, steps)
    only_oov = tf.concat([[oov_id], tf.fill([tf.shape(matrix)[1] - 1], -1)],
                         axis=0)
    matrix = tf.where(unknown[:, None], only_oov[None], matrix)
    return tf.ragged.boolean_mask(matrix, matrix >= 0)


class SubwordTokenizer(WordTokenizer):
    """WordPiece units over `pretokenize()` tokens, learned by BPE.

    Shares the vocabulary handling (ids, `pieces`, `save` / `load`) of
    `WordTokenizer`; only learning, encoding and joining differ.

    Args:
        vocabulary: `kerasnlp_seq.text.Vocabulary` of units whose first two
            tokens are `[START]` and `[END]`.
        lowercase: bool. As in `pretokenize()`.
    """

    kind = "subword"

    def __init__(self, vocabulary, lowercase=False):
        super().__init__(vocabulary, lowercase)
        units = vocabulary.tokens[2:] or ["x"]
        self.max_unit_chars = max(
            len(u[len(SUFFIX):] if u.startswith(SUFFIX) else u)
            for u in units)

    @classmethod
    def adapt(cls, texts, max_size=8000, lowercase=False):
        """Learn up to `max_size` ids (specials included) from `texts`."""
        counts = count_tokens(texts, lowercase)
        units = learn_bpe(counts, max(1, max_size - len(SPECIAL)))
        return cls(Vocabulary([START, END] + units), lowercase)

    def encode(self, texts):
        """Strings `(batch,)` -> ragged int32 unit ids, no start/end."""
        words = pretokenize(texts, self.lowercase)
        ids = wordpiece_ids(words.flat_values, self.vocabulary.table,
                            self.max_unit_chars)
        # (batch, words, units) -> (batch, units)
        return words.with_flat_values(ids).merge_dims(1, 2)

    def decode(self, ids):
        """Ids `(batch, t)` -> detokenized strings `(batch,)`."""
        pieces = self.pieces(ids)
        text = tf.strings.reduce_join(pieces, axis=-1, separator=" ")
        text = tf.strings.regex_replace(text, " " + SUFFIX, "")
        return join_tokens(tf.strings.split(text))
