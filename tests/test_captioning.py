"""The captioning task: learns the bundled sample, CLI, SavedModel, bad inputs.

One small model is trained once per module on the bundled sample (shapes,
colours, positions) through the command line; the tests then check that it
captions the images correctly, that `evaluate`, `predict` (with an
attention plot) and `export` work from the command line, and that the
SavedModel, loaded in a fresh process importing only TensorFlow, captions
JPEG and PNG bytes exactly as the run does in process.
"""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from kerasnlp_seq.errors import ConfigError, RunError
from kerasnlp_seq.samples import sample_path

SMALL = ["--cnn-filters", "16,32,64,128", "--units", "128",
         "--embedding-dim", "64", "--epochs", "16", "--patience", "16",
         "--learning-rate", "0.002", "--quiet"]
SAMPLE = sample_path(os.path.join("captions", "captions.tsv"))
FOLDER = os.path.dirname(SAMPLE)


def _references():
    refs = {}
    for line in open(SAMPLE, encoding="utf-8").read().splitlines()[1:]:
        name, caption = line.split("\t")
        refs.setdefault(os.path.join(FOLDER, name), []).append(caption)
    return refs


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory):
    from click.testing import CliRunner

    from cli import main

    run_dir = str(tmp_path_factory.mktemp("captioning") / "run")
    result = CliRunner().invoke(main, ["train", "captioning", "--output",
                                       run_dir] + SMALL)
    assert result.exit_code == 0, result.output + repr(result.exception)
    assert "259 training and 29 validation examples" in result.output
    return run_dir


def test_learns_to_caption_the_sample(sample_run):
    from kerasnlp_seq import runs

    metrics = json.load(open(os.path.join(sample_run, "metrics.json")))
    assert metrics["images"] == 29  # held-out validation images
    assert metrics["bleu4"] > 0.9, metrics
    assert metrics["cider"] > 7.0, metrics
    task, model, _ = runs.load_run(sample_run)
    refs = _references()
    examples = task.read(SAMPLE, "eval")
    captions = task.generator(model).captions(
        np.stack([ex["pixels"] for ex in examples]))
    correct = [c in refs[ex["image"]] for c, ex in zip(captions, examples)]
    assert np.mean(correct) >= 0.9, list(zip(captions, examples))[:5]
    assert os.path.exists(os.path.join(sample_run, "captions.tsv"))


def test_cli_evaluate_predict_and_attention_plot(sample_run, cli, tmp_path):
    from PIL import Image

    result = cli("evaluate", sample_run, "--data", SAMPLE, "--json")
    assert result.exit_code == 0, result.output
    scores = json.loads(result.output[result.output.index("{"):])
    assert set(scores) == {"bleu1", "bleu2", "bleu3", "bleu4", "cider",
                           "images"}
    assert scores["images"] == 288 and scores["bleu1"] > 0.9
    from kerasnlp_seq import runs

    task, model, _ = runs.load_run(sample_run, {"decoding": "greedy",
                                                "beam_width": "5"})
    settings = task.generator(model).settings
    assert (settings["method"], settings["beam_width"]) == ("greedy", 5)
    result = cli("evaluate", sample_run, "--data", SAMPLE, "--json",
                 "--set", "decoding=greedy")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output[result.output.index("{"):])[
        "bleu1"] > 0.9
    refs = _references()
    images = [os.path.join(FOLDER, n) for n in (
        "circle_red_left_0.png", "triangle_blue_bottom_3.png")]
    plot = str(tmp_path / "attention.png")
    result = cli("predict", sample_run, *images, "--attention-plot", plot)
    assert result.exit_code == 0, result.output
    lines = [l for l in result.output.splitlines() if "\t" in l]
    assert [l.split("\t")[1] for l in lines] == images
    assert [l.split("\t")[0] in refs[p] for l, p in zip(lines, images)] == [
        True, True]
    assert f"Attention plot written to {plot}" in result.output
    with Image.open(plot) as drawn:
        assert drawn.format == "PNG" and drawn.size[0] > 300


def test_evaluate_finds_images_elsewhere_with_set_image_root(
        sample_run, cli, tmp_path):
    # The captions file alone, away from its images: relative image paths
    # start from its folder unless --set image_root says where they are.
    labels = tmp_path / "labels"
    labels.mkdir()
    moved = str(labels / "captions.tsv")
    with open(SAMPLE, encoding="utf-8") as f, open(moved, "w",
                                                   encoding="utf-8") as g:
        g.write(f.read())
    result = cli("evaluate", sample_run, "--data", moved, "--json")
    assert result.exit_code == 1, result.output
    result = cli("evaluate", sample_run, "--data", moved, "--json",
                 "--set", f"image_root={FOLDER}", "--set", "min_length=2")
    assert result.exit_code == 0, result.output
    scores = json.loads(result.output[result.output.index("{"):])
    assert scores["images"] == 288 and scores["bleu1"] > 0.9


def test_min_length_reaches_the_caption_decoder(sample_run):
    from kerasnlp_seq import runs

    examples = runs.load_run(sample_run)[0].read(SAMPLE, "eval")[:4]
    pixels = np.stack([ex["pixels"] for ex in examples])
    for method in ("greedy", "beam"):
        task, model, _ = runs.load_run(
            sample_run, {"min_length": "12", "decoding": method})
        assert task.generator(model).settings["min_length"] == 12
        # The sample's captions have 4-6 words; 12 are now forced (the cap
        # is --max-length 20 words plus the end token).
        for caption in task.generator(model).captions(pixels):
            assert len(caption.split()) >= 12, (method, caption)


def test_old_name_decode_still_reads_as_decoding(sample_run, cli, tmp_path,
                                                 monkeypatch):
    """`decode` was renamed `decoding` (as in translation): old run
    directories, `--set decode=...` and `train --decode` keep working."""
    from kerasnlp_seq import config as config_lib, runs

    old_run = str(tmp_path / "old_run")
    shutil.copytree(sample_run, old_run)
    path = os.path.join(old_run, "config.json")
    with open(path) as f:
        saved = json.load(f)
    saved["task_config"]["decode"] = saved["task_config"].pop("decoding")
    with open(path, "w") as f:
        json.dump(saved, f)
    task, model, _ = runs.load_run(old_run, {"decode": "greedy"})
    assert task.config.decoding == "greedy"
    assert task.generator(model).settings["method"] == "greedy"
    with pytest.raises(ConfigError, match="'decode' is the old name of "
                                          "'decoding'; give only 'decoding'"):
        runs.load_run(old_run, {"decode": "greedy", "decoding": "beam"})

    seen = {}
    monkeypatch.setattr(runs, "train", lambda name, **kw: seen.update(kw) or (
        "run", {}))
    result = cli("train", "captioning", "--decode", "greedy")
    assert result.exit_code == 0, result.output
    assert seen["task_config"].decoding == "greedy"
    assert "--decode is now --decoding" in result.output
    result = cli("train", "captioning", "--decode", "greedy",
                 "--decoding", "beam")
    assert result.exit_code == 2
    assert "--decode is the old name of --decoding" in result.output
    assert "--decode" not in cli("train", "captioning", "--help").output
    assert config_lib.parse_value(
        type(task.config), "decode", "beam") == "beam"


SERVE = r"""
import json, sys
import tensorflow as tf

loaded = tf.saved_model.load(sys.argv[1])
serve = loaded.signatures["serving_default"]
data = [open(p, "rb").read() for p in sys.argv[2:]]
out = serve(image=tf.constant(data))
assert not [m for m in sys.modules if m.split(".")[0] in (
    "kerasnlp_seq", "tasks", "cli")], "project modules imported"
print("RESULT " + json.dumps({
    "outputs": sorted(out),
    "caption": [s.decode("utf-8") for s in out["caption"].numpy()]}))
"""


def test_saved_model_in_fresh_process_matches_predict(sample_run, cli,
                                                      tmp_path):
    from PIL import Image

    from kerasnlp_seq import runs

    exported = str(tmp_path / "serving")
    result = cli("export", sample_run, "--output", exported)
    assert result.exit_code == 0, result.output
    png = os.path.join(FOLDER, "square_green_top_2.png")
    jpeg = str(tmp_path / "yellow.jpg")
    Image.open(os.path.join(FOLDER, "circle_yellow_right_1.png")).save(
        jpeg, quality=95)
    inputs = [png, jpeg, os.path.join(FOLDER, "triangle_red_bottom_4.png")]
    script = tmp_path / "serve.py"
    script.write_text(SERVE)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run([sys.executable, str(script), exported] + inputs,
                          cwd=str(tmp_path), env=env, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = [l for l in proc.stdout.splitlines() if l.startswith("RESULT ")]
    served = json.loads(line[0][len("RESULT "):])
    _, answers = runs.predict(sample_run, inputs)
    assert served["outputs"] == ["caption"]
    assert served["caption"] == [a["caption"] for a in answers]
    assert served["caption"][1].endswith("yellow circle on the right")


def test_run_reloads_in_a_fresh_process(sample_run, tmp_path):
    # model.keras holds the compiled loss; a process that never compiled
    # a model must still resolve it (kerasnlp_seq.losses, which
    # kerasnlp_seq.layers imports and Task.load_model imports that).
    code = ("import sys; from kerasnlp_seq import runs; "
            "task, model, _ = runs.load_run(sys.argv[1]); "
            "print('LOSS', type(model.loss).__name__, "
            "model.loss.label_smoothing)")
    proc = subprocess.run([sys.executable, "-c", code, sample_run],
                          cwd=str(tmp_path), capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "LOSS SmoothedSparseCrossentropy 0.0" in proc.stdout


def test_predict_skips_unreadable_images_and_captions_the_rest(
        sample_run, cli, tmp_path):
    good = os.path.join(FOLDER, "circle_red_left_0.png")
    missing = str(tmp_path / "missing.png")
    corrupt = tmp_path / "corrupt.jpg"
    corrupt.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    result = cli("predict", sample_run, good, missing, str(corrupt), good,
                 "--format", "json")
    assert result.exit_code == 0, result.output
    answers = json.loads(result.stdout)
    assert [a["image"] for a in answers] == [good, missing, str(corrupt),
                                             good]
    assert answers[0]["caption"] in _references()[good]
    assert answers[3]["caption"] == answers[0]["caption"]
    assert answers[1] == {"input": missing, "image": missing,
                          "caption": None, "skipped": "file not found"}
    assert answers[2]["caption"] is None and answers[2]["skipped"]
    err = result.stderr
    assert f"{missing}: skipped image (file not found)." in err
    assert "Skipped 2 of 4 images that could not be read." in err
    text = cli("predict", sample_run, missing, good)
    assert text.exit_code == 0
    assert text.stdout.splitlines()[0] == f"\t{missing}"


def test_bad_inputs_are_one_line_errors(sample_run, cli, tmp_path, helpers):
    missing = str(tmp_path / "missing.png")
    helpers.assert_one_line_error(cli("predict", sample_run, missing),
                                  f"{missing}: image file not found.")
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    helpers.assert_one_line_error(
        cli("predict", sample_run, str(text)),
        f"{text}: cannot read image (not a decodable JPEG/PNG")
    helpers.assert_one_line_error(
        cli("train", "captioning", "--encoder-weights", "w.h5", "--output",
            str(tmp_path / "r1")),
        "`encoder_weights` needs a backbone")
    helpers.assert_one_line_error(
        cli("train", "captioning", "--image-size", "8", "--output",
            str(tmp_path / "r2")), "`image_size` of CaptioningConfig must "
                                   "be in [32, 1024]. Received: image_size=8")
    data = tmp_path / "gone.tsv"
    data.write_text("image\tcaption\na.png\ta cat\nb.png\ta dog\n")
    result = cli("train", "captioning", "--data", str(data), "--output",
                 str(tmp_path / "r3"))
    helpers.assert_one_line_error(
        result, "none of the 2 images could be read (first: "
        f"{tmp_path / 'a.png'}: file not found); relative image paths start "
        "from the data file's folder or image_root")
    assert "skipped image" not in result.output  # the error says it all
    assert not os.path.exists(tmp_path / "r3")


def test_config_validation():
    from tasks.captioning import CaptioningConfig

    with pytest.raises(ConfigError, match="`cnn_filters` must be comma-"
                                          "separated positive ints"):
        CaptioningConfig(cnn_filters="16,x")
    with pytest.raises(ConfigError, match=r"Unknown `attention` .* "
                                          "Received: attention='soft'"):
        CaptioningConfig(attention="soft")
    with pytest.raises(ConfigError, match=r"`word_dropout`"):
        CaptioningConfig(word_dropout=-0.1)
    with pytest.raises(ConfigError, match=r"`cnn_convs` of CaptioningConfig "
                                          r"must be >= 1"):
        CaptioningConfig(cnn_convs=0)
    with pytest.raises(ConfigError, match=r"attention_from='bottom'.*"
                                          r"num_layers=1"):
        CaptioningConfig(attention_from="bottom")
    with pytest.raises(ConfigError, match=r"`label_smoothing`"):
        CaptioningConfig(label_smoothing=1.0)
    assert CaptioningConfig(encoder="mobilenet_v2").frozen
    assert not CaptioningConfig().frozen


def test_auto_cnn_filters_follow_the_image_size():
    from tasks.captioning import CaptioningConfig, cnn_filters_for

    assert CaptioningConfig().cnn_filters == "auto"
    assert cnn_filters_for("auto", 32) == [32, 64, 128, 256]
    assert cnn_filters_for("auto", 63) == [32, 64, 128, 256]
    assert cnn_filters_for("auto", 64) == [48, 96, 192, 384, 384]
    assert cnn_filters_for("auto", 160) == [48, 96, 192, 384, 384]
    assert cnn_filters_for("8,16", 160) == [8, 16]
    with pytest.raises(ConfigError, match="or auto. Received: "
                                          "cnn_filters='aut'"):
        CaptioningConfig(cnn_filters="aut")


def test_augment_shifts_a_little_and_never_flips():
    import tensorflow as tf

    from kerasnlp_seq.caption_pipeline import _augment

    tf.random.set_seed(0)
    image = np.zeros((32, 32, 3), "uint8")
    image[:, 16:] = 255  # dark left half, bright right half
    out = _augment(np.repeat(image[None], 16, axis=0)).numpy()
    assert out.shape == (16, 32, 32, 3) and out.dtype == np.uint8
    for x in out:
        bright = x[16, :, 0] > 128  # one row, left to right
        edge = int(np.argmax(bright))
        # Still dark-then-bright (no flip), the edge moved by <= 10% of 32.
        assert not bright[:edge].any() and bright[edge:].all()
        assert 13 <= edge <= 19
    assert len({int(np.argmax(x[16, :, 0] > 128)) for x in out}) > 1
    # Inside the tf.data pipeline (graph mode, training batches only).
    from kerasnlp_seq.caption_pipeline import caption_dataset

    ds = caption_dataset(np.repeat(image[None], 4, axis=0),
                         np.ones((4, 2, 5), "int32"), 2, training=True,
                         seed=1, augment=True)
    images = np.concatenate([x["image"].numpy() for x, _ in ds])
    assert images.shape == (4, 32, 32, 3) and images.dtype == np.uint8


def test_batches_hold_images_with_all_their_captions_and_show_and_tell(
        tmp_path):
    from tasks.captioning import CaptioningConfig, CaptioningTask

    task = CaptioningTask(CaptioningConfig(
        attention="none", units=8, embedding_dim=4, min_count=1,
        cnn_filters="4,8", cnn_convs=2, max_length=4, decoding="greedy",
        word_dropout=0.2))
    examples = task.read(SAMPLE, "train")[:6]
    examples[0]["captions"] = ["a red circle on the far left side",
                               "there is a red circle", "a circle"]
    task.adapt(examples)
    (x, y), = task.dataset(examples, 4, training=False).take(1)
    assert x["image"].shape == (4, 32, 32, 3)
    assert x["image"].dtype == "uint8"
    # Three captions for the first image, two for the others (the third is
    # all padding); cut to max_length 4 words + start / end.
    assert tuple(x["captions"].shape) == (4, 3, 5)
    assert tuple(y.shape) == (12, 5)
    words = task.words
    first = [words[i] for i in x["captions"][0, 0].numpy()]
    assert first == ["<start>", "a", "red", "circle", "on"]
    assert [words[i] for i in y[0].numpy()] == ["a", "red", "circle", "on",
                                                "<end>"]
    assert not x["captions"][1, 2].numpy().any() and not y[5].numpy().any()
    sizes = [b[0]["image"].shape[0] for b in task.dataset(
        examples, 4, training=True, seed=1, batch_tokens=20)]
    assert sizes == [1] * 6  # 20 // (3 captions x 5 steps) = 1 image
    # Show and Tell (no attention) captions too, but has nothing to plot.
    model = task.build_model()
    assert "decoder_word_dropout" in [layer.name for layer in model.layers]
    encoder = model.get_layer("image_encoder")
    assert "image_encoder_conv2_2" in [layer.name for layer in encoder.layers]
    captions = task.generator(model).captions(
        np.stack([ex["pixels"] for ex in examples]))
    assert len(captions) == 6 and all(isinstance(c, str) for c in captions)
    with pytest.raises(RunError, match="this model has no attention"):
        task.plot_attention(model, examples[1]["image"],
                            str(tmp_path / "a.png"))


def test_attention_from_the_bottom_layer_saves_reloads_and_captions(
        tmp_path):
    from tasks.captioning import CaptioningConfig, CaptioningTask

    task = CaptioningTask(CaptioningConfig(
        units=8, embedding_dim=4, min_count=1, cnn_filters="4,8",
        max_length=4, num_layers=2, attention_from="bottom", beam_width=2))
    examples = task.read(SAMPLE, "train")[:4]
    task.adapt(examples)
    model = task.build_model()
    # The second layer reads its input (8 units) and the context (the
    # feature map's 8 channels).
    kernel = model.get_layer("decoder_rnn2_lstm_1").cell.kernel
    assert kernel.shape[0] == 16
    path = str(tmp_path / "model.keras")
    model.save(path)
    reloaded = task.load_model(path)
    pixels = np.stack([ex["pixels"] for ex in examples])
    for method in ("greedy", "beam"):
        ids = [task.generator(m).ids(pixels, method)[0].numpy()
               for m in (model, reloaded)]
        np.testing.assert_array_equal(ids[0], ids[1])


def test_word_presence_loss_matches_by_hand_and_only_in_training(tmp_path):
    import keras

    from kerasnlp_seq.captioner import (CaptionGenerator, WordPresenceLoss,
                                        build_captioner)
    from kerasnlp_seq.image_encoder import build_image_encoder

    rng = np.random.RandomState(0)
    features = rng.normal(size=(2, 3, 3, 5)).astype("float32")
    # Image 0: words 4, 5 (twice) and 6 over two captions; image 1: only
    # start / unknown / end / padding, so no words and no loss.
    captions = np.array([[[2, 4, 5, 5, 3], [2, 6, 3, 0, 0]],
                         [[2, 1, 3, 0, 0], [0, 0, 0, 0, 0]]], "int32")
    logits = rng.normal(size=(4, 5, 7)).astype("float32")
    layer = WordPresenceLoss(7, weight=0.5, reserved_ids=4)
    out = layer(logits, features, captions)
    assert not layer.losses  # inference adds nothing ...
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(out), logits)
    layer(logits, features, captions, training=True)
    (loss,) = layer.losses  # ... training adds the weighted loss
    kernel, bias = (keras.ops.convert_to_numpy(w)
                    for w in layer.scores.weights)
    scores = features.mean(axis=(1, 2)) @ kernel + bias
    log_p = scores - np.log(np.exp(scores).sum(-1, keepdims=True))
    expected = 0.5 * np.mean([-log_p[0, [4, 5, 6]].mean(), 0.0])
    assert np.isclose(float(loss), expected, rtol=1e-5)

    # In a captioner: trains, saves, reloads and decodes as before.
    model = build_captioner(10, build_image_encoder(32, filters=(4,)),
                            units=8, embedding_dim=4, word_loss=1.0)
    model.compile(optimizer="adam", loss=keras.losses.
                  SparseCategoricalCrossentropy(from_logits=True))
    x = {"image": rng.randint(0, 255, (2, 32, 32, 3)).astype("uint8"),
         "captions": np.array([[[2, 4, 5], [2, 6, 0]], [[2, 8, 9],
                                                         [2, 4, 9]]])}
    y = np.array([[4, 5, 3], [6, 3, 0], [8, 9, 3], [4, 9, 3]])
    import tensorflow as tf

    data = tf.data.Dataset.from_tensors((x, y))
    base = model.evaluate(data, verbose=0)  # no word loss in evaluation
    # ... and the decoder's mask still reaches the loss: padding is free.
    assert getattr(model.outputs[0], "_keras_mask", None) is not None
    out = model.predict(data, verbose=0)
    log_p = out - np.log(np.exp(out).sum(-1, keepdims=True))
    nll = -np.take_along_axis(log_p, y[..., None], -1)[..., 0]
    assert np.isclose(base, nll[y > 0].mean(), rtol=1e-4)
    # One step; its loss is taken before the update: both losses.
    train = model.fit(data, verbose=0).history["loss"][0]
    assert train > base + 1.0  # the bag loss starts near log(6 words)
    path = str(tmp_path / "m.keras")
    model.save(path)
    reloaded = keras.saving.load_model(path)
    assert reloaded.get_layer("word_presence_loss").weight == 1.0
    captions = CaptionGenerator(
        reloaded, [str(i) for i in range(10)], dict(units=8, embedding_dim=4),
        start_id=2, end_id=3, max_length=4).captions(x["image"])
    assert len(captions) == 2


def test_label_smoothing_is_the_loss_and_padding_stays_free():
    import keras
    import tensorflow as tf

    from kerasnlp_seq.captioner import build_captioner
    from kerasnlp_seq.image_encoder import build_image_encoder
    from tasks.captioning import CaptioningConfig, CaptioningTask

    rng = np.random.RandomState(0)
    model = build_captioner(10, build_image_encoder(32, filters=(4,)),
                            units=8, embedding_dim=4)
    task = CaptioningTask(CaptioningConfig(label_smoothing=0.2))
    model.compile(optimizer="adam", **task.compile_args())
    x = {"image": rng.randint(0, 255, (2, 32, 32, 3)).astype("uint8"),
         "captions": np.array([[[2, 4, 5], [2, 6, 0]], [[2, 8, 9],
                                                         [2, 4, 9]]])}
    y = np.array([[4, 5, 3], [6, 3, 0], [8, 9, 3], [4, 9, 3]])
    data = tf.data.Dataset.from_tensors((x, y))
    loss = model.evaluate(data, verbose=0, return_dict=True)["loss"]
    out = model.predict(data, verbose=0)
    log_p = out - np.log(np.exp(out).sum(-1, keepdims=True))
    nll = -np.take_along_axis(log_p, y[..., None], -1)[..., 0]
    smoothed = 0.8 * nll - 0.2 * log_p.mean(-1)
    assert np.isclose(loss, smoothed[y > 0].mean(), rtol=1e-4)
    assert not np.isclose(loss, nll[y > 0].mean(), rtol=1e-3)
    assert CaptioningTask(CaptioningConfig()).compile_args()[
        "loss"].label_smoothing == 0.0


def _tiny_task(**options):
    from tasks.captioning import CaptioningConfig, CaptioningTask

    task = CaptioningTask(CaptioningConfig(
        units=8, embedding_dim=4, min_count=1, cnn_filters="4,8",
        beam_width=2, **options))
    examples = task.read(SAMPLE, "train")[:4]
    task.adapt(examples)
    return task, examples


def test_attention_plot_of_a_caption_cut_off_at_the_length_cap(
        tmp_path, monkeypatch):
    # A caption stopped by the length cap has no <end>: one panel per
    # generated word, as many as there are attention maps.
    import tensorflow as tf

    from kerasnlp_seq import caption_plots
    from tasks.captioning import END

    task, examples = _tiny_task(max_length=2)
    model = task.build_model()
    bias, = [w for w in model.weights
             if w.path.endswith("decoder_logits/bias")]
    bias.assign(tf.tensor_scatter_nd_update(
        bias, [[task.words.index(END)]], [-1e4]))
    drawn = {}
    real = caption_plots.plot_caption_attention

    def spy(pixels, tokens, weights, path, title=None):
        drawn.update(tokens=tokens, weights=weights)
        return real(pixels, tokens, weights, path, title=title)

    monkeypatch.setattr(caption_plots, "plot_caption_attention", spy)
    path = str(tmp_path / "cut_off.png")
    assert task.plot_attention(model, examples[0]["image"], path) == path
    with open(path, "rb") as f:
        assert f.read(4) == b"\x89PNG"
    assert len(drawn["tokens"]) == 3 and END not in drawn["tokens"]
    assert drawn["weights"].shape[0] == 3


def _edited_run(sample_run, tmp_path, edit, drop=()):
    run = str(tmp_path / "edited")
    shutil.copytree(sample_run, run)
    path = os.path.join(run, "captioning.json")
    with open(path) as f:
        assets = json.load(f)
    for key in drop:
        assets.pop(key)
    edit(assets)
    with open(path, "w") as f:
        json.dump(assets, f)
    return run, path


@pytest.mark.parametrize("edit, message", [
    (lambda a: a.update(words=a["words"][:-3]),
     "`words` has {n} entries, the run was trained with {m}; restore the "
     "run's file."),
    (lambda a: a["words"].insert(5, a["words"].pop(4)),
     "`words` differs from the vocabulary the run was trained with (its "
     "SHA-256 changed)"),
    (lambda a: a.update(image_size=48),
     "`image_size` is 48 but the model takes 32x32 images"),
], ids=["truncated", "reordered", "image_size"])
def test_assets_that_do_not_match_the_run(sample_run, cli, tmp_path,
                                          helpers, edit, message):
    with open(os.path.join(sample_run, "captioning.json")) as f:
        m = len(json.load(f)["words"])
    run, path = _edited_run(sample_run, tmp_path, edit)
    image = os.path.join(FOLDER, "circle_red_left_0.png")
    helpers.assert_one_line_error(cli("predict", run, image),
                                  f"{path}: " + message.format(n=m - 3, m=m))


def test_assets_saved_without_count_and_digest_still_load(sample_run, cli,
                                                          tmp_path, helpers):
    from kerasnlp_seq import runs

    run, path = _edited_run(sample_run, tmp_path, lambda a: None,
                            drop=("size", "sha256"))
    image = os.path.join(FOLDER, "circle_red_left_0.png")
    _, expected = runs.predict(sample_run, [image])
    _, answers = runs.predict(run, [image])
    assert answers == expected
    # Without the digest, the model still tells a truncated word list.
    run, path = _edited_run(sample_run, tmp_path / "old",
                            lambda a: a.update(words=a["words"][:-3]),
                            drop=("size", "sha256"))
    helpers.assert_one_line_error(
        cli("predict", run, image), f"{path}: `words` has",
        "entries but the model predicts")


def test_skipped_images_are_reported_once_and_readably(sample_run, cli,
                                                       tmp_path):
    missing = str(tmp_path / "missing_one.png")
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    rows = [f"{os.path.join(FOLDER, n)}\ta red circle on the left" for n in (
        "circle_red_left_0.png", "circle_red_left_1.png")]
    data = tmp_path / "data.tsv"
    data.write_text("image\tcaption\n" + "\n".join(
        rows + [f"{missing}\ta cat", f"{text}\ta dog"]) + "\n")
    result = cli("evaluate", sample_run, "--data", data)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines.count(f"{missing}: skipped image (file not found).") == 1
    assert lines.count(f"{text}: skipped image (not a decodable "
                       "JPEG/PNG/GIF/BMP image).") == 1
    assert lines.count("Skipped 2 of 4 images that could not be read.") == 1
    assert "function_node" not in result.output
    result = cli("predict", sample_run, text)
    assert result.exit_code == 1
    assert result.output.strip().splitlines()[-1] == (
        f"Error: {text}: cannot read image (not a decodable JPEG/PNG/GIF/BMP "
        "image).")


def test_saved_model_answers_an_empty_batch(sample_run):
    import tensorflow as tf

    serve = tf.saved_model.load(os.path.join(
        sample_run, "saved_model")).signatures["serving_default"]
    assert serve(image=tf.constant([], tf.string))["caption"].shape == (0,)


def test_saved_model_captions_a_batch_around_what_cannot_be_decoded(sample_run):
    import tensorflow as tf

    serve = tf.saved_model.load(os.path.join(
        sample_run, "saved_model")).signatures["serving_default"]
    path = os.path.join(FOLDER, "circle_red_left_0.png")
    with open(path, "rb") as f:
        png = f.read()
    # A PNG cut short after its header fails to decode, like no image.
    captions = [c.decode() for c in serve(image=tf.constant(
        [png, b"", b"not an image", png[:len(png) // 2], png]))[
            "caption"].numpy()]
    assert captions[0] in _references()[path]
    assert captions == [captions[0], "", "", "", captions[0]]
    assert serve(image=tf.constant([b"x", png[:40]]))[
        "caption"].numpy().tolist() == [b"", b""]
