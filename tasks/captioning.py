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

from kerasnlp_seq.caption_assets import (ASSETS, END, START, checked_assets,
                                         words_digest)
from kerasnlp_seq.captioner_config import CaptionerConfig, cnn_filters_for
from kerasnlp_seq.errors import ConfigError, DataError, RunError
from kerasnlp_seq.registry import register_task
from kerasnlp_seq.task import Task

log = logging.getLogger("kerasnlp_seq")


@dataclasses.dataclass(frozen=True)
class CaptioningConfig(CaptionerConfig):
    """Options of the image captioner: the library's captioner options,
    whose defaults are the Flickr8k recipe (benchmarks/RESULTS.md)."""


def _echo(message):
    print(message, file=sys.stderr)


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
        self.words, self.image_size = checked_assets(assets, path)
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

