"""`TextClassificationTask`: the many-to-one task that sentiment and spam share.

Everything a text classifier needs between a data spec and a SavedModel,
assembled from library parts: examples read by `kerasnlp_seq.text_data`
(CSV / TSV / JSONL, class folders, TFDS), a vocabulary adapted on the
training texts (started from word vectors by `kerasnlp_seq.text_vectors`
where the config asks), length-bucketed batches (`kerasnlp_seq.text_batches`),
the recurrent classifier, metrics, readable predictions and the export
(`kerasnlp_seq.classification`). A task module subclasses it, sets its
name, its `Config` (a subclass of `TextClassifierConfig`, from
`kerasnlp_seq.text_config`, with its own defaults) and, where it needs
to, overrides a method.

With a `CharTextClassifierConfig` the model reads characters as well as (or
instead of) words (`representation`), through a character vocabulary
adapted beside the word one (`kerasnlp_seq.chars`). A subclass may weight
training examples (`sample_weights`, e.g. for class imbalance).

Files larger than memory (`--stream on`, or `auto` for files over
`kerasnlp_seq.text_data.STREAM_AUTO_BYTES`) are not read into a list:
`read` returns `kerasnlp_seq.streaming.StreamedExamples`, which the methods
below accept in place of a list: the validation split is a hash split,
vocabularies are adapted on a bounded seeded sample (`--stream-sample`),
training batches are read from disk through tf.data and shuffled in a
bounded buffer (`--stream-shuffle`), and evaluation streams too. A subclass
that needs every example in memory sets `supports_streaming = False`.
"""

import logging
import os

from kerasnlp_seq import streaming, tfds_data
from kerasnlp_seq.task import Task
# The configs live in their own module; both stay importable from here.
from kerasnlp_seq.text_config import (  # noqa: F401
    CharTextClassifierConfig, TextClassifierConfig)
from kerasnlp_seq.text_data import (read_texts, read_tfds_texts,
                                    should_stream, stratified_split)

log = logging.getLogger("kerasnlp_seq")


class TextClassificationTask(Task):
    """Many-to-one text classification assembled from library parts."""

    Config = TextClassifierConfig
    monitor = ("val_loss", "min")
    # How to read the data given to evaluate (`--set label_column=stars`).
    inference_options = ("format", "text_column", "label_column", "header",
                         "tfds_data_dir")
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
        """Examples of a data spec (`kerasnlp_seq.text_data`)."""
        if tfds_data.is_tfds(spec):
            records, names = read_tfds_texts(spec, role, self.config)
            if records is not None:
                self._tfds_label_names = names
            return records
        stream = not os.path.isdir(spec) and should_stream(
            spec, getattr(self.config, "stream", "off"),
            self.supports_streaming, self.name)
        return read_texts(spec, self.config, stream=stream)

    def split_validation(self, examples, fraction, seed):
        """A stratified, seeded hold-back: each class keeps its share.

        Streamed examples are split by a seeded hash of their text instead
        (`StreamedExamples.split`), which needs no list.
        """
        return stratified_split(examples, fraction, seed)

    # ---------------------------------------------------- preprocessing
    def adapt(self, examples):
        from kerasnlp_seq.classification import LabelSet
        from kerasnlp_seq.text import Vocabulary
        from kerasnlp_seq.text_vectors import (pretrained_vectors,
                                               word2vec_vectors)

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
            self.vocab, self._matrix, self.coverage = pretrained_vectors(
                self.vocab, c.embeddings, c.vectors_vocab, c.lowercase)
        elif c.word2vec != "off" and self.uses_words:
            (self.vocab, self._matrix, self.coverage,
             self._word2vec_note) = word2vec_vectors(
                texts(), self.vocab, source, c)
        if self.uses_chars:
            from kerasnlp_seq.chars import CharVocabulary

            self.chars = CharVocabulary.adapt(
                texts(), max_size=c.char_vocab_size,
                lowercase=c.char_lowercase)

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
        if self.uses_words:
            from kerasnlp_seq.text_vectors import start_embedding

            start_embedding(model, c, self.vocab.tokens, self._matrix,
                            self.coverage)
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
        and shuffled in a buffer of `stream_shuffle` examples
        (`kerasnlp_seq.text_batches`).
        """
        from kerasnlp_seq.text_batches import (streamed_columns,
                                               text_batches, text_columns)

        c = self.config
        streamed = streaming.is_streamed(examples)
        if streamed:
            ds = streamed_columns(
                examples, self.labels.names if with_targets else None)
            buffer = c.stream_shuffle
        else:
            targets = weights = None
            if with_targets:
                targets = self.targets(examples)
                weights = self.sample_weights(examples) if training else None
            ds = text_columns([ex["text"] for ex in examples], targets,
                              weights)
            buffer = len(examples)
        return text_batches(
            ds, self.encode_texts, batch_size, training,
            c.max_chars if self.uses_chars else c.max_length,
            cache=not streamed, shuffle_buffer=buffer, bucket=c.bucket,
            seed=seed, batch_tokens=batch_tokens)

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
