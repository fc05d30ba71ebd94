"""Image encoders: the from-scratch CNN, Keras backbones, local weights files,
and a frozen backbone whose features are computed once and cached.

No download happens here: backbones are built with `weights=None`, and the
local-weights-file path is tested by saving such a backbone's weights and
loading them back from the file.
"""

import os

import keras
import numpy as np
import pytest

from kerasnlp_seq.image_encoder import build_image_encoder, extract_features


def test_cnn_map_sizes():
    # Pools only while the map stays >= 4x4; 64+ px images get a stride-2
    # stem. 160 -> 80 -> 40 -> 20 -> 10 -> 5; 32 -> 16 -> 8 -> 4 -> 4.
    assert tuple(build_image_encoder(160).output.shape) == (None, 5, 5, 256)
    assert tuple(build_image_encoder(32).output.shape) == (None, 4, 4, 256)
    small = build_image_encoder(48, filters=(8, 16))
    assert tuple(small.output.shape) == (None, 12, 12, 16)
    assert small.input.dtype == "uint8"


def test_cnn_convs_per_block():
    one = build_image_encoder(48, filters=(8, 16))
    two = build_image_encoder(48, filters=(8, 16), convs=2)
    assert tuple(two.output.shape) == tuple(one.output.shape)
    convs = [layer.name for layer in two.layers
             if isinstance(layer, keras.layers.Conv2D)]
    # The first convolution of each block keeps the one-conv name (older
    # runs reload).
    assert convs == ["image_encoder_conv1", "image_encoder_conv1_2",
                     "image_encoder_conv2", "image_encoder_conv2_2"]
    assert [two.get_layer(n).strides for n in convs] == [(1, 1)] * 4
    assert two.get_layer("image_encoder_conv1_2").kernel.shape == (3, 3, 8, 8)
    assert two.count_params() > one.count_params()
    # With a stride-2 stem (64+ px), only the block's first convolution
    # strides.
    stem = build_image_encoder(64, filters=(8,), convs=2)
    assert stem.get_layer("image_encoder_conv1").strides == (2, 2)
    assert stem.get_layer("image_encoder_conv1_2").strides == (1, 1)
    assert tuple(stem.output.shape) == (None, 16, 16, 8)


def test_bad_arguments():
    with pytest.raises(ValueError, match=r"Unknown `encoder` .* Received: "
                                         "encoder='resnet'"):
        build_image_encoder(32, encoder="resnet")
    with pytest.raises(ValueError, match="`image_size` must be an int >= 32"):
        build_image_encoder(16)
    with pytest.raises(ValueError, match="trains from scratch and takes no "
                                         "`weights`"):
        build_image_encoder(32, weights="imagenet")
    with pytest.raises(ValueError, match="A frozen `cnn` encoder"):
        build_image_encoder(32, trainable=False)
    with pytest.raises(ValueError, match="`filters` must be positive ints"):
        build_image_encoder(32, filters=(8, 0))
    with pytest.raises(ValueError, match="`convs` must be an int >= 1"):
        build_image_encoder(32, convs=0)


def test_backbone_from_local_weights_file(tmp_path):
    keras.utils.set_random_seed(1)
    source = keras.applications.MobileNetV2(
        input_shape=(32, 32, 3), include_top=False, weights=None)
    path = str(tmp_path / "mobilenet_v2.weights.h5")
    source.save_weights(path)
    encoder = build_image_encoder(32, "mobilenet_v2", weights=path,
                                  trainable=False)
    backbone = encoder.get_layer(source.name)
    for a, b in zip(source.weights, backbone.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert not backbone.trainable and not encoder.trainable_weights
    pixels = np.random.default_rng(0).integers(0, 256, (3, 32, 32, 3),
                                               dtype=np.uint8)
    expected = source(pixels.astype("float32") / 127.5 - 1.0, training=False)
    np.testing.assert_allclose(encoder(pixels, training=False), expected,
                               atol=1e-4)
    # Cached features are those same maps, computed once per image.
    features = extract_features(encoder, pixels, batch_size=2,
                                dtype="float32")
    assert features.shape == (3, 1, 1, 1280)
    np.testing.assert_allclose(features, expected, atol=1e-4)
    with pytest.raises((OSError, ValueError)):
        build_image_encoder(32, "mobilenet_v2",
                            weights=str(tmp_path / "missing.weights.h5"))


def test_efficientnet_fine_tuned_keeps_trainable_weights():
    encoder = build_image_encoder(32, "efficientnet_b0", weights=None,
                                  trainable=True)
    assert tuple(encoder.output.shape) == (None, 1, 1, 1280)
    assert len(encoder.trainable_weights) > 100


def test_frozen_backbone_task_caches_features(tmp_path, monkeypatch):
    """A frozen backbone: features once per image, a features-input model,
    the encoder saved with the run, captions from image paths."""
    import keras

    from kerasnlp_seq import image_encoder, runs
    from kerasnlp_seq.config import TrainConfig
    from kerasnlp_seq.samples import sample_path
    from tasks.captioning import CaptioningConfig

    source = keras.applications.MobileNetV2(
        input_shape=(32, 32, 3), include_top=False, weights=None)
    weights = str(tmp_path / "backbone.weights.h5")
    source.save_weights(weights)
    folder = os.path.dirname(sample_path("captions/captions.tsv"))
    rows = open(os.path.join(folder, "captions.tsv")).read().splitlines()
    data = tmp_path / "small.tsv"  # 24 images, paths relative to `folder`
    data.write_text("\n".join(rows[:49]) + "\n")
    calls = []
    real = image_encoder.extract_features

    def counting(encoder, pixels, **kwargs):
        calls.append(len(pixels))
        return real(encoder, pixels, **kwargs)

    monkeypatch.setattr(image_encoder, "extract_features", counting)
    config = CaptioningConfig(encoder="mobilenet_v2", encoder_weights=weights,
                              image_root=folder, units=16, embedding_dim=8,
                              min_count=1, feature_dim=16)
    run_dir, metrics = runs.train(
        "captioning", data=str(data), output=str(tmp_path / "run"),
        task_config=config, train_config=TrainConfig(epochs=2, batch_size=8),
        verbose=0, echo=lambda *a: None)
    # Once for the training and once for the validation images, not per
    # epoch (two epochs ran).
    assert sorted(calls) == [2, 22]
    assert os.path.exists(os.path.join(run_dir, "encoder.keras"))
    task, model, _ = runs.load_run(run_dir)
    assert set(model.input) == {"features", "captions"}
    assert task.encoder is not None and not task.encoder.trainable_weights
    image = os.path.join(folder, rows[1].split("\t")[0])
    _, answers = runs.predict(run_dir, [image])
    assert isinstance(answers[0]["caption"], str)
    assert 0.0 <= metrics["bleu1"] <= 1.0
