"""Word vectors trained here, on this machine, from unlabelled text (word2vec).

    python benchmarks/word_vectors.py --corpus sst2 --output /tmp/vectors/sst2.txt
    python benchmarks/word_vectors.py --corpus imdb sst2 --output /tmp/vectors/imdb_sst2.txt
    python benchmarks/word_vectors.py --corpus imdb --imdb-holdback --output /tmp/vectors/imdb.txt
    python benchmarks/word_vectors.py --corpus imdb_movies --output /tmp/vectors/imdb_movies.txt

No pretrained vectors can be downloaded here, so the sentiment benchmark's
`--set embeddings=FILE` rows start from vectors this script trains: gensim's
skip-gram word2vec (Mikolov et al. 2013) on the *texts* of the chosen corpora
(labels never train them), written in word2vec text format, which
`kerasnlp-seq train ... --embeddings FILE` reads.

- `sst2`: the SST-2 training sentences and phrases (`train.tsv`), i.e. the
  training set's own text; vectors from it use nothing beyond SST-2's train.
- `imdb`: the IMDB train half's reviews (`imdb_train.csv.gz`), unlabelled
  in-domain text (movie reviews), 25,000 reviews, about 6.8M tokens;
  `--imdb-holdback` leaves out the 10% the IMDB benchmark validates on.
- `imdb_movies`: the same reviews less the movie-grouped 10% that
  `benchmarks/sentiment.py --only imdb_movies` validates on (always left
  out).

Texts are split as the toolkit splits them (`kerasnlp_seq.text.tokenize`,
lower-cased), after separating English contractions the Penn Treebank way
(`doesn't` -> `does n't`, `it's` -> `it 's`), which is how SST-2's text is
already tokenized, so that both corpora share tokens such as `n't`.

The training is the task's own `--word2vec` step
(`kerasnlp_seq.word2vec.train_word2vec`, gensim's skip-gram); this script
runs it on other corpora than a task's training set. With the default
`--workers 1` the vectors are the same on every run; more threads are
faster but not repeatable.
"""

import argparse
import os
import re
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _results  # noqa: E402
from sentiment import DATASETS, split_by_id  # noqa: E402  (benchmarks/)

_NEGATION = re.compile(r"(?i)(\w)(n't)\b")
_CLITIC = re.compile(r"(?i)(\w)('s|'re|'ve|'ll|'d|'m)\b")


def ptb_contractions(text):
    """`doesn't` -> `does n't`, `it's` -> `it 's` (SST's tokenization)."""
    return _CLITIC.sub(r"\1 \2", _NEGATION.sub(r"\1 \2", text))


def read_texts(corpus, holdback=False):
    """The raw texts of one corpus (labels never train the vectors).

    Read by the sentiment task's own reader, with the columns and files of
    `benchmarks/sentiment.py`. With `holdback` (IMDB, which has no separate
    validation file), the reviews that `benchmarks/sentiment.py --only imdb`
    holds back for validation are left out, so that run's validation
    accuracy stays a held-out number. That split is the task's own
    (stratified by label, default seed), the only use of the labels here.
    """
    from kerasnlp_seq import runs
    from kerasnlp_seq.registry import get_task_class

    spec = DATASETS[corpus]
    task_config, train_config = runs.resolve_config(
        "sentiment", overrides=spec["task"])
    task = get_task_class("sentiment")(task_config)
    data = _results.data_path(*spec["data"])
    if spec.get("holdout_ids"):  # imdb_movies: its own split, always
        with tempfile.TemporaryDirectory() as workdir:
            train, _ = split_by_id(data, spec["holdout_ids"], workdir)
            examples = task.read(train, "train")
    else:
        examples = task.read(data, "train")
        if holdback and spec["valid"] is None:
            examples, _ = task.split_validation(
                examples, train_config.valid_fraction, train_config.seed)
    return [ptb_contractions(ex["text"]) for ex in examples]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", nargs="+",
                        choices=["imdb", "imdb_movies", "sst2"],
                        default=["imdb", "sst2"])
    parser.add_argument("--output", required=True)
    parser.add_argument("--imdb-holdback", action="store_true",
                        help="leave out the IMDB reviews that the sentiment "
                        "benchmark validates on")
    positive = _results.positive_int
    parser.add_argument("--dim", type=positive, default=128)
    parser.add_argument("--window", type=positive, default=5)
    parser.add_argument("--min-count", type=positive, default=2)
    parser.add_argument("--epochs", type=positive, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=positive, default=1,
                        help="gensim threads; only 1 gives the same vectors "
                        "on every run")
    args = parser.parse_args()
    # Before the (long) reading and training: a folder that cannot be made
    # or written to ends the run now, in one line (`_results.guard`).
    folder = os.path.dirname(os.path.abspath(args.output))
    os.makedirs(folder, exist_ok=True)
    if not os.access(folder, os.W_OK):
        raise PermissionError(13, "cannot write to this folder", folder)
    from kerasnlp_seq.word2vec import tokenized, train_word2vec

    texts = []
    for corpus in args.corpus:
        texts.extend(read_texts(corpus, args.imdb_holdback))
    vectors, stats = train_word2vec(
        list(tokenized(texts)), args.output, dim=args.dim, window=args.window,
        min_count=args.min_count, epochs=args.epochs, seed=args.seed,
        workers=args.workers)
    print(f"{'+'.join(args.corpus)}: {stats['texts']} texts, "
          f"{stats['tokens']} tokens, {stats['words']} words x {args.dim} -> "
          f"{args.output} in {stats['seconds']:.0f} s, peak RSS "
          f"{_results.peak_rss_mb():.0f} MiB")
    for word in ("good", "boring", "n't"):
        if word in vectors:
            print(f"  nearest to {word!r}:",
                  ", ".join(w for w, _ in vectors.most_similar(word,
                                                                topn=5)))


if __name__ == "__main__":
    _results.guard(main)
