"""Image encoders for captioning: a small CNN from scratch, or a Keras backbone.

`build_image_encoder` returns a `keras.Model` from `uint8` pixels `(S, S,
3)` to a spatial feature map `(h, w, d)`:

- `"cnn"` (the default; offline): blocks of `convs` times `Conv2D 3x3 ->
  BatchNorm -> ReLU` (once by default, twice for VGG-style blocks), then
  `MaxPool 2x2`, one block per entry of `filters`; images of 64 pixels
  or more enter through a stride-2 first convolution (CPU-friendly). A block
  pools only while the map stays at least 4x4, so 160x160 images give a
  5x5 map and the 32x32 sample a 4x4 one.
- `"mobilenet_v2"`, `"efficientnet_b0"`: `keras.applications` backbones
  without their top, with `weights="imagenet"` (downloads once), `None`
  (random), or the path of a local weights file (`--encoder-weights FILE`,
  no download). A backbone can be frozen (`trainable=False`; it then runs
  in inference mode, batch-norm statistics fixed) or fine-tuned.

With a frozen encoder the captioning task computes the feature maps once
(`extract_features`) and trains on the cached features, so no epoch re-runs
the CNN.
"""

import numpy as np

from kerasnlp_seq.lazy import keras

ENCODERS = ("cnn", "mobilenet_v2", "efficientnet_b0")
MIN_MAP = 4
STEM_SIZE = 64


def _cnn(image_size, filters, convs, name):
    image = keras.Input((image_size, image_size, 3), dtype="uint8",
                        name="image")
    x = keras.layers.Rescaling(1.0 / 255.0, name=f"{name}_rescale")(image)
    size = image_size
    for i, width in enumerate(filters, start=1):
        # Large images: the first convolution strides 2 (a cheap stem).
        stride = 2 if i == 1 and image_size >= STEM_SIZE else 1
        size = -(-size // stride)
        for j in range(1, convs + 1):
            # The first convolution of a block keeps the one-conv names, so
            # runs saved before `convs` existed reload.
            suffix = f"{i}" if j == 1 else f"{i}_{j}"
            x = keras.layers.Conv2D(width, 3, strides=stride if j == 1 else 1,
                                    padding="same", use_bias=False,
                                    name=f"{name}_conv{suffix}")(x)
            # Momentum 0.9: the statistics settle within small data's few
            # steps.
            x = keras.layers.BatchNormalization(
                momentum=0.9, name=f"{name}_bn{suffix}")(x)
            x = keras.layers.ReLU(name=f"{name}_relu{suffix}")(x)
        if size // 2 >= MIN_MAP:
            x = keras.layers.MaxPooling2D(2, name=f"{name}_pool{i}")(x)
            size //= 2
    return keras.Model(image, x, name=name)


def _backbone(encoder, image_size, weights):
    shape = (image_size, image_size, 3)
    if encoder == "mobilenet_v2":
        return keras.applications.MobileNetV2(
            input_shape=shape, include_top=False, weights=weights), True
    return keras.applications.EfficientNetB0(
        input_shape=shape, include_top=False, weights=weights), False


def build_image_encoder(image_size, encoder="cnn", weights=None,
                        trainable=True, filters=(32, 64, 128, 256),
                        convs=1, name="image_encoder"):
    """Builds an image encoder: `uint8` pixels -> a spatial feature map.

    Args:
        image_size: int. Side of the square input images.
        encoder: str. `"cnn"`, `"mobilenet_v2"` or `"efficientnet_b0"`.
        weights: None, `"imagenet"`, or the path of a weights file for a
            backbone (as `keras.applications` takes it). The CNN starts
            from random weights.
        trainable: bool. False freezes a backbone (inference mode).
        filters: sequence of int. Channels of each CNN block.
        convs: int. 3x3 convolutions per CNN block (2: VGG's blocks).
        name: str. The model's name, and the prefix of its layers.

    Returns:
        A `keras.Model`; its output is `(batch, h, w, d)`.

    Example:

    >>> encoder = build_image_encoder(32, filters=(8, 16))
    >>> tuple(encoder.output.shape)
    (None, 8, 8, 16)
    """
    if encoder not in ENCODERS:
        raise ValueError(
            "Unknown `encoder` for `build_image_encoder()`. Expected one of "
            f"{list(ENCODERS)}. Received: encoder={encoder!r}")
    if not isinstance(image_size, int) or image_size < 32:
        raise ValueError("`image_size` must be an int >= 32. Received: "
                         f"image_size={image_size!r}")
    if encoder == "cnn":
        if weights is not None:
            raise ValueError(
                "The `cnn` encoder trains from scratch and takes no "
                f"`weights`; use a backbone. Received: weights={weights!r}")
        if not trainable:
            raise ValueError("A frozen `cnn` encoder would keep its random "
                             "weights; freeze a pretrained backbone only.")
        if not filters or any(int(f) < 1 for f in filters):
            raise ValueError("`filters` must be positive ints. Received: "
                             f"filters={filters!r}")
        if isinstance(convs, bool) or not isinstance(convs, int) or convs < 1:
            raise ValueError("`convs` must be an int >= 1. Received: "
                             f"convs={convs!r}")
        return _cnn(image_size, [int(f) for f in filters], convs, name)
    backbone, signed = _backbone(encoder, image_size, weights)
    backbone.trainable = trainable
    image = keras.Input((image_size, image_size, 3), dtype="uint8",
                        name="image")
    # MobileNetV2 wants [-1, 1]; EfficientNet rescales 0..255 itself.
    x = keras.layers.Rescaling(1.0 / 127.5 if signed else 1.0,
                               offset=-1.0 if signed else 0.0,
                               name=f"{name}_rescale")(image)
    x = backbone(x, training=False if not trainable else None)
    return keras.Model(image, x, name=name)


def extract_features(encoder, pixels, batch_size=64, dtype="float16"):
    """Feature maps of `uint8` images, computed once in inference mode.

    Args:
        encoder: the `keras.Model` from `build_image_encoder`.
        pixels: `uint8` array `(n, S, S, 3)`.
        batch_size: int. Images per forward pass.
        dtype: str. Storage type of the cached features.

    Returns:
        Array `(n, h, w, d)` of `dtype`.
    """
    import tensorflow as tf

    run = tf.function(lambda x: encoder(x, training=False),
                      reduce_retracing=True)
    out = []
    for start in range(0, len(pixels), batch_size):
        out.append(run(pixels[start:start + batch_size]).numpy().astype(dtype))
    shape = (0,) + tuple(encoder.output.shape[1:])
    return np.concatenate(out) if out else np.zeros(shape, dtype)
