"""Pretrained word vectors (GloVe / word2vec text format) for an embedding layer.

`read_vectors` reads the vectors of the words a vocabulary needs and nothing
else, so a multi-gigabyte file costs one pass and little memory.
`embedding_matrix` lays them out by vocabulary id: a word takes its own
vector if the file has it, else the vector of its lower-cased form, else a
small random one; padding is zero. The coverage (how many words were found,
exactly or lower-cased) comes back for the run log.

Formats: one word per line followed by its numbers, separated by spaces
(GloVe); an optional first line `COUNT DIM` (word2vec text); gzip by a
`.gz` suffix. A word may itself hold spaces (GloVe 840B): the last `DIM`
fields are the vector. Every line must have the same dimension.

Example:

>>> import pathlib, tempfile
>>> path = pathlib.Path(tempfile.mkdtemp()) / "vectors.txt"
>>> _ = path.write_text("the 0.1 0.2\\nparis 0.3 0.4\\n")
>>> matrix, coverage = embedding_matrix(["Paris", "the", "zzz"], path)
>>> matrix.shape, coverage["exact"], coverage["lower"], coverage["missing"]
((5, 2), 1, 1, 1)
"""

import logging
import os

import numpy as np

from kerasnlp_seq.errors import DataError
from kerasnlp_seq.readers import open_lines

log = logging.getLogger("kerasnlp_seq")


def _is_header(fields):
    return len(fields) == 2 and all(f.isdigit() for f in fields)


def _is_number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


def read_vectors(path, wanted=None):
    """Read word vectors from a text file.

    Args:
        path: str. GloVe or word2vec text format; `.gz` for gzip.
        wanted: set of str or None. Keep only these words (None: all).

    Returns:
        `(vectors, dim)`: a dict word -> float32 array, and the dimension.
    """
    path = str(path)
    vectors, dim, first = {}, None, None
    for lineno, text in open_lines(path):
        fields = text.rstrip("\r\n").split(" ")
        if fields and fields[-1] == "":  # a trailing space (some exports)
            fields = fields[:-1]
        if not fields or fields == [""]:
            continue
        if dim is None and lineno == 1 and _is_header(fields):
            dim, first = int(fields[1]), 1
            continue
        if dim is None:
            dim, first = len(fields) - 1, lineno
            if dim < 1:
                raise DataError(
                    "expected a word followed by its vector values, found "
                    f"one field ({fields[0][:40]!r}).", path, lineno)
        if len(fields) < dim + 1:
            raise DataError(
                f"inconsistent vector dimension: expected {dim} values (as "
                f"on line {first}), found {len(fields) - 1}.", path, lineno)
        if len(fields) > dim + 1 and all(
                _is_number(f) for f in fields[1:len(fields) - dim]):
            raise DataError(
                f"inconsistent vector dimension: expected {dim} values (as "
                f"on line {first}), found {len(fields) - 1}.", path, lineno)
        word = " ".join(fields[:len(fields) - dim])
        if wanted is not None and word not in wanted:
            continue
        try:
            vector = np.asarray(fields[-dim:], dtype="float32")
        except ValueError:
            raise DataError(
                f"expected {dim} numbers after the word {word[:40]!r}; "
                "found a value that is not a number.", path, lineno) from None
        vectors.setdefault(word, vector)
    if dim is None:
        raise DataError("no vectors found; the file is empty.", path)
    return vectors, dim


def vector_words(path, limit, exclude=(), lowercase=False):
    """Words of a vectors file in the file's order, without their vectors.

    For extending a vocabulary with words that have vectors but do not
    occur in the training data (word2vec and GloVe files list words most
    frequent first). One pass over the file; the vectors are not parsed.

    Args:
        path: str. GloVe or word2vec text format; `.gz` for gzip.
        limit: int. Stop after this many new words.
        exclude: collection of str. Words to skip (e.g. the vocabulary).
        lowercase: bool. Lower-case each word first (a lower-cased
            vocabulary); a word's first spelling in the file wins.

    Returns:
        list of str, at most `limit` long, without repeats.
    """
    words, seen, dim = [], set(exclude), None
    if limit <= 0:
        return words
    for lineno, text in open_lines(str(path)):
        fields = text.rstrip("\r\n").split(" ")
        if fields and fields[-1] == "":  # a trailing space (some exports)
            fields = fields[:-1]
        if dim is None and lineno == 1 and _is_header(fields):
            dim = int(fields[1])
            continue
        if dim is None:
            dim = len(fields) - 1
        if len(fields) < dim + 1 or dim < 1:
            continue  # read_vectors reports malformed lines
        word = " ".join(fields[:len(fields) - dim])  # may hold spaces
        word = word.lower() if lowercase else word
        if word not in seen:
            seen.add(word)
            words.append(word)
            if len(words) >= limit:
                break
    return words


def embedding_matrix(words, path, seed=0, scale=None):
    """An embedding matrix for a vocabulary from a vectors file.

    Row 0 (padding) is zero, row 1 (unknown) and words without a vector
    are drawn uniformly in `[-scale, scale]` (default: `sqrt(3 / dim)`).

    Args:
        words: list of str. The vocabulary's real tokens (ids 2, 3, ...).
        path: str. The vectors file.
        seed: int. Seed for the random rows.
        scale: float or None. Half-width of the random rows.

    Returns:
        `(matrix, coverage)`: float32 `(len(words) + 2, dim)` and a dict
        with counts `exact`, `lower`, `missing` and `words`, and the `file`.
    """
    words = list(words)
    wanted = set(words) | {w.lower() for w in words}
    vectors, dim = read_vectors(path, wanted)
    rng = np.random.default_rng(seed)
    scale = np.sqrt(3.0 / dim) if scale is None else scale
    matrix = rng.uniform(-scale, scale, (len(words) + 2, dim)).astype("float32")
    matrix[0] = 0.0
    exact = lower = 0
    for i, word in enumerate(words, start=2):
        if word in vectors:
            matrix[i] = vectors[word]
            exact += 1
        elif word.lower() in vectors:
            matrix[i] = vectors[word.lower()]
            lower += 1
    coverage = {"words": len(words), "exact": exact, "lower": lower,
                "missing": len(words) - exact - lower, "dim": dim,
                "file": str(path)}
    return matrix, coverage


def set_embedding_weights(layer, words, path, matrix=None, coverage=None,
                          trainable=True):
    """Start an Embedding layer from pretrained vectors and log the coverage.

    Args:
        layer: a built `keras.layers.Embedding` with `len(words) + 2` rows.
        words: list of str. The vocabulary's real tokens (ids 2, 3, ...).
        path: str. The vectors file.
        matrix, coverage: from `embedding_matrix`, when the caller has them
            (a fresh run reads them while adapting). Without a matrix (a
            resumed run rebuilding its model from saved assets) the file is
            read again, which gives the same matrix for the same words; if
            the file is gone, a warning says the layer starts random and the
            run's backup must restore it.
        trainable: bool. False keeps the vectors fixed in training.
    """
    if matrix is None:
        if os.path.exists(str(path)):
            matrix, fresh = embedding_matrix(words, path)
            coverage = coverage or fresh
        else:
            log.warning("pretrained vectors %s not found: the embedding "
                        "starts random", path)
    if matrix is not None:
        layer.set_weights([matrix])
        log.info(format_coverage(coverage))
    layer.trainable = trainable


def format_coverage(coverage):
    """One line for the run log: how many words the vectors covered."""
    n = max(coverage["words"], 1)
    found = coverage["exact"] + coverage["lower"]
    return (f"pretrained vectors {coverage['file']}: {found} of "
            f"{coverage['words']} vocabulary words found ({100 * found / n:.1f}"
            f"%: {coverage['exact']} exact, {coverage['lower']} lower-cased), "
            f"{coverage['missing']} random; dim {coverage['dim']}"
            + (f"; {coverage['added']} of the words added from the vectors "
               "file" if coverage.get("added") else ""))
