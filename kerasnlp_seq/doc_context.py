"""Document context for taggers: neighbouring sentences tagged together.

A sentence-level tagger reads "LEICESTERSHIRE 22 points" with nothing
around it; the document it came from says the line is a cricket table and
that the name is a team. CoNLL-2003 marks documents with `-DOCSTART-`
lines, and the readers keep each sentence's document as `_doc`. A
*window* here is a run of whole, consecutive sentences of one document of
at most `max_tokens` tokens (a longer sentence is a window by itself). A
tagger trains and predicts on windows, and its predictions are split back
into sentences, so scores and outputs stay per sentence.

Example:

>>> spans = windows([0, 0, 0, 1], [3, 4, 2, 5], max_tokens=8)
>>> spans
[[0, 1], [2], [3]]
>>> join([["a", "b", "c"], ["d", "e", "f", "g"], ["h", "i"], ["j"] * 5], spans)
[['a', 'b', 'c', 'd', 'e', 'f', 'g'], ['h', 'i'], ['j', 'j', 'j', 'j', 'j']]
>>> split([[1, 2, 3, 4, 5, 6, 7], [8, 9], [0] * 5], spans, [3, 4, 2, 5])
[[1, 2, 3], [4, 5, 6, 7], [8, 9], [0, 0, 0, 0, 0]]
"""


def windows(docs, lengths, max_tokens):
    """Group consecutive sentences of one document into windows.

    Args:
        docs: sequence of hashable or None. Each sentence's document; None
            (no document known) keeps a sentence on its own.
        lengths: sequence of int. Tokens per sentence.
        max_tokens: int. Token budget of a window; 0 or less: one sentence
            per window.

    Returns:
        A list of windows, each a list of sentence indices in order; every
        index appears once.
    """
    result, current, total, current_doc = [], [], 0, None
    for i, (doc, n) in enumerate(zip(docs, lengths)):
        if current and (max_tokens <= 0 or doc is None or doc != current_doc
                        or total + n > max_tokens):
            result.append(current)
            current, total = [], 0
        current.append(i)
        total += n
        current_doc = doc
    if current:
        result.append(current)
    return result


def join(rows, spans):
    """Concatenate per-sentence lists (tokens, tag ids) window by window."""
    return [[value for i in span for value in rows[i]] for span in spans]


def split(rows, spans, lengths):
    """Per-window rows (padding allowed) back to per-sentence rows, in order.

    Args:
        rows: list of sequences. One per window, at least as long as the
            window's tokens (padded model output is fine).
        spans: list of lists of int. The windows, from `windows`.
        lengths: sequence of int. Tokens per sentence.
    """
    out = [None] * len(lengths)
    for row, span in zip(rows, spans):
        start = 0
        for i in span:
            out[i] = list(row[start:start + lengths[i]])
            start += lengths[i]
    return out


def documents(sentences):
    """A key per sentence that only consecutive sentences of one document share.

    Sentences join a window only if they share a key: the same `_source`
    and `_doc`, and, where both have an `_index` (their place in the
    source), neighbouring places. A shuffled or subsampled list therefore
    never joins sentences out of order. None where no document is marked.

    >>> documents([{"_doc": 0, "_index": 1}, {"_doc": 0, "_index": 2},
    ...            {"_doc": 0, "_index": 5}, {"_doc": 1}, {"_doc": None}])
    [1, 1, 2, 3, None]
    """
    keys, run, previous = [], 0, None
    for sentence in sentences:
        doc = sentence.get("_doc")
        if doc is None:
            keys.append(None)
            previous = None
            continue
        here = (sentence.get("_source"), doc, sentence.get("_index"))
        if (previous is None or here[:2] != previous[:2]
                or (here[2] is not None and previous[2] is not None
                    and here[2] != previous[2] + 1)):
            run += 1
        keys.append(run)
        previous = here
    return keys


def split_documents(sentences, fraction, seed):
    """Hold back a seeded `fraction` of whole documents, order kept.

    Sentences without a document count as documents of their own.

    Returns:
        `(train, valid)`: lists of sentences, each in the input order, or
        None for fewer than two documents (nothing to hold back whole).
    """
    import random

    keys = [k if k is not None else ("sentence", i)
            for i, k in enumerate(documents(sentences))]
    unique = list(dict.fromkeys(keys))
    if len(unique) < 2:
        return None
    random.Random(seed).shuffle(unique)
    n_valid = min(max(1, int(round(len(unique) * fraction))),
                  len(unique) - 1)
    held = set(unique[:n_valid])
    train = [s for s, k in zip(sentences, keys) if k not in held]
    valid = [s for s, k in zip(sentences, keys) if k in held]
    return train, valid
