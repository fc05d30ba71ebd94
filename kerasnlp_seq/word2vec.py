"""Word vectors trained on a task's own training texts (skip-gram word2vec).

Where no pretrained vectors fit (a new domain, no download), word2vec on the
training texts alone still helps: the vectors come from co-occurrence, not
from labels, so a frozen embedding started from them cannot memorise words
that mark one training example's label (a film's title and cast, say) the
way a trained embedding does. On IMDB reviews of movies held out from
training, sentiment's BiGRU scored 0.906 with these vectors frozen against
0.882 with a trained embedding (benchmarks/RESULTS.md).

gensim's `Word2Vec` (Mikolov et al. 2013) is the field's standard
implementation. Texts are split by the toolkit's own tokenizer
(`tokenized`), so the vectors' words are the vocabulary's.

On little text word2vec learns little: frozen vectors from SST-2's 666k
tokens of training phrases scored below a randomly started, trained
embedding. The text classifiers' `--word2vec auto` therefore trains vectors
only from `--word2vec-min-tokens` training tokens on.
"""

import time


def tokenized(texts, lowercase=True, batch_size=1024):
    """Lists of str tokens, split as `kerasnlp_seq.text.Vocabulary` splits.

    Args:
        texts: iterable of str.
        lowercase: bool. As in `kerasnlp_seq.text.standardize`.
        batch_size: int. Texts tokenized per TF call.
    """
    import tensorflow as tf

    from kerasnlp_seq.text import tokenize

    batch = []

    def flush():
        rows = tokenize(tf.constant(batch), lowercase).to_list()
        return [[t.decode("utf-8") for t in row] for row in rows]

    for text in texts:
        batch.append(text)
        if len(batch) == batch_size:
            yield from flush()
            batch = []
    if batch:
        yield from flush()


def train_word2vec(sentences, path, dim=128, window=5, min_count=2,
                   epochs=5, seed=0, workers=1):
    """Train skip-gram word2vec and write it in word2vec text format.

    Args:
        sentences: list of lists of str tokens (`tokenized(texts)`), texts
            only: labels never train the vectors.
        path: str. Output file, readable by `kerasnlp_seq.embeddings`.
        dim: int. Vector width.
        window: int. Context words on each side.
        min_count: int. Words seen fewer times get no vector.
        epochs: int. Passes over the texts.
        seed: int. With `workers=1`, the same seed gives the same vectors
            (gensim 4 draws the starting vectors from a seeded generator,
            whatever `PYTHONHASHSEED` is).
        workers: int. gensim threads; more than 1 is faster but not
            repeatable.

    Returns:
        `(vectors, stats)`: gensim's `KeyedVectors` (e.g. for
        `most_similar`) and a dict `texts`, `tokens`, `words` (vectors
        written), `seconds`.

    Raises:
        DataError: no word occurs `min_count` times.
    """
    from gensim.models import Word2Vec

    from kerasnlp_seq.errors import DataError

    if sentences and isinstance(sentences[0], str):
        raise TypeError("train_word2vec() takes lists of tokens, not "
                        "strings (gensim would read each character as a "
                        "word): pass `list(tokenized(texts))`.")
    start = time.perf_counter()
    sentences = [s for s in sentences if s]
    model = Word2Vec(vector_size=dim, window=window, min_count=min_count,
                     sg=1, negative=5, workers=workers, seed=seed)
    model.build_vocab(sentences)
    if not len(model.wv):
        raise DataError(f"word2vec: no word occurs {min_count} times or more "
                        "in the training texts; lower --word2vec-min-count.")
    model.train(sentences, total_examples=len(sentences), epochs=epochs)
    model.wv.save_word2vec_format(path)
    return model.wv, {"texts": len(sentences),
                      "tokens": sum(len(s) for s in sentences),
                      "words": len(model.wv),
                      "seconds": round(time.perf_counter() - start, 1)}
