"""The options of an image captioner, as one flat frozen dataclass.

`CaptionerConfig` holds what an image-captioning task reads and builds: the
data (`caption_data`: image folder, TFDS), the images (`images`: side), the
encoder (a CNN trained from scratch, `cnn_filters_for`, or a Keras
Applications backbone), the caption vocabulary, the recurrent decoder
(`captioner.build_captioner`) and its decoding (`captioner.
CaptionGenerator`). A task subclasses it to change defaults
(`tasks/captioning.py`). Every check runs in `__post_init__`, so a bad
value fails before any data is read.

Example:

>>> CaptionerConfig(units=64).cnn_convs, cnn_filters_for("auto", 160)
(1, [48, 96, 192, 384, 384])
>>> CaptionerConfig(cnn_filters="8,x")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
kerasnlp_seq.errors.ConfigError: `cnn_filters` must be comma-separated...
"""

import dataclasses
import typing

from kerasnlp_seq.config import (check_attention_from, check_range, choice,
                                 option, validate_choices)
from kerasnlp_seq.errors import ConfigError

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
    return parse_filters(spec)


def parse_filters(spec):
    """The channels of a comma-separated `cnn_filters` spec, as ints."""
    try:
        filters = [int(f) for f in spec.split(",")]
    except ValueError:
        filters = [0]
    if not filters or min(filters) < 1:
        raise ConfigError("`cnn_filters` must be comma-separated positive "
                          f"ints or auto. Received: cnn_filters={spec!r}")
    return filters


@dataclasses.dataclass(frozen=True)
class CaptionerConfig:
    """Options of an image captioner (data, images, encoder, decoder)."""

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
            parse_filters(self.cnn_filters)
        check_range(self, "cnn_convs", 1)
        check_attention_from(self, "num_layers")

    @property
    def frozen(self):
        """Whether the encoder is frozen and its features cached."""
        return self.encoder != "cnn" and self.freeze_encoder
