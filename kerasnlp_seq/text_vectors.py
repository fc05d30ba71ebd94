"""Word vectors that start a text classifier's word embedding.

A `TextClassifierConfig` can start the word embedding from vectors instead
of at random, in one of two ways, both settled while the task adapts its
vocabulary, before any model exists:

- `--embeddings FILE`: pretrained vectors (GloVe / word2vec text, gzip
  ok), read by `pretrained_vectors`. With `--vectors-vocab N`, up to N
  more words of the file (most frequent first) join the vocabulary, so
  words first seen at prediction keep their vectors.
- `--word2vec on|auto`: skip-gram vectors trained on the training texts
  (never the labels) by `word2vec_vectors`, then read as a vectors file.
  `auto` trains only with `--word2vec-min-tokens` tokens or more.

Both return the (possibly grown) vocabulary, the embedding matrix laid out
by vocabulary id and the coverage report that is saved beside the model
(`embeddings.json`). `start_embedding` puts the matrix into a built model
and freezes it or not (`--freeze-embeddings`).
"""

import logging
import os

log = logging.getLogger("kerasnlp_seq")


def pretrained_vectors(vocab, path, vectors_vocab=0, lowercase=True):
    """A vectors file laid out over a vocabulary, which it may grow.

    Args:
        vocab: `kerasnlp_seq.text.Vocabulary`. The adapted vocabulary.
        path: str. A GloVe / word2vec text file (gzip ok).
        vectors_vocab: int. Up to this many more words that have vectors
            but are not in `vocab` join it (the file's most frequent first).
        lowercase: bool. Whether the vocabulary is lower-cased.

    Returns:
        `(vocab, matrix, coverage)`: the vocabulary (a new one when words
        were added), the float32 matrix (vocabulary size x dim) and the
        coverage dict of `embedding_matrix`, plus `added` (words added).
    """
    from kerasnlp_seq.embeddings import embedding_matrix

    extra = []
    if vectors_vocab:
        from kerasnlp_seq.embeddings import vector_words
        from kerasnlp_seq.text import Vocabulary

        extra = vector_words(path, vectors_vocab, exclude=vocab.tokens,
                             lowercase=lowercase)
        vocab = Vocabulary(vocab.tokens + extra)
    matrix, coverage = embedding_matrix(vocab.tokens, path)
    coverage["added"] = len(extra)
    return vocab, matrix, coverage


def word2vec_vectors(texts, vocab, source, config):
    """--word2vec: vectors trained on the training texts, laid out as a file.

    Args:
        texts: iterable of str. The training texts.
        vocab: `kerasnlp_seq.text.Vocabulary`. The adapted vocabulary.
        source: str. Where the texts came from (for the log and coverage).
        config: `TextClassifierConfig`. Its `word2vec*`, `embedding_dim`,
            `vectors_vocab` and `lowercase` fields.

    Returns:
        `(vocab, matrix, coverage, note)`: as `pretrained_vectors`, with
        `coverage["file"]` naming the training data, and a note for the
        run's log; `matrix` and `coverage` are None when `--word2vec auto`
        found too few tokens (the embedding starts random).
    """
    import tempfile

    from kerasnlp_seq.word2vec import tokenized, train_word2vec

    c = config
    sentences = list(tokenized(texts, c.lowercase))
    tokens = sum(len(s) for s in sentences)
    if c.word2vec == "auto" and tokens < c.word2vec_min_tokens:
        note = (f"--word2vec auto: {tokens} training tokens, fewer than "
                f"--word2vec-min-tokens {c.word2vec_min_tokens}; the "
                "embedding starts random")
        return vocab, None, None, note
    with tempfile.TemporaryDirectory() as workdir:
        path = os.path.join(workdir, "word2vec.txt")
        _, stats = train_word2vec(
            sentences, path, dim=c.embedding_dim,
            min_count=c.word2vec_min_count, epochs=c.word2vec_epochs)
        del sentences
        note = (f"word2vec on {source}: {stats['texts']} texts, "
                f"{stats['tokens']} tokens -> {stats['words']} words x "
                f"{c.embedding_dim} in {stats['seconds']:.0f} s")
        vocab, matrix, coverage = pretrained_vectors(
            vocab, path, c.vectors_vocab, c.lowercase)
    coverage["file"] = f"word2vec on {source}"
    return vocab, matrix, coverage, note


def start_embedding(model, config, tokens, matrix, coverage):
    """Start a built classifier's `embedding` layer from the vectors.

    With `--embeddings`, the file's vectors (read again when `matrix` is
    None, as in a resumed run); with `--word2vec`, `matrix` (None when a
    resumed run's checkpoint restores the vectors). The layer is frozen
    with `--freeze-embeddings`. Without `--embeddings`, `coverage` None
    (no `--word2vec`, or `auto` found too few tokens) leaves it as built.

    Args:
        model: `keras.Model` from `build_text_classifier` over words.
        config: `TextClassifierConfig`.
        tokens: list of str. The vocabulary, by id.
        matrix: array or None. From `pretrained_vectors` /
            `word2vec_vectors`.
        coverage: dict or None. Their coverage report.
    """
    if config.embeddings:
        from kerasnlp_seq.embeddings import set_embedding_weights

        set_embedding_weights(
            model.get_layer("embedding"), tokens, config.embeddings, matrix,
            coverage, trainable=not config.freeze_embeddings)
    elif coverage is not None:  # --word2vec
        from kerasnlp_seq.embeddings import format_coverage

        layer = model.get_layer("embedding")
        if matrix is not None:  # else a resumed run's checkpoint
            layer.set_weights([matrix])  # restores the vectors
            log.info(format_coverage(coverage))
        layer.trainable = not config.freeze_embeddings
