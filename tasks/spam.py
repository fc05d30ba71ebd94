"""Spam detection: a binary text filter tuned for the ham it wrongly blocks.

Data: the SMS Spam Collection layout by default (`label<TAB>text`, no
header), any CSV / TSV / JSONL with `--header --text-column --label-column`,
or an e-mail corpus of one folder per class of raw RFC 822 messages (the
SpamAssassin layout; `--folder-labels` merges `easy_ham`, `hard_ham`, ...).
Without `--data`, trains on the bundled synthetic SMS sample.

The model reads words and characters (`--representation word_char`), so
"fr33", "C4SH", URLs and phone numbers are seen through their character
n-grams, not as unknown words. Training examples are weighted against the
class imbalance (`--class-weight auto`, or `--spam-weight`). After training
the decision threshold is chosen on the validation data, for the most spam
caught with at most `--max-fpr` of ham blocked, or else for the best F1;
it is saved in `threshold.json` and applied by `evaluate`, `predict` and
the exported SavedModel, which returns `label` and `spam_probability`.
"""

import dataclasses
import logging
import os
import typing
import warnings

from kerasnlp_seq.config import check_range, choice, option
from kerasnlp_seq.errors import ConfigError, DataError
from kerasnlp_seq.registry import register_task
from kerasnlp_seq.text_config import CharTextClassifierConfig
from kerasnlp_seq.text_task import TextClassificationTask

THRESHOLD_FILE = "threshold.json"
WEIGHTS_FILE = "class_weights.json"
SPAMASSASSIN_FOLDERS = "easy_ham:ham,easy_ham_2:ham,hard_ham:ham,spam_2:spam"
log = logging.getLogger("kerasnlp_seq")


@dataclasses.dataclass(frozen=True)
class SpamConfig(CharTextClassifierConfig):
    """Spam options: data layout, words + characters, weights, threshold."""

    text_column: str = option(
        "1", "Text column (name, or 0-based index without header).")
    label_column: str = option("0", "Label column (name or index).")
    header: bool = option(False, "Whether CSV/TSV files have a header row.")
    truncating: str = choice(
        "post", ["pre", "post"],
        "Drop extra tokens from the start (pre) or the end (post).")
    max_length: int = option(200, "Words kept per text.")
    max_chars: int = option(400, "Characters kept per text.")
    embedding_dim: int = option(64, "Embedding width.")
    units: int = option(32, "Units per recurrent layer and direction.")
    dropout: float = option(0.5, "Dropout between layers and before output.")
    embedding_dropout: float = option(0.2, "Spatial dropout on embeddings.")
    positive_label: str = option("spam", "The label of the class to catch.")
    class_weight: str = choice(
        "auto", ["auto", "none"],
        "Weight classes against imbalance (auto: n / (2 * class count)).")
    spam_weight: typing.Optional[float] = option(
        None, "Weight of positive examples, ham 1 (overrides class-weight).")
    max_fpr: typing.Optional[float] = option(
        None, "Choose the threshold catching most spam with at most this "
        "fraction of ham blocked on validation data (default: best F1).")
    threshold: typing.Optional[float] = option(
        None, "A fixed decision threshold (skips choosing one).")
    folder_labels: str = option(
        SPAMASSASSIN_FOLDERS,
        "E-mail folders renamed to labels: 'folder:label,...'.")
    email_max_bytes: int = option(
        200_000, "Bytes read of each raw e-mail (bounds huge attachments).")

    def __post_init__(self):
        super().__post_init__()
        check_range(self, "max_fpr", 0.0, 1.0, inclusive_high=False)
        check_range(self, "threshold", 0.0, 1.0)
        check_range(self, "email_max_bytes", 1)
        if self.spam_weight is not None and self.spam_weight <= 0:
            raise ConfigError("`spam_weight` of SpamConfig must be positive. "
                              f"Received: spam_weight={self.spam_weight!r}")
        if not self.positive_label:
            raise ConfigError("`positive_label` of SpamConfig must not be "
                              "empty. Received: positive_label=''")
        parse_folder_labels(self.folder_labels)


def parse_folder_labels(spec):
    """`"a:x,b:y"` -> `{"a": "x", "b": "y"}`; `ConfigError` if malformed."""
    mapping = {}
    for item in filter(None, (s.strip() for s in (spec or "").split(","))):
        folder, sep, label = item.partition(":")
        if not sep or not folder.strip() or not label.strip():
            raise ConfigError(
                "`folder_labels` must be 'folder:label' pairs separated by "
                f"commas, e.g. 'easy_ham:ham,spam_2:spam'. Received: {item!r}")
        mapping[folder.strip()] = label.strip()
    return mapping


def centre_in_gap(threshold, scores):
    """Move a threshold to the middle of the gap below it, in float32.

    `choose_threshold()` returns a score itself (the lowest flagged one),
    an edge that new examples just below it fall off: on an easily
    separated validation set it can be 0.9997, and a new spam message
    scored 0.99 would pass. Every threshold in `(next lower score,
    threshold]` flags the same validation examples, so the middle of that
    gap keeps the validation counts and leaves a margin on both sides.
    (The middle of the log-odds would put a gap from 1e-6 to 0.6 at 0.001,
    flagging nearly everything; the plain middle stays within reason.)

    Args:
        threshold: float. A threshold chosen on `scores`.
        scores: float32 array. The validation scores it was chosen on.

    Example:

    >>> import numpy as np
    >>> round(centre_in_gap(0.9, np.array([0.1, 0.3, 0.9], "float32")), 4)
    0.6
    """
    import numpy as np

    scores = np.asarray(scores, dtype=np.float32)
    top = np.float32(threshold)
    below = scores[scores < top]
    if below.size == 0:
        return float(top)
    low = below.max()
    middle = np.float32((float(low) + float(top)) / 2.0)
    return float(middle) if low < middle <= top else float(top)


@register_task
class SpamTask(TextClassificationTask):
    """Text -> spam or ham, with a tuned threshold and class weights."""

    name = "spam"
    # Class weights, the threshold and spam scores need every example.
    supports_streaming = False
    summary = "text or e-mail -> spam / ham, threshold tuned for blocked ham"
    Config = SpamConfig
    # How to read --data, and the decision threshold (`--set threshold=0.9`).
    inference_options = TextClassificationTask.inference_options + (
        "folder_labels", "threshold")
    input_help = "one message per line"

    def __init__(self, config=None):
        super().__init__(config)
        self.weights = None
        self.threshold = 0.5
        self.threshold_info = {"threshold": 0.5, "chosen_by": "default"}

    def default_data(self):
        from kerasnlp_seq.samples import sample_path

        return sample_path("spam.tsv")

    # ------------------------------------------------------------- data
    def read(self, spec, role):
        if not os.path.isdir(spec):
            return super().read(spec, role)
        from kerasnlp_seq.email_corpus import scan_email_folders

        c = self.config
        records, report = scan_email_folders(
            spec, c.email_max_bytes, parse_folder_labels(c.folder_labels))
        for reason in ("empty", "undecodable"):
            if report[reason]:
                first = next(p for p, r in report["skipped"] if r == reason)
                log.warning("%s: skipped %d %s message(s), e.g. %s", spec,
                            report[reason], reason, first)
        for r in records:
            r["_source"] = r["path"]
        return records

    # ---------------------------------------------------- preprocessing
    @property
    def positive_index(self):
        return self.labels.index[self.config.positive_label]

    def adapt(self, examples):
        import numpy as np

        from kerasnlp_seq.thresholds import class_weights

        super().adapt(examples)
        self._check_labels(examples[0].get("_source", "training data"))
        c = self.config
        names = self.labels.names
        if c.spam_weight is not None:
            self.weights = {n: 1.0 for n in names}
            self.weights[c.positive_label] = float(c.spam_weight)
        elif c.class_weight == "auto":
            ids = self.labels.encode([ex["label"] for ex in examples])
            self.weights = {names[k]: w for k, w in
                            class_weights(np.asarray(ids)).items()}
        else:
            self.weights = {n: 1.0 for n in names}

    def _check_labels(self, source):
        names = self.labels.names
        if len(names) != 2:
            raise DataError(
                f"the spam task needs exactly two classes (e.g. ham and "
                f"spam); found {len(names)}: {names}.", source)
        if self.config.positive_label not in names:
            raise DataError(
                f"no label {self.config.positive_label!r} to catch; labels "
                f"are {names}. Set --positive-label to one of them.", source)

    def save_assets(self, directory):
        from kerasnlp_seq.config import save_json

        super().save_assets(directory)
        save_json(self.weights, os.path.join(directory, WEIGHTS_FILE))

    def load_assets(self, directory):
        import numpy as np

        from kerasnlp_seq.config import load_json

        super().load_assets(directory)
        self._check_labels(directory)
        path = os.path.join(directory, WEIGHTS_FILE)
        self.weights = load_json(path) if os.path.exists(path) else None
        path = os.path.join(directory, THRESHOLD_FILE)
        if os.path.exists(path):  # absent while a resumed run trains
            self.threshold_info = load_json(path)
            self.threshold = float(self.threshold_info["threshold"])
        fixed = self.config.threshold
        if fixed is not None and fixed != self.threshold:
            # `--set threshold=T` for one evaluate / predict / export.
            self.threshold = float(np.float32(fixed))
            self.threshold_info = dict(self.threshold_info,
                                       threshold=self.threshold,
                                       chosen_by="--set threshold")

    def sample_weights(self, examples):
        import numpy as np

        if not self.weights:
            return None
        return np.asarray([self.weights[ex["label"]] for ex in examples],
                          dtype="float32")

    # ---------------------------------------------------------- results
    def spam_scores(self, model, examples):
        """`(y, scores, probs)`: 1 marks the positive class, `scores` its
        float32 probability, `probs` all class probabilities."""
        import numpy as np

        probs = self.probabilities(model, [ex["text"] for ex in examples])
        y = (self.targets(examples) == self.positive_index).astype("int64")
        return y, probs[:, self.positive_index].astype(np.float32), probs

    def after_fit(self, model, train, valid, run_dir):
        """Choose the threshold on the validation data; write threshold.json."""
        import numpy as np

        from kerasnlp_seq.config import save_json
        from kerasnlp_seq.thresholds import choose_threshold

        c = self.config
        y, scores, _ = self.spam_scores(model, valid)
        if c.threshold is not None:
            info = {"threshold": c.threshold, "chosen_by": "fixed"}
        else:
            try:
                info = choose_threshold(y, scores, max_fpr=c.max_fpr)
                info["chosen_by"] = ("best F1" if c.max_fpr is None else
                                     f"most caught at fpr <= {c.max_fpr}")
                info["edge"] = info["threshold"]
                info["threshold"] = centre_in_gap(info["threshold"], scores)
            except DataError as e:
                message = (f"cannot choose a threshold ({e}); using 0.5. "
                           "Give validation data with both classes.")
                warnings.warn(message)
                log.warning(message)
                info = {"threshold": 0.5, "chosen_by": "default"}
        # float32, as the model and the SavedModel compare scores.
        info["threshold"] = float(np.float32(info["threshold"]))
        info["positive_label"] = c.positive_label
        info["validation_examples"] = len(valid)
        self.threshold_info, self.threshold = info, info["threshold"]
        save_json(info, os.path.join(run_dir, THRESHOLD_FILE))
        log.info("decision threshold %.6g (%s)", self.threshold,
                 info["chosen_by"])

    def evaluate(self, model, examples, run_dir=None):
        """Binary metrics at the trained threshold; plots into `run_dir`."""
        import numpy as np

        from kerasnlp_seq import binary_metrics as bm

        y, scores, probs = self.spam_scores(model, examples)
        report = bm.binary_report(y, scores, self.threshold)
        if np.isnan(report["roc_auc"]):
            report["roc_auc"] = None  # one class only: undefined, valid JSON
        target = self.targets(examples)
        chosen = probs[np.arange(len(target)), target]
        report["loss"] = float(-np.log(np.clip(chosen, 1e-12, 1.0)).mean())
        report["support"] = int(len(y))
        if run_dir is not None:
            positive = self.config.positive_label
            negative = next(n for n in self.labels.names if n != positive)
            bm.plot_confusion_matrix(
                report["tp"], report["fp"], report["tn"], report["fn"],
                (negative, positive),
                os.path.join(run_dir, "confusion_matrix.png"))
            if y.any():
                bm.plot_precision_recall(
                    y, scores, os.path.join(run_dir, "precision_recall.png"),
                    threshold=self.threshold)
        return report

    def predict(self, model, inputs):
        import numpy as np

        probs = self.probabilities(model, list(inputs))
        scores = probs[:, self.positive_index].astype(np.float32)
        positive = self.config.positive_label
        negative = next(n for n in self.labels.names if n != positive)
        return [{"label": positive if s >= np.float32(self.threshold)
                 else negative, "spam_probability": float(s)}
                for s in scores]

    def format_prediction(self, raw, answer):
        text = raw if len(raw) <= 70 else raw[:67] + "..."
        return f"{answer['label']}\t{answer['spam_probability']:.3f}\t{text}"

    def export(self, model, path):
        """SavedModel: `text` -> `label`, `spam_probability`, probabilities."""
        import tensorflow as tf

        from kerasnlp_seq.classification import export_text_classifier

        pos = self.positive_index
        threshold = tf.constant(self.threshold, tf.float32)

        def decide(probs):
            return tf.where(probs[:, pos] >= threshold,
                            tf.constant(pos, tf.int64),
                            tf.constant(1 - pos, tf.int64))

        export_text_classifier(
            model, self.encode_texts, self.lookup_tables(), self.labels.names,
            path, decide=decide,
            extra_outputs=lambda probs: {"spam_probability": probs[:, pos]})
