"""Word tokenization of raw sentences in TF graph ops, CoNLL-2003 style, with offsets.

A tagger is trained on pre-tokenized text (CoNLL columns), but `predict` and
the exported SavedModel read raw sentences, so raw text must be cut the way
the training data was: punctuation split off, clitics split (`Germany 's`,
`does n't`), while abbreviations (`U.S.`, `a.m.`, `Mr.`), initials (`J.`),
numbers, dates and scores (`3,000`, `1996-08-22`, `6-4`, `1/2`) and
hyphenated or apostrophised words (`year-earlier`, `O'Brien`) stay whole.

`tokenize()` is pure TensorFlow (`tf.strings.regex_replace` + split, RE2
syntax, no `tf_text`), so training-free serving graphs tokenize exactly as
`predict` does. Tokens are always substrings of the input (only white space
is inserted), so `token_offsets()` recovers character offsets in Python by
aligning the tokens to the string.

Example:

>>> tokenize(["U.S. stocks didn't fall, Mr. Smith's firm said."]).to_list()
[[b'U.S.', b'stocks', b'did', b"n't", b'fall', b',', b'Mr.', b'Smith', b"'s", b'firm', b'said', b'.']]
>>> token_offsets("Hi, Bob!", ["Hi", ",", "Bob", "!"])
[(0, 2), (2, 3), (4, 7), (7, 8)]
"""

import tensorflow as tf

# Any run of white space, Unicode separators (no-break space ...) included.
_SPACE = r"[\s\p{Z}]+"
# Clitics split from the word before them: "did n't", "Germany 's".
_CLITIC = (r"(\pL)(n['’]t|N['’]T|['’](?:s|S|re|RE|m|M|ve|VE|ll|LL|d|D))\b")
_ABBREVIATIONS = (
    "Mr|Mrs|Ms|Dr|St|Jr|Sr|Inc|Corp|Ltd|Co|Bros|vs|Gen|Gov|Sen|Rep|Lt|Col|"
    "Capt|Sgt|Prof|Rev|Jan|Feb|Mar|Apr|Aug|Sep|Sept|Oct|Nov|Dec|No|Mt|Ft")
# One token, tried in this order at each position (leftmost-first).
_TOKEN = "|".join([
    r"['’](?:s|S|re|RE|m|M|ve|VE|ll|LL|d|D)\b",      # a split clitic
    r"(?:\pL\.){2,}",                                # U.S.  a.m.  F.C.
    rf"(?:{_ABBREVIATIONS})\.",                      # Mr.  Inc.  vs.
    r"\p{Lu}\.",                                     # an initial: J.
    r"\pN+(?:[.,:/-]\pN+)*",                         # 3,000  1996-08-22  6-4
    r"[\pL\pN]+(?:[-'’&][\pL\pN]+)*",                # words, O'Brien, n't
    r"\.{2,}|-{2,}",                                 # ...  --
    r"\S",                                           # any other character
])


def tokenize(texts):
    """Split raw sentences into word tokens: a `tf.RaggedTensor` of strings.

    Graph ops only (usable in `tf.data` and in a SavedModel signature).

    Args:
        texts: string tensor of shape `(batch,)`.

    Returns:
        A string `tf.RaggedTensor` of shape `(batch, None)`.

    Example:

    >>> tokenize(["EU rejects German call."]).to_list()
    [[b'EU', b'rejects', b'German', b'call', b'.']]
    """
    texts = tf.convert_to_tensor(texts, dtype=tf.string)
    texts = tf.strings.regex_replace(texts, _SPACE, " ")
    texts = tf.strings.regex_replace(texts, _CLITIC, r"\1 \2")
    texts = tf.strings.regex_replace(texts, _TOKEN, r" \0 ")
    return tf.strings.split(tf.strings.strip(texts))


def token_offsets(text, tokens):
    """Character offsets `(start, end)` of each token in `text`.

    Tokens must occur in `text` in order (as `tokenize` makes them).

    Args:
        text: str. The raw sentence.
        tokens: list of str. Its tokens.

    Returns:
        A list of `(start, end_exclusive)` pairs, one per token.

    Example:

    >>> token_offsets("didn't", ["did", "n't"])
    [(0, 3), (3, 6)]
    """
    offsets, cursor = [], 0
    for token in tokens:
        start = text.find(token, cursor)
        if start < 0:
            raise ValueError(
                f"Token {token!r} not found in the text after offset "
                f"{cursor}; expected the tokens of `tokenize(text)`. "
                f"Received: text={text!r}")
        cursor = start + len(token)
        offsets.append((start, cursor))
    return offsets


def tokenize_with_offsets(texts):
    """Tokens and their character offsets for raw sentences (Python lists).

    Runs `tokenize` (the same graph ops as a SavedModel), then aligns.

    Args:
        texts: list of str.

    Returns:
        A list (one per text) of `(tokens, offsets)` pairs.

    Example:

    >>> tokenize_with_offsets(["Bob's car."])
    [(['Bob', "'s", 'car', '.'], [(0, 3), (3, 5), (6, 9), (9, 10)])]
    """
    texts = list(texts)
    if not texts:
        return []
    rows = tokenize(tf.constant(texts, dtype=tf.string)).to_list()
    result = []
    for text, row in zip(texts, rows):
        tokens = [t.decode("utf-8") for t in row]
        result.append((tokens, token_offsets(text, tokens)))
    return result
