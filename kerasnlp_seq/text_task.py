"""`TextClassificationTask`: the many-to-one task that sentiment and spam share.

Everything a text classifier needs between a data spec and a SavedModel:
reading (CSV / TSV / JSONL, class folders, TFDS), a vocabulary adapted on the
training texts, length-bucketed batches, the recurrent classifier, metrics,
readable predictions and the export. A task module subclasses it, sets its
name, its `Config` (a subclass of `TextClassifierConfig` with its own
defaults) and, where it needs to, overrides a method.

With a `CharTextClassifierConfig` the model reads characters as well as (or
instead of) words (`representation`), through a character vocabulary
adapted beside the word one (`kerasnlp_seq.chars`). A subclass may weight
training examples (`sample_weights`, e.g. for class imbalance).

Files larger than memory (`--stream on`, or `auto` for files over
`STREAM_AUTO_BYTES`) are not read into a list: `read` returns
`kerasnlp_seq.streaming.StreamedExamples`, which the methods below accept
in place of a list: the validation split is a hash split, vocabularies are
adapted on a bounded seeded sample (`--stream-sample`), training batches
are read from disk through tf.data and shuffled in a bounded buffer
(`--stream-shuffle`), and evaluation streams too. A subclass that needs
every example in memory sets `supports_streaming = False`.
"""

import dataclasses
import logging
import os
import typing

from kerasnlp_seq import readers, streaming, tfds_data
from kerasnlp_seq.config import check_range, choice, option, validate_choices
from kerasnlp_seq.errors import ConfigError, DataError
from kerasnlp_seq.task import Task

log = logging.getLogger("kerasnlp_seq")

STREAM_AUTO_BYTES = 512 * 2**20


@dataclasses.dataclass(frozen=True)
class TextClassifierConfig:
    """Options of a recurrent text classifier (data, text, model)."""

    text_column: str = option(
        "text", "Text column (name, or 0-based index without header).")
    label_column: str = option("label", "Label column (name or index).")
    format: typing.Optional[str] = choice(
        None, [None, "csv", "tsv", "jsonl"],
        "File format (default: from the file name).")
    header: bool = option(True, "Whether CSV/TSV files have a header row.")
    tfds_data_dir: typing.Optional[str] = option(
        None, "TFDS data directory (prepared data loads offline).")
    vocab_size: int = option(20000, "Vocabulary size (pad and OOV included).")
    max_length: int = option(400, "Tokens kept per text.")
    truncating: str = choice(
        "pre", ["pre", "post"],
        "Drop extra tokens from the start (pre) or the end (post).")
    lowercase: bool = option(True, "Lower-case texts.")
    embeddings: typing.Optional[str] = option(
        None, "Pretrained word vectors to start the word embedding from "
        "(GloVe / word2vec text, gzip ok).")
    word2vec: str = choice(
        "off", ["off", "on", "auto"],
        "Start the word embedding from skip-gram word2vec vectors trained on "
        "the training texts (gensim; texts only, never labels); auto: when "
        "they hold --word2vec-min-tokens tokens or more and no --embeddings "
        "file is given.")
    word2vec_min_tokens: int = option(
        1_000_000, "--word2vec auto: fewer training tokens keep a randomly "
        "started embedding.")
    word2vec_epochs: int = option(5, "--word2vec: passes over the texts.")
    word2vec_min_count: int = option(
        2, "--word2vec: words seen fewer times get no vector.")
    freeze_embeddings: bool = option(
        False, "Keep the --embeddings / --word2vec vectors fixed in training "
        "(else fine-tune them).")
    vectors_vocab: int = option(
        0, "With --embeddings: add up to N more words that have vectors but "
        "are not in the vocabulary (the file's most frequent first), so "
        "words first seen at prediction keep their vectors; with --word2vec, "
        "rarer training words beyond --vocab-size. Best frozen.")
    embedding_dim: int = option(
        128, "Embedding width (the vectors' width with --embeddings).")
    cell: str = choice("gru", ["simple_rnn", "lstm", "gru"], "Recurrent cell.")
    units: int = option(64, "Units per recurrent layer and direction.")
    num_layers: int = option(1, "Stacked recurrent layers.")
    bidirectional: bool = option(True, "Bidirectional recurrent layers.")
    merge_mode: str = choice("concat", ["concat", "sum", "mul", "ave"],
                             "How directions merge.")
    pooling: str = choice("max_mean", ["last", "max", "mean", "max_mean"],
                          "How the sequence becomes one vector.")
    dropout: float = option(0.3, "Dropout between layers and before output.")
    embedding_dropout: float = option(0.2, "Spatial dropout on embeddings.")
    word_dropout: float = option(
        0.0, "In training, zero the embeddings of whole words at this rate.")
    recurrent_dropout: float = option(
        0.0, "Recurrent-state dropout (disables cuDNN).")
    residual: bool = option(False, "Residual connections between layers.")
    bucket: bool = option(True, "Batch texts of similar length together.")
    stream: str = choice(
        "auto", ["auto", "on", "off"],
        "Read table files from disk through tf.data instead of into memory "
        "(auto: files over 512 MB).")
    stream_sample: int = option(
        20000, "Streamed data: texts sampled (seeded) to adapt vocabularies.")
    stream_shuffle: int = option(
        10000, "Streamed data: shuffle buffer, in examples.")

    def __post_init__(self):
        validate_choices(self)
        check_range(self, "stream_sample", 1)
        check_range(self, "stream_shuffle", 1)
        check_range(self, "vocab_size", 3)
        check_range(self, "max_length", 1)
        check_range(self, "embedding_dim", 1)
        check_range(self, "vectors_vocab", 0)
        check_range(self, "word2vec_min_tokens", 0)
        check_range(self, "word2vec_epochs", 1)
        check_range(self, "word2vec_min_count", 1)
        if self.embeddings and self.word2vec == "on":
            raise ConfigError("--embeddings (a vectors file) and --word2vec "
                              "on (vectors trained here) exclude each other.")
        defaults = {f.name: f.default for f in dataclasses.fields(self)}
        asked = [f"--{name.replace('_', '-')}"
                 for name in ("freeze_embeddings", "vectors_vocab")
                 if getattr(self, name) != defaults[name]
                 and getattr(self, name)]
        if asked and not self.embeddings and self.word2vec == "off":
            raise ConfigError(f"{' and '.join(asked)} need --embeddings (a "
                              "vectors file) or --word2vec.")
        check_range(self, "units", 1)
        check_range(self, "num_layers", 1)
        for name in ("dropout", "embedding_dropout", "word_dropout",
                     "recurrent_dropout"):
            check_range(self, name, 0.0, 1.0, inclusive_high=False)


@dataclasses.dataclass(frozen=True)
class CharTextClassifierConfig(TextClassifierConfig):
    """A text classifier's options plus a character-level input."""

    representation: str = choice(
        "word_char", ["word", "char", "word_char"],
        "Model input: words, characters, or both (robust to obfuscation).")
    max_chars: int = option(400, "Characters kept per text.")
    char_vocab_size: int = option(
        200, "Character vocabulary size (pad and unknown included).")
    char_lowercase: bool = option(
        False, "Lower-case the character input (capitals are a signal).")
    char_embedding_dim: int = option(32, "Character embedding width.")
    char_filters: int = option(64, "Character n-gram filters.")
    char_kernel_size: int = option(5, "Character n-gram width.")
    char_pool_size: int = option(
        3, "Max-pool characters by this factor before the recurrent layer.")

    def __post_init__(self):
        super().__post_init__()
        if (self.embeddings or self.word2vec == "on") and \
                self.representation == "char":
            raise ConfigError("--embeddings and --word2vec need word input; "
                              "--representation is 'char'.")
        check_range(self, "max_chars", 1)
        check_range(self, "char_vocab_size", 3)
        for name in ("char_embedding_dim", "char_filters", "char_kernel_size",
                     "char_pool_size"):
            check_range(self, name, 1)


class TextClassificationTask(Task):
    """Many-to-one text classification assembled from library parts."""

    Config = TextClassifierConfig
    monitor = ("val_loss", "min")
    input_help = "one text per line"
    supports_streaming = True

    def __init__(self, config=None):
        super().__init__(config)
        self.vocab = None
        self.chars = None
        self.labels = None
        self.coverage = None        # of the --embeddings file, for the log
        self._matrix = None
        # What --word2vec did while adapting; logged with the model, once
        # the run's train.log is open.
        self._word2vec_note = None
        self._tfds_label_names = None

    @property
    def representation(self):
        """`"word"`, `"char"` or `"word_char"`: what the model reads."""
        return getattr(self.config, "representation", "word")

    @property
    def uses_words(self):
        return self.representation in ("word", "word_char")

    @property
    def uses_chars(self):
        return self.representation in ("char", "word_char")

    # ------------------------------------------------------------- data
    def read(self, spec, role):
        c = self.config
        if tfds_data.is_tfds(spec):
            return self._read_tfds(spec, role)
        if os.path.isdir(spec):
            records = readers.read_class_folders(spec)
        elif self._should_stream(spec):
            return streaming.scan_table(
                spec, {"text": c.text_column, "label": c.label_column},
                format=c.format, header=c.header,
                sample_size=c.stream_sample)
        else:
            records = readers.read_table(
                spec, {"text": c.text_column, "label": c.label_column},
                format=c.format, header=c.header)
        for r in records:
            r["_source"] = spec
        return records

    def _should_stream(self, spec):
        mode = getattr(self.config, "stream", "off")
        if mode == "on" and not self.supports_streaming:
            raise ConfigError(
                f"task {self.name!r} needs its examples in memory; it "
                "cannot --stream. Use --stream off.")
        if mode == "auto":
            return self.supports_streaming and os.path.isfile(spec) and \
                os.path.getsize(spec) > STREAM_AUTO_BYTES
        return mode == "on"

    def _read_tfds(self, spec, role):
        c = self.config
        rows, info = tfds_data.load(spec, role, data_dir=c.tfds_data_dir)
        if rows is None:
            return None
        text_key = c.text_column
        if text_key not in info.features:
            found = tfds_data.text_features(info)
            if not found:
                raise DataError("the data set has no text feature.", spec)
            text_key = found[0]
        if c.label_column not in info.features:
            raise DataError(
                f"no feature {c.label_column!r}. Features: "
                f"{sorted(info.features)}.", spec)
        names = tfds_data.class_names(info, c.label_column)
        self._tfds_label_names = names
        records = []
        for i, row in enumerate(rows):
            label = row[c.label_column]
            if names is not None:
                if label < 0:  # unlabelled (e.g. GLUE test splits)
                    continue
                label = names[label]
            records.append({"text": row[text_key], "label": str(label),
                            "_line": i + 1, "_source": spec})
        if not records:
            raise DataError("no labelled examples in this split.", spec)
        return records

    def split_validation(self, examples, fraction, seed):
        """A stratified, seeded hold-back: each class keeps its share.

        Streamed examples are split by a seeded hash of their text instead
        (`StreamedExamples.split`), which needs no list.
        """
        import random

        if streaming.is_streamed(examples):
            return examples.split(fraction, seed)
        rng = random.Random(seed)
        by_class = {}
        for i, ex in enumerate(examples):
            by_class.setdefault(ex["label"], []).append(i)
        valid_idx = []
        for label in sorted(by_class):
            idx = by_class[label]
            rng.shuffle(idx)
            n = int(round(len(idx) * fraction))
            if len(idx) > 1:
                n = min(max(n, 1), len(idx) - 1)
            valid_idx.extend(idx[:n])
        chosen = set(valid_idx)
        train = [ex for i, ex in enumerate(examples) if i not in chosen]
        valid = [examples[i] for i in sorted(valid_idx)]
        return train, valid

    # ---------------------------------------------------- preprocessing
    def adapt(self, examples):
        from kerasnlp_seq.classification import LabelSet
        from kerasnlp_seq.text import Vocabulary

        c = self.config
        if streaming.is_streamed(examples):  # labels counted, texts sampled
            source, labels = examples.path, list(examples.label_counts())
            texts = examples.sample_texts
        else:
            source = examples[0].get("_source", "training data")
            labels = [ex["label"] for ex in examples]

            def texts():
                return (ex["text"] for ex in examples)
        self.labels = LabelSet.from_labels(
            labels, names=self._tfds_label_names, source=source)
        if self.uses_words:
            self.vocab = Vocabulary.adapt(
                texts(), max_size=c.vocab_size, lowercase=c.lowercase)
        self._matrix = self.coverage = self._word2vec_note = None
        if c.embeddings and self.uses_words:
            self._read_embeddings(c.embeddings)
        elif c.word2vec != "off" and self.uses_words:
            self._train_word2vec(texts(), source)
        if self.uses_chars:
            from kerasnlp_seq.chars import CharVocabulary

            self.chars = CharVocabulary.adapt(
                texts(), max_size=c.char_vocab_size,
                lowercase=c.char_lowercase)

    def _read_embeddings(self, path):
        from kerasnlp_seq.embeddings import embedding_matrix

        c, extra = self.config, []
        if c.vectors_vocab:
            from kerasnlp_seq.embeddings import vector_words
            from kerasnlp_seq.text import Vocabulary

            extra = vector_words(path, c.vectors_vocab,
                                 exclude=self.vocab.tokens,
                                 lowercase=c.lowercase)
            self.vocab = Vocabulary(self.vocab.tokens + extra)
        self._matrix, self.coverage = embedding_matrix(
            self.vocab.tokens, path)
        self.coverage["added"] = len(extra)

    def _train_word2vec(self, texts, source):
        """--word2vec: vectors from the training texts, then as a file."""
        import tempfile

        from kerasnlp_seq.word2vec import tokenized, train_word2vec

        c = self.config
        sentences = list(tokenized(texts, c.lowercase))
        tokens = sum(len(s) for s in sentences)
        if c.word2vec == "auto" and tokens < c.word2vec_min_tokens:
            self._word2vec_note = (
                f"--word2vec auto: {tokens} training tokens, fewer than "
                f"--word2vec-min-tokens {c.word2vec_min_tokens}; the "
                "embedding starts random")
            return
        with tempfile.TemporaryDirectory() as workdir:
            path = os.path.join(workdir, "word2vec.txt")
            _, stats = train_word2vec(
                sentences, path, dim=c.embedding_dim,
                min_count=c.word2vec_min_count, epochs=c.word2vec_epochs)
            del sentences
            self._word2vec_note = (
                f"word2vec on {source}: {stats['texts']} texts, "
                f"{stats['tokens']} tokens -> {stats['words']} words x "
                f"{c.embedding_dim} in {stats['seconds']:.0f} s")
            self._read_embeddings(path)
        self.coverage["file"] = f"word2vec on {source}"

    def save_assets(self, directory):
        from kerasnlp_seq.config import save_json

        if self.coverage is not None:
            save_json(self.coverage, os.path.join(directory,
                                                  "embeddings.json"))
        if self.vocab is not None:
            self.vocab.save(os.path.join(directory, "vocab.txt"))
        if self.chars is not None:
            self.chars.save(os.path.join(directory, "chars.json"))
        self.labels.save(os.path.join(directory, "labels.json"))

    def load_assets(self, directory):
        from kerasnlp_seq.classification import LabelSet
        from kerasnlp_seq.text import Vocabulary

        if self.uses_words:
            self.vocab = Vocabulary.load(os.path.join(directory, "vocab.txt"))
        coverage = os.path.join(directory, "embeddings.json")
        if os.path.exists(coverage):
            from kerasnlp_seq.config import load_json

            self.coverage = load_json(coverage)
        if self.uses_chars:
            from kerasnlp_seq.chars import CharVocabulary

            self.chars = CharVocabulary.load(
                os.path.join(directory, "chars.json"))
        self.labels = LabelSet.load(os.path.join(directory, "labels.json"))

    def lookup_tables(self):
        """The TF lookup tables the encoder uses (tracked by the export)."""
        return [v.table for v in (self.vocab, self.chars) if v is not None]

    def encode_texts(self, texts):
        """String tensor (batch,) -> model inputs, graph ops only.

        Int32 token ids `(batch, words)` for the word representation, char
        ids `(batch, chars)` for `"char"`, and a dict of both (`token_ids`,
        `char_ids`) for `"word_char"`.
        """
        c = self.config
        inputs = {}
        if self.uses_words:
            inputs["token_ids"] = self._word_ids(texts)
        if self.uses_chars:
            inputs["char_ids"] = self.chars.encode(
                texts, c.max_chars, truncating=c.truncating)
        return inputs if len(inputs) > 1 else next(iter(inputs.values()))

    def _word_ids(self, texts):
        import tensorflow as tf

        from kerasnlp_seq.text import tokenize

        c = self.config
        tokens = tokenize(texts, lowercase=c.lowercase)
        if c.truncating == "pre":
            tokens = tokens[:, -c.max_length:]
        else:
            tokens = tokens[:, :c.max_length]
        ids = self.vocab.lookup(tokens).to_tensor(0)
        # At least one (masked) step, so empty texts still run.
        pad = tf.maximum(0, 1 - tf.shape(ids)[1])
        return tf.pad(ids, [[0, 0], [0, pad]])

    # ------------------------------------------------------------ model
    def build_model(self):
        from kerasnlp_seq.classification import build_text_classifier

        c = self.config
        chars = {}
        if self.uses_chars:
            chars = dict(
                char_vocab_size=self.chars.size,
                char_embedding_dim=c.char_embedding_dim,
                char_filters=c.char_filters,
                char_kernel_size=c.char_kernel_size,
                char_pool_size=c.char_pool_size)
        model = build_text_classifier(
            self.vocab.size if self.vocab is not None else 0,
            len(self.labels),
            embedding_dim=(self.coverage["dim"] if self.coverage
                           else c.embedding_dim),
            cell=c.cell, units=c.units, num_layers=c.num_layers,
            bidirectional=c.bidirectional, merge_mode=c.merge_mode,
            pooling=c.pooling, dropout=c.dropout,
            recurrent_dropout=c.recurrent_dropout, residual=c.residual,
            embedding_dropout=c.embedding_dropout,
            word_dropout=c.word_dropout, name=self.name,
            representation=self.representation, **chars)
        if self._word2vec_note:
            log.info(self._word2vec_note)
        if c.embeddings and self.uses_words:
            from kerasnlp_seq.embeddings import set_embedding_weights

            set_embedding_weights(
                model.get_layer("embedding"), self.vocab.tokens,
                c.embeddings, self._matrix, self.coverage,
                trainable=not c.freeze_embeddings)
        elif self.coverage is not None and self.uses_words:  # --word2vec
            from kerasnlp_seq.embeddings import format_coverage

            layer = model.get_layer("embedding")
            if self._matrix is not None:  # else a resumed run's checkpoint
                layer.set_weights([self._matrix])  # restores the vectors
                log.info(format_coverage(self.coverage))
            layer.trainable = not c.freeze_embeddings
        return model

    def compile_args(self):
        return {"loss": "sparse_categorical_crossentropy",
                "metrics": ["accuracy"]}

    def targets(self, examples):
        lines = [ex.get("_line") for ex in examples]
        source = examples[0].get("_source", "data") if examples else "data"
        return self.labels.encode([ex["label"] for ex in examples],
                                  source=source, lines=lines)

    def sample_weights(self, examples):
        """Per-example training weights (float32 array), or None for none."""
        return None

    def dataset(self, examples, batch_size, training, seed=None,
                with_targets=True, batch_tokens=None):
        """Batches of `(inputs, targets[, weights])`, or of inputs alone.

        Weights (from `sample_weights`) are added to training batches only,
        so validation losses stay unweighted. `batch_tokens` sets a token
        budget per training batch (`kerasnlp_seq.pipeline`). Streamed
        examples are read from disk, encoded anew each epoch (no cache)
        and shuffled in a buffer of `stream_shuffle` examples.
        """
        import tensorflow as tf

        from kerasnlp_seq import pipeline

        def encode(text, *rest):
            x = tf.nest.map_structure(lambda a: a[0],
                                      self.encode_texts(text[None]))
            return (x, *rest) if rest else x

        def length_fn(x, *rest):
            if isinstance(x, dict):  # the longer input decides the bucket
                x = x["char_ids"]
            return tf.shape(x)[0]

        if streaming.is_streamed(examples):
            ds = self._streamed_columns(examples, with_targets)
            ds = pipeline.encode(ds, encode, cache=False)
            buffer = self.config.stream_shuffle
        else:
            texts = tf.constant([ex["text"] for ex in examples])
            columns = [texts]
            if with_targets:
                columns.append(self.targets(examples))
                weights = self.sample_weights(examples) if training else None
                if weights is not None:
                    columns.append(tf.constant(weights, dtype=tf.float32))
            ds = tf.data.Dataset.from_tensor_slices(
                tuple(columns) if len(columns) > 1 else texts)
            ds = pipeline.encode(ds, encode, cache=True)
            buffer = len(examples)
        if training:
            ds = ds.shuffle(max(buffer, 1), seed=seed,
                            reshuffle_each_iteration=True)
        # Inference keeps input order: no bucketing, which would reorder.
        max_length = (self.config.max_chars if self.uses_chars
                      else self.config.max_length)
        ds = pipeline.bucketed_batches(
            ds, batch_size, max_length, length_fn,
            bucket=self.config.bucket and training,
            batch_tokens=batch_tokens)
        return pipeline.finish(ds, training, seed)

    def _streamed_columns(self, examples, with_targets):
        """`(text, label id)` (or texts) of streamed examples, from disk."""
        import tensorflow as tf

        from kerasnlp_seq.text import string_table

        ds = examples.records()
        if not with_targets:
            return ds.map(lambda text, label: text)
        unknown = sorted(set(examples.label_counts()) -
                         set(self.labels.names))
        if unknown:
            raise DataError(
                f"label {unknown[0]!r} was not seen in training. Known "
                f"labels: {self.labels.names}.", examples.path,
                examples.first_line(unknown[0]))
        table = string_table(self.labels.names, first_id=0, default_id=-1,
                             dtype=tf.int32)
        return ds.map(lambda text, label: (text, table.lookup(label)),
                      num_parallel_calls=tf.data.AUTOTUNE)

    # ---------------------------------------------------------- results
    def probabilities(self, model, texts, batch_size=64):
        """Class probabilities for raw texts (in order), as numpy.

        Runs the model's compiled predict function: calling the model
        eagerly, batch by batch, steps its recurrent loops in Python and is
        tens of times slower on a CPU.
        """
        examples = [{"text": t} for t in texts]
        ds = self.dataset(examples, batch_size, training=False,
                          with_targets=False)
        return model.predict(ds, verbose=0)

    def evaluate(self, model, examples, run_dir=None):
        from kerasnlp_seq.classification import classification_metrics

        if streaming.is_streamed(examples):  # two passes over the file
            import numpy as np

            ds = self.dataset(examples, 64, training=False)
            y = np.concatenate([y for _, y in ds.as_numpy_iterator()])
            probs = model.predict(ds.map(lambda x, y: x), verbose=0)
            return classification_metrics(y, probs, self.labels.names)
        y = self.targets(examples)
        probs = self.probabilities(model, [ex["text"] for ex in examples])
        return classification_metrics(y, probs, self.labels.names)

    def predict(self, model, inputs):
        probs = self.probabilities(model, list(inputs))
        answers = []
        for p in probs:
            k = int(p.argmax())
            answers.append({
                "label": self.labels.names[k], "score": float(p[k]),
                "probabilities": {n: float(v) for n, v in
                                  zip(self.labels.names, p)}})
        return answers

    def format_prediction(self, raw, answer):
        text = raw if len(raw) <= 70 else raw[:67] + "..."
        return f"{answer['label']}\t{answer['score']:.3f}\t{text}"

    def export(self, model, path):
        from kerasnlp_seq.classification import export_text_classifier

        export_text_classifier(model, self.encode_texts, self.lookup_tables(),
                               self.labels.names, path)
