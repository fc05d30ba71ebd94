"""Image captioning: image -> caption, one-to-many, CNN encoder -> RNN decoder.

Data (`kerasnlp_seq.caption_data`): a Flickr8k folder (`DIR?split=train`,
`DIR?split=dev`; without `?split=` the role picks train / dev / test), CSV /
TSV / JSONL with `image` and `caption` columns, COCO caption JSON, or
`tfds:coco_captions`. Images are decoded once into memory at `--image-size`;
missing or corrupt files are reported by name and skipped.

Model (`kerasnlp_seq.captioner`): a small CNN trained from scratch (default)
or a Keras Applications backbone (`--encoder mobilenet_v2`, `--encoder-weights
imagenet|FILE`, frozen with cached features or fine-tuned) -> the image
embedding, projected, is the initial state of the shared recurrent decoder
(Show and Tell), which attends over the spatial feature map (`--attention`,
Show, Attend and Tell). Teacher forcing in training; greedy or beam search
(`--decoding`) for evaluation, prediction and the SavedModel.

A batch is `--batch-size` images with all their captions, so each (image,
caption) pair is one training sequence while the CNN runs once per image.
Evaluation captions each image once and scores it against all its
references: BLEU-1..4 and CIDEr-D.
"""

import dataclasses
import logging
import os
import sys
import typing

from kerasnlp_seq.config import (check_attention_from, check_range, choice,
                                 option, validate_choices)
from kerasnlp_seq.errors import ConfigError, DataError, RunError
from kerasnlp_seq.registry import register_task
from kerasnlp_seq.task import Task

log = logging.getLogger("kerasnlp_seq")
START, END = "<start>", "<end>"
ASSETS = "captioning.json"


# The from-scratch CNN's blocks. "auto" picks by image side: the wide one
# beat the narrow one on Flickr8k's 160x160 images (dev BLEU-1..4 and CIDEr),
# the narrow one learns the bundled 32x32 sample faster.
NARROW_CNN = "32,64,128,256"
WIDE_CNN = "48,96,192,384,384"
WIDE_FROM = 64  # pixels


def cnn_filters_for(spec, image_size):
    """The CNN's channels per block, as ints, for `spec` ("auto" or
    comma-separated ints) and images of side `image_size`.

    >>> cnn_filters_for("auto", 32), cnn_filters_for("auto", 160)[-1]
    ([32, 64, 128, 256], 384)
    """
    if spec == "auto":
        spec = WIDE_CNN if image_size >= WIDE_FROM else NARROW_CNN
    return _parse_filters(spec)


def _parse_filters(spec):
    try:
        filters = [int(f) for f in spec.split(",")]
    except ValueError:
        filters = [0]
    if not filters or min(filters) < 1:
        raise ConfigError("`cnn_filters` must be comma-separated positive "
                          f"ints or auto. Received: cnn_filters={spec!r}")
    return filters


@dataclasses.dataclass(frozen=True)
class CaptioningConfig:
    """Options of the image captioner (data, images, encoder, decoder)."""

    # Old field names still read from run directories, configs and --set.
    RENAMED: typing.ClassVar[dict] = {"decode": "decoding"}

    image_root: typing.Optional[str] = option(
        None, "Folder relative image paths start from (default: the data "
        "file's folder).")
    tfds_data_dir: typing.Optional[str] = option(
        None, "TFDS data directory (prepared data loads offline).")
    image_size: int = option(
        0, "Side images are resized to (0: the first image's side, "
        "32..224).")
    encoder: str = choice("cnn", ["cnn", "mobilenet_v2", "efficientnet_b0"],
                          "Image encoder (cnn: trained from scratch).")
    encoder_weights: typing.Optional[str] = option(
        None, "Backbone weights: imagenet (download) or a local file.")
    freeze_encoder: bool = option(
        True, "Freeze a backbone and cache its features (cnn: trained).")
    cnn_filters: str = option(
        "auto", "Channels of the CNN blocks, comma-separated (one conv "
        "each; blocks past the smallest map keep its size). auto: "
        f"{WIDE_CNN} for images of 64 pixels or more (best on Flickr8k, "
        f"benchmarks/RESULTS.md), {NARROW_CNN} below (learns the 32x32 "
        "sample faster).")
    cnn_convs: int = option(
        1, "3x3 convolutions per CNN block (2: VGG-style blocks).")
    feature_dim: int = option(
        256, "Width a backbone's feature map is projected to.")
    augment: bool = option(
        False, "Random shifts, brightness and contrast in training (never "
        "flips: captions say left and right).")
    vocab_size: int = option(10000, "Caption vocabulary size (incl. "
                             "pad, unknown, start, end).")
    min_count: int = option(5, "Drop caption words seen fewer times.")
    max_length: int = option(
        20, "Most words per caption (longer ones are cut in training).")
    embedding_dim: int = option(256, "Word embedding width.")
    cell: str = choice("lstm", ["simple_rnn", "lstm", "gru"],
                       "Decoder cell.")
    units: int = option(256, "Decoder units.")
    num_layers: int = option(1, "Decoder layers.")
    attention: str = choice("bahdanau", ["none", "luong", "bahdanau"],
                            "Attention over the feature map (none: Show "
                            "and Tell).")
    attention_from: str = choice(
        "top", ["top", "bottom"],
        "Decoder layer whose outputs query the attention: top (Luong), or "
        "bottom, with the context fed to every layer above (GNMT; needs "
        "--num-layers 2 or more). Bottom trailed one layer by 0.01 BLEU-4 "
        "on Flickr8k in equal time (benchmarks/RESULTS.md).")
    dropout: float = option(0.3, "Dropout on image features and decoder.")
    word_dropout: float = option(
        0.0, "Rate at which whole caption tokens are dropped from the "
        "decoder's input embeddings in training.")
    word_loss: float = option(
        0.0, "Weight of an auxiliary training loss: the pooled image "
        "predicts the words of its captions (a direct signal for the "
        "encoder; 0: off).")
    label_smoothing: float = option(
        0.0, "Label smoothing of the caption loss (as in translation); "
        "0.1 scored the same as 0 on Flickr8k (benchmarks/RESULTS.md).")
    decoding: str = choice("beam", ["greedy", "beam"], "Decoding method.")
    beam_width: int = option(5, "Beam size.")
    length_penalty: float = option(
        0.5, "Beam search GNMT alpha (0: none). Width 5 and 0.5 gave the "
        "best Flickr8k dev BLEU-4 of two models (benchmarks/RESULTS.md).")
    min_length: int = option(
        1, "Fewest words before a caption may end (0: an empty caption is "
        "possible).")

    def __post_init__(self):
        validate_choices(self)
        check_range(self, "vocab_size", 5)
        for name in ("min_count", "max_length", "embedding_dim", "units",
                     "num_layers", "beam_width", "feature_dim"):
            check_range(self, name, 1)
        check_range(self, "dropout", 0.0, 1.0, inclusive_high=False)
        check_range(self, "word_dropout", 0.0, 1.0, inclusive_high=False)
        check_range(self, "length_penalty", 0.0)
        check_range(self, "min_length", 0)
        check_range(self, "word_loss", 0.0)
        check_range(self, "label_smoothing", 0.0, 1.0, inclusive_high=False)
        if self.image_size != 0:
            check_range(self, "image_size", 32, 1024)
        if self.encoder == "cnn" and self.encoder_weights:
            raise ConfigError(
                "`encoder_weights` needs a backbone (--encoder mobilenet_v2 "
                "or efficientnet_b0); the cnn trains from scratch. Received: "
                f"encoder_weights={self.encoder_weights!r}")
        if self.cnn_filters != "auto":
            _parse_filters(self.cnn_filters)
        check_range(self, "cnn_convs", 1)
        check_attention_from(self, "num_layers")

    @property
    def frozen(self):
        """Whether the encoder is frozen and its features cached."""
        return self.encoder != "cnn" and self.freeze_encoder


def _echo(message):
    print(message, file=sys.stderr)


def words_digest(words):
    """The SHA-256 (hex) of a word list, in order (to tell an edited one)."""
    import hashlib

    return hashlib.sha256("\n".join(words).encode("utf-8")).hexdigest()


def _checked_assets(assets, path):
    """`(words, image_size)` of a loaded `captioning.json`, checked against
    the count and digest saved with them (runs saved before those were
    recorded are checked for shape only)."""
    words = assets.get("words") if isinstance(assets, dict) else None
    if not isinstance(words, list) or not all(
            isinstance(w, str) for w in words) or not {START, END} <= set(
            words):
        raise RunError(f"{path}: `words` must be the run's list of caption "
                       f"words (with {START} and {END}); restore the run's "
                       "file.")
    image_size = assets.get("image_size")
    if isinstance(image_size, bool) or not isinstance(image_size, int) or \
            image_size < 1:
        raise RunError(f"{path}: `image_size` must be a positive int. "
                       f"Received: image_size={image_size!r}")
    if assets.get("size") not in (None, len(words)):
        raise RunError(
            f"{path}: `words` has {len(words)} entries, the run was trained "
            f"with {assets['size']}; restore the run's file.")
    if assets.get("sha256") not in (None, words_digest(words)):
        raise RunError(
            f"{path}: `words` differs from the vocabulary the run was "
            "trained with (its SHA-256 changed); restore the run's file.")
    return words, image_size


@register_task
class CaptioningTask(Task):
    """Image captioning with a CNN encoder and a recurrent decoder."""

    name = "captioning"
    summary = "image -> caption, one-to-many, CNN + attention decoder"
    Config = CaptioningConfig
    input_help = "one image path per line"
    # Cosine decay: the best Flickr8k dev loss, BLEU and CIDEr of the
    # recipes measured (benchmarks/RESULTS.md, captioning sections).
    train_defaults = {"epochs": 20, "patience": 5, "clipnorm": 5.0,
                      "lr_schedule": "cosine"}
    # Decoding settings, and where evaluate finds the images of its data.
    inference_options = ("decoding", "beam_width", "length_penalty",
                         "min_length", "image_root", "tfds_data_dir")

    def __init__(self, config=None):
        super().__init__(config)
        self.words = None          # token of every id
        self.image_size = self.config.image_size or None
        self.encoder = None        # frozen encoder model, or None
        self._generators = {}
        self._assets_path = None   # captioning.json, once loaded

    # ------------------------------------------------------------- data
    def default_data(self):
        from kerasnlp_seq.samples import sample_path

        return sample_path(os.path.join("captions", "captions.tsv"))

    def read(self, spec, role):
        from kerasnlp_seq.caption_data import (attach_pixels,
                                               first_image_side, read_captions)

        c = self.config
        records = read_captions(spec, role, image_root=c.image_root,
                                tfds_data_dir=c.tfds_data_dir)
        if records is None:
            return None
        if self.image_size is None:
            self.image_size = first_image_side(records)
        return attach_pixels(records, self.image_size, echo=_echo)

    # ---------------------------------------------------- preprocessing
    def adapt(self, examples):
        import collections

        from kerasnlp_seq.caption_metrics import caption_tokens

        c = self.config
        counts = collections.Counter(
            t for ex in examples for text in ex["captions"]
            for t in caption_tokens(text))
        ranked = sorted((kv for kv in counts.items() if kv[1] >= c.min_count),
                        key=lambda kv: (-kv[1], kv[0]))
        self.words = ["[PAD]", "[UNK]", START, END] + [
            w for w, _ in ranked[:c.vocab_size - 4]]
        if len(self.words) == 4:
            raise DataError(f"no caption word occurs {c.min_count} times or "
                            "more; lower --min-count.")
        if c.frozen:
            self.encoder = self._build_encoder(trainable=False)

    def _build_encoder(self, trainable):
        from kerasnlp_seq.image_encoder import build_image_encoder

        c = self.config
        try:
            return build_image_encoder(
                self.image_size, c.encoder, weights=c.encoder_weights,
                trainable=trainable,
                filters=cnn_filters_for(c.cnn_filters, self.image_size),
                convs=c.cnn_convs)
        except (OSError, ValueError) as e:
            if isinstance(e, DataError):
                raise
            first = str(e).strip().splitlines()[0][:200] if str(e) else ""
            raise ConfigError(
                f"cannot build the {c.encoder} encoder with "
                f"weights={c.encoder_weights!r}: {first}") from None

    def save_assets(self, directory):
        from kerasnlp_seq.config import save_json

        # The count and digest of the words tell an edited file at load.
        save_json({"words": self.words, "image_size": self.image_size,
                   "size": len(self.words),
                   "sha256": words_digest(self.words)},
                  os.path.join(directory, ASSETS))
        if self.encoder is not None:
            self.encoder.save(os.path.join(directory, "encoder.keras"))

    def load_assets(self, directory):
        import keras

        from kerasnlp_seq.config import load_json

        path = os.path.join(directory, ASSETS)
        assets = load_json(path)
        self.words, self.image_size = _checked_assets(assets, path)
        self._assets_path = path
        if self.config.frozen:
            self.encoder = keras.saving.load_model(
                os.path.join(directory, "encoder.keras"))

    def load_model(self, path):
        """Reload the model and check that the run's assets fit it: as many
        words as it predicts, images of the side it takes."""
        model = super().load_model(path)
        assets = self._assets_path or ASSETS
        size = model.output.shape[-1]
        if size is not None and size != len(self.words):
            raise RunError(
                f"{assets}: `words` has {len(self.words)} entries but the "
                f"model predicts {size} ids; the vocabulary does not match "
                "the run (restore the run's file).")
        taker = self.encoder if self.encoder is not None else model
        image = taker.input
        if isinstance(image, dict):
            image = image.get("image")
        side = None if image is None else image.shape[1]
        if side is not None and side != self.image_size:
            raise RunError(
                f"{assets}: `image_size` is {self.image_size} but the model "
                f"takes {side}x{side} images; restore the run's file.")
        return model

    # ------------------------------------------------------------ model
    def _decoder_args(self):
        c = self.config
        return dict(embedding_dim=c.embedding_dim, cell=c.cell, units=c.units,
                    num_layers=c.num_layers, attention=c.attention,
                    dropout=c.dropout, word_dropout=c.word_dropout,
                    attention_from=c.attention_from)

    def build_model(self):
        from kerasnlp_seq.captioner import build_captioner

        c = self.config
        feature_dim = c.feature_dim if c.encoder != "cnn" else None
        common = dict(feature_dim=feature_dim, word_loss=c.word_loss,
                      reserved_ids=self.words.index(END) + 1,
                      **self._decoder_args())
        if self.encoder is not None:
            return build_captioner(
                len(self.words), features_shape=self.encoder.output.shape[1:],
                **common)
        return build_captioner(
            len(self.words), encoder=self._build_encoder(trainable=True),
            **common)

    def compile_args(self):
        import keras

        from kerasnlp_seq.losses import SmoothedSparseCrossentropy

        return dict(
            loss=SmoothedSparseCrossentropy(self.config.label_smoothing),
            metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")])

    def caption_ids(self, examples):
        """`(n, k, t)` int32: start, word ids, end, per caption (0 = pad)."""
        from kerasnlp_seq.caption_pipeline import encode_captions

        return encode_captions([ex["captions"] for ex in examples],
                               self.words, self.config.max_length, START, END)

    def inputs(self, examples):
        """The model's image-side input for `examples`: pixels or cached
        features (computed once per record with a frozen encoder)."""
        import numpy as np

        if self.encoder is None:
            return np.stack([ex["pixels"] for ex in examples])
        from kerasnlp_seq.image_encoder import extract_features

        todo = [ex for ex in examples if "features" not in ex]
        if todo:
            features = extract_features(
                self.encoder, np.stack([ex["pixels"] for ex in todo]))
            for ex, f in zip(todo, features):
                ex["features"] = f
        return np.stack([ex["features"] for ex in examples])

    def dataset(self, examples, batch_size, training, seed=None,
                batch_tokens=None):
        from kerasnlp_seq.caption_pipeline import caption_dataset

        if batch_tokens is not None:
            # A token budget bounds images x captions x words per batch.
            per_image = max(len(ex["captions"]) for ex in examples) * (
                self.config.max_length + 1)
            batch_size = max(1, min(batch_size, batch_tokens // per_image))
        return caption_dataset(
            self.inputs(examples), self.caption_ids(examples), batch_size,
            training, seed=seed, key="features" if self.encoder else "image",
            augment=training and self.config.augment
            and self.encoder is None)

    # ---------------------------------------------------------- results
    def generator(self, model):
        """The `CaptionGenerator` of `model` (made once per model)."""
        from kerasnlp_seq.captioner import CaptionGenerator

        key = id(model)
        if key not in self._generators:
            c = self.config
            self._generators = {key: CaptionGenerator(
                model, self.words, self._decoder_args(),
                start_id=self.words.index(START),
                end_id=self.words.index(END), max_length=c.max_length + 1,
                method=c.decoding, beam_width=c.beam_width,
                length_penalty=c.length_penalty, min_length=c.min_length,
                encoder=self.encoder)}
        return self._generators[key]

    def evaluate(self, model, examples, run_dir=None):
        """BLEU-1..4 and CIDEr-D, one caption per image against all its
        references; writes `captions.tsv` (image, generated, first
        reference) into `run_dir`."""
        import numpy as np

        from kerasnlp_seq.caption_metrics import caption_scores

        pixels = np.stack([ex["pixels"] for ex in examples])
        hyps = self.generator(model).captions(pixels)
        scores = caption_scores(hyps, [ex["captions"] for ex in examples])
        scores["images"] = len(examples)
        if run_dir:
            with open(os.path.join(run_dir, "captions.tsv"), "w",
                      encoding="utf-8") as f:
                f.write("image\tgenerated\treference\n")
                for ex, hyp in zip(examples, hyps):
                    f.write(f"{ex['image']}\t{hyp}\t{ex['captions'][0]}\n")
        return scores

    def _pixels(self, paths):
        import numpy as np

        from kerasnlp_seq.images import read_image

        out = []
        for path in paths:
            try:
                out.append(read_image(path, self.image_size))
            except FileNotFoundError:
                raise DataError("image file not found.", path) from None
            except (OSError, ValueError) as e:
                raise DataError(f"cannot read image ({e}).", path) from None
        return np.stack(out)

    def predict(self, model, inputs):
        """`{"image", "caption"}` per input; an image that cannot be read
        gets `"caption": None` and `"skipped"` (its reason), and is named
        on stderr, while the others are captioned. None readable: an
        error."""
        from kerasnlp_seq.images import load_images, report_failures

        inputs = [str(p) for p in inputs]
        pixels, kept, failures = load_images(inputs, self.image_size)
        if not kept:
            self._pixels(inputs[:1])  # raises the first one's error
        report_failures(failures, len(inputs), echo=_echo)
        captions = dict(zip(kept, self.generator(model).captions(pixels)))
        reasons = dict(failures)
        return [{"image": p, "caption": captions[i]} if i in captions else
                {"image": p, "caption": None, "skipped": reasons[p]}
                for i, p in enumerate(inputs)]

    def format_prediction(self, raw, answer):
        return f"{answer['caption'] or ''}\t{raw}"

    def plot_attention(self, model, raw, path):
        from kerasnlp_seq.caption_plots import plot_caption_attention

        pixels = self._pixels([raw])
        tokens, weights = self.generator(model).attend(pixels)[0]
        return plot_caption_attention(pixels[0], tokens, weights, path,
                                      title=os.path.basename(str(raw)))

    def export(self, model, path):
        from kerasnlp_seq.captioner import export_captioner

        export_captioner(self.generator(model), self.image_size, path)

