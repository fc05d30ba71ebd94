"""`TextClassificationTask`: the many-to-one task that sentiment and spam share.

Everything a text classifier needs between a data spec and a SavedModel:
reading (CSV / TSV / JSONL, class folders, TFDS), a vocabulary adapted on the
training texts, length-bucketed batches, the recurrent classifier, metrics,
readable predictions and the export. A task module subclasses it, sets its
name, its `Config` (a subclass of `TextClassifierConfig` with its own
defaults) and, where it needs to, overrides a method.
"""

import dataclasses
import os
import typing

from kerasnlp_seq import readers, tfds_data
from kerasnlp_seq.config import check_range, choice, option, validate_choices
from kerasnlp_seq.errors import DataError
from kerasnlp_seq.task import Task


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
    embedding_dim: int = option(128, "Embedding width.")
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
    recurrent_dropout: float = option(
        0.0, "Recurrent-state dropout (disables cuDNN).")
    residual: bool = option(False, "Residual connections between layers.")
    bucket: bool = option(True, "Batch texts of similar length together.")

    def __post_init__(self):
        validate_choices(self)
        check_range(self, "vocab_size", 3)
        check_range(self, "max_length", 1)
        check_range(self, "embedding_dim", 1)
        check_range(self, "units", 1)
        check_range(self, "num_layers", 1)
        for name in ("dropout", "embedding_dropout", "recurrent_dropout"):
            check_range(self, name, 0.0, 1.0, inclusive_high=False)


class TextClassificationTask(Task):
    """Many-to-one text classification assembled from library parts."""

    Config = TextClassifierConfig
    monitor = ("val_loss", "min")
    input_help = "one text per line"

    def __init__(self, config=None):
        super().__init__(config)
        self.vocab = None
        self.labels = None
        self._tfds_label_names = None

    # ------------------------------------------------------------- data
    def read(self, spec, role):
        c = self.config
        if tfds_data.is_tfds(spec):
            return self._read_tfds(spec, role)
        if os.path.isdir(spec):
            records = readers.read_class_folders(spec)
        else:
            records = readers.read_table(
                spec, {"text": c.text_column, "label": c.label_column},
                format=c.format, header=c.header)
        for r in records:
            r["_source"] = spec
        return records

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
        """A stratified, seeded hold-back: each class keeps its share."""
        import random

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

        source = examples[0].get("_source", "training data")
        self.labels = LabelSet.from_labels(
            [ex["label"] for ex in examples], names=self._tfds_label_names,
            source=source)
        self.vocab = Vocabulary.adapt(
            (ex["text"] for ex in examples), max_size=self.config.vocab_size,
            lowercase=self.config.lowercase)

    def save_assets(self, directory):
        self.vocab.save(os.path.join(directory, "vocab.txt"))
        self.labels.save(os.path.join(directory, "labels.json"))

    def load_assets(self, directory):
        from kerasnlp_seq.classification import LabelSet
        from kerasnlp_seq.text import Vocabulary

        self.vocab = Vocabulary.load(os.path.join(directory, "vocab.txt"))
        self.labels = LabelSet.load(os.path.join(directory, "labels.json"))

    def encode_texts(self, texts):
        """String tensor (batch,) -> int32 ids (batch, time), graph ops only."""
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
        return build_text_classifier(
            self.vocab.size, len(self.labels), embedding_dim=c.embedding_dim,
            cell=c.cell, units=c.units, num_layers=c.num_layers,
            bidirectional=c.bidirectional, merge_mode=c.merge_mode,
            pooling=c.pooling, dropout=c.dropout,
            recurrent_dropout=c.recurrent_dropout, residual=c.residual,
            embedding_dropout=c.embedding_dropout, name=self.name)

    def compile_args(self):
        return {"loss": "sparse_categorical_crossentropy",
                "metrics": ["accuracy"]}

    def targets(self, examples):
        lines = [ex.get("_line") for ex in examples]
        source = examples[0].get("_source", "data") if examples else "data"
        return self.labels.encode([ex["label"] for ex in examples],
                                  source=source, lines=lines)

    def dataset(self, examples, batch_size, training, seed=None,
                with_targets=True):
        import tensorflow as tf

        from kerasnlp_seq import pipeline

        texts = tf.constant([ex["text"] for ex in examples])
        if with_targets:
            ds = tf.data.Dataset.from_tensor_slices(
                (texts, self.targets(examples)))
            ds = ds.map(lambda t, y: (self.encode_texts(t[None])[0], y),
                        num_parallel_calls=pipeline.AUTOTUNE)
            length_fn = lambda x, y: tf.shape(x)[0]  # noqa: E731
        else:
            ds = tf.data.Dataset.from_tensor_slices(texts)
            ds = ds.map(lambda t: self.encode_texts(t[None])[0],
                        num_parallel_calls=pipeline.AUTOTUNE)
            length_fn = lambda x: tf.shape(x)[0]  # noqa: E731
        ds = ds.cache()
        if training:
            ds = ds.shuffle(len(examples), seed=seed,
                            reshuffle_each_iteration=True)
        # Inference keeps input order: no bucketing, which would reorder.
        ds = pipeline.bucketed_batches(
            ds, batch_size, self.config.max_length, length_fn,
            bucket=self.config.bucket and training)
        return pipeline.finish(ds, training, seed)

    # ---------------------------------------------------------- results
    def probabilities(self, model, texts, batch_size=64):
        """Class probabilities for raw texts (in order), as numpy."""
        import numpy as np

        examples = [{"text": t} for t in texts]
        ds = self.dataset(examples, batch_size, training=False,
                          with_targets=False)
        return np.concatenate([model(x, training=False).numpy() for x in ds])

    def evaluate(self, model, examples, run_dir=None):
        from kerasnlp_seq.classification import classification_metrics

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

        export_text_classifier(model, self.encode_texts, [self.vocab.table],
                               self.labels.names, path)
