"""Caption readers (Flickr8k, CSV / JSONL, COCO JSON, TFDS) and image decoding.

Every layout is written by the test into a temporary folder, with a few
small images drawn by the sample generator; `tfds:coco_captions` is served
by `tfds.testing.mock_data` (metadata written as in test_tfds.py).
"""

import io
import json
import os
import random

import numpy as np
import pytest

from kerasnlp_seq import caption_data, images
from kerasnlp_seq.errors import DataError
from kerasnlp_seq.samples.generate_captions import draw

NAMES = [f"im{i}.jpg" for i in range(6)]


def _write_image(path, seed=0, fmt=None):
    image = draw("circle", "red", "left", random.Random(seed))
    image.save(path, format=fmt or ("JPEG" if str(path).endswith(".jpg")
                                    else "PNG"))
    return str(path)


@pytest.fixture
def flickr(tmp_path):
    """A Flickr8k folder: token file, three split lists, six images."""
    os.makedirs(tmp_path / "images")
    for i, name in enumerate(NAMES):
        _write_image(tmp_path / "images" / name, seed=i)
    with open(tmp_path / caption_data.TOKEN_FILE, "w") as f:
        for name in NAMES:
            for n in range(5):
                f.write(f"{name}#{n}\tA caption {n} of {name} .\n")
    for split, names in (("train", NAMES[:3]), ("dev", NAMES[3:5]),
                         ("test", NAMES[5:])):
        (tmp_path / f"Flickr_8k.{split}Images.txt").write_text(
            "\n".join(names) + "\n")
    return tmp_path


def test_flickr_splits_from_query_role_and_list_file(flickr):
    read = caption_data.read_captions
    train = read(f"{flickr}?split=train", "eval")
    assert [os.path.basename(r["image"]) for r in train] == NAMES[:3]
    assert train[0]["captions"] == [f"A caption {n} of im0.jpg ."
                                    for n in range(5)]
    assert train[0]["image"] == str(flickr / "images" / "im0.jpg")
    # Without ?split= the role decides: train, dev, test.
    assert len(read(str(flickr), "train")) == 3
    assert [os.path.basename(r["image"]) for r in read(str(flickr),
                                                        "valid")] == NAMES[3:5]
    assert len(read(str(flickr), "eval")) == 1
    assert len(read(f"{flickr}?split=all", "train")) == 6
    dev_list = str(flickr / "Flickr_8k.devImages.txt")
    assert len(read(dev_list, "train")) == 2


def test_flickr_bad_inputs_name_file_and_line(flickr):
    read = caption_data.read_captions
    with pytest.raises(DataError, match=r"unknown split 'valid'; expected "
                                        r"one of \['train', 'dev'"):
        read(f"{flickr}?split=valid", "train")
    with pytest.raises(DataError, match=r"unknown parameter\(s\) \['limit'\]"):
        read(f"{flickr}?limit=3", "train")
    os.remove(flickr / "Flickr_8k.testImages.txt")
    # eval falls back to the dev list when there is no test list.
    assert len(read(str(flickr), "eval")) == 2
    (flickr / "Flickr_8k.trainImages.txt").write_text("im0.jpg\nnope.jpg\n")
    with pytest.raises(DataError) as info:
        read(str(flickr), "train")
    assert str(info.value) == (
        f"{flickr / 'Flickr_8k.trainImages.txt'}: 1 listed image(s) have "
        "no caption in Flickr8k.token.txt, e.g. 'nope.jpg'.")
    token = flickr / caption_data.TOKEN_FILE
    token.write_text("im0.jpg#0\tfine\nim1.jpg no tab here\n")
    with pytest.raises(DataError) as info:
        read(f"{flickr}?split=all", "train")
    assert str(info.value).startswith(f"{token}:2: expected "
                                      "`image.jpg#n<TAB>caption`")
    os.remove(token)
    with pytest.raises(DataError, match="no Flickr8k.token.txt here"):
        read(str(flickr), "train")


def test_csv_and_jsonl_group_captions_per_image(tmp_path):
    _write_image(tmp_path / "a.png")
    (tmp_path / "data.csv").write_text(
        "image,caption\na.png,one red circle\nsub/b.png,other\n"
        "a.png,\"a red circle, left\"\n")
    records = caption_data.read_captions(str(tmp_path / "data.csv"), "train")
    assert [r["captions"] for r in records] == [
        ["one red circle", "a red circle, left"], ["other"]]
    assert records[0]["image"] == str(tmp_path / "a.png")
    assert records[1]["image"] == str(tmp_path / "sub" / "b.png")
    assert records[0]["_source"] == f"{tmp_path / 'data.csv'}:2"
    lines = [json.dumps({"image": "a.png", "caption": c}) for c in "xy"]
    (tmp_path / "data.json").write_text("\n".join(lines) + "\n")
    records = caption_data.read_captions(str(tmp_path / "data.json"),
                                         "train", image_root="/imgs")
    assert records == [{"image": "/imgs/a.png", "captions": ["x", "y"],
                        "_source": f"{tmp_path / 'data.json'}:1"}]
    (tmp_path / "bad.tsv").write_text("image\ttext\na.png\tx\n")
    with pytest.raises(DataError, match=r"bad.tsv:1: no column 'caption'"):
        caption_data.read_captions(str(tmp_path / "bad.tsv"), "train")
    with pytest.raises(DataError, match="missing.csv: file not found"):
        caption_data.read_captions(str(tmp_path / "missing.csv"), "train")
    with pytest.raises(DataError, match="applies to a Flickr8k folder only"):
        caption_data.read_captions(f"{tmp_path / 'data.csv'}?split=dev",
                                   "train")


def test_coco_json(tmp_path):
    os.makedirs(tmp_path / "images")
    coco = {"images": [{"id": 7, "file_name": "a.jpg"},
                       {"id": 9, "file_name": "b.jpg"}],
            "annotations": [{"image_id": 9, "caption": "B one"},
                            {"image_id": 7, "caption": "A one"},
                            {"image_id": 9, "caption": "B two"}]}
    path = tmp_path / "captions.json"
    path.write_text(json.dumps(coco))
    records = caption_data.read_captions(str(path), "train")
    assert [(os.path.basename(r["image"]), r["captions"]) for r in records] \
        == [("b.jpg", ["B one", "B two"]), ("a.jpg", ["A one"])]
    assert records[0]["image"] == str(tmp_path / "images" / "b.jpg")
    coco["annotations"].append({"image_id": 3, "caption": "x"})
    path.write_text(json.dumps(coco))
    with pytest.raises(DataError, match=r"annotations\[3\] refers to "
                                        r"image_id 3, which is not in"):
        caption_data.read_captions(str(path), "train")
    path.write_text(json.dumps({"images": []}))
    with pytest.raises(DataError, match="expected a COCO caption file"):
        caption_data.read_captions(str(path), "train")
    path.write_text(json.dumps({"images": [{"id": 1}], "annotations": []}))
    with pytest.raises(DataError, match=r"images\[0\] needs `id` and "
                                        "`file_name`"):
        caption_data.read_captions(str(path), "train")


def test_attach_pixels_skips_missing_and_corrupt_images(tmp_path):
    good = _write_image(tmp_path / "good.jpg")
    png = _write_image(tmp_path / "good.png", seed=1)
    (tmp_path / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really")
    (tmp_path / "empty.png").write_bytes(b"")
    records = [{"image": p, "captions": ["x"]} for p in (
        good, str(tmp_path / "missing.jpg"), str(tmp_path / "corrupt.jpg"),
        png, str(tmp_path / "empty.png"))]
    lines = []
    kept = caption_data.attach_pixels(records, 48, echo=lines.append)
    assert [r["image"] for r in kept] == [good, png]
    assert kept[0]["pixels"].shape == (48, 48, 3)
    assert kept[0]["pixels"].dtype == np.uint8
    assert lines[0] == f"{tmp_path / 'missing.jpg'}: skipped image (file " \
                       "not found)."
    assert lines[1].startswith(f"{tmp_path / 'corrupt.jpg'}: skipped image "
                               "(not a decodable JPEG/PNG/GIF/BMP image")
    assert lines[2] == f"{tmp_path / 'empty.png'}: skipped image (empty " \
                       "file)."
    assert lines[3] == "Skipped 3 of 5 images that could not be read."
    with pytest.raises(DataError, match="none of the 1 images could be "
                                        "read .first: .*missing.jpg"):
        caption_data.attach_pixels(records[1:2], 48)


def test_decode_jpeg_png_grey_and_batches_alike(tmp_path):
    import tensorflow as tf

    from PIL import Image

    image = draw("square", "blue", "top", random.Random(3))
    png, grey = io.BytesIO(), io.BytesIO()
    image.save(png, format="PNG")
    image.convert("L").save(grey, format="PNG")
    pixels = images.decode_image(tf.constant(png.getvalue()), 32).numpy()
    np.testing.assert_array_equal(pixels, np.asarray(image))  # same size
    assert images.decode_image(tf.constant(grey.getvalue()),
                               40).numpy().shape == (40, 40, 3)
    batch, ok = images.decode_images(tf.constant([png.getvalue()] * 2), 64)
    assert batch.shape == (2, 64, 64, 3) and batch.dtype == tf.uint8
    assert ok.numpy().tolist() == [True, True]
    # What does not decode (no image file at all, or a JPEG / PNG cut
    # short after a valid header): black pixels and ok False, the rest
    # decoded.
    gif, bmp, jpeg = io.BytesIO(), io.BytesIO(), io.BytesIO()
    image.save(gif, format="GIF")
    image.save(bmp, format="BMP")
    image.save(jpeg, format="JPEG")
    cut = [data[:len(data) // 2] for data in (jpeg.getvalue(),
                                               png.getvalue())]
    batch, ok = images.decode_images(tf.constant(
        [b"", png.getvalue(), b"just text", gif.getvalue(), bmp.getvalue(),
         b"\xff\xd8", *cut, jpeg.getvalue()]), 32)
    assert ok.numpy().tolist() == [False, True, False, True, True, False,
                                   False, False, True]
    np.testing.assert_array_equal(batch[1], np.asarray(image))
    assert not batch.numpy()[[0, 2, 5, 6, 7]].any()
    batch, ok = images.decode_images(tf.constant(cut), 16)  # none decodes
    assert batch.shape == (2, 16, 16, 3) and not ok.numpy().any()
    batch, ok = images.decode_images(tf.constant([], tf.string), 16)
    assert batch.shape == (0, 16, 16, 3) and ok.shape == (0,)
    path = _write_image(tmp_path / "x.jpg")
    assert images.native_shape(path) == (32, 32)
    assert images.read_image(path, 16).shape == (16, 16, 3)
    assert Image.open(path).format == "JPEG"


@pytest.fixture(scope="module")
def coco_metadata(tmp_path_factory):
    import tensorflow_datasets as tfds
    from tensorflow_datasets.core import splits as splits_lib

    data_dir = str(tmp_path_factory.mktemp("tfds"))
    builder = tfds.builder("coco_captions", data_dir=data_dir)
    builder.info.set_splits(splits_lib.SplitDict([
        splits_lib.SplitInfo(name=s, shard_lengths=[4], num_bytes=0,
                             filename_template=None)
        for s in ("train", "val", "test")]))
    os.makedirs(builder.data_path, exist_ok=True)
    builder.info.write_to_directory(builder.data_path)
    return data_dir


def test_tfds_coco_captions_mocked(coco_metadata):
    import tensorflow_datasets as tfds

    with tfds.testing.mock_data(num_examples=4, data_dir=coco_metadata):
        records = caption_data.read_captions(
            "tfds:coco_captions", "train", tfds_data_dir=coco_metadata)
        assert len(records) == 4
        assert records[0]["array"].dtype == np.uint8
        assert records[0]["array"].ndim == 3
        assert all(isinstance(c, str) for c in records[0]["captions"])
        # No `validation`/`dev` split: the caller holds back a fraction.
        assert caption_data.read_captions(
            "tfds:coco_captions", "valid", tfds_data_dir=coco_metadata) is None
        val = caption_data.read_captions(
            "tfds:coco_captions?split=val", "valid",
            tfds_data_dir=coco_metadata)
        kept = caption_data.attach_pixels(val, 32)
        assert kept[0]["pixels"].shape == (32, 32, 3)


def test_undecodable_images_are_reported_once_without_tf_internals(
        tmp_path, caplog):
    good = _write_image(tmp_path / "good.png")
    (tmp_path / "notes.png").write_text("not an image")
    (tmp_path / "cut.jpg").write_bytes(
        open(_write_image(tmp_path / "full.jpg"), "rb").read()[:300])
    with pytest.raises(ValueError) as info:
        images.read_image(str(tmp_path / "notes.png"), 32)
    assert str(info.value) == "not a decodable JPEG/PNG/GIF/BMP image"
    with pytest.raises(ValueError) as info:
        images.read_image(str(tmp_path / "cut.jpg"), 32)
    assert str(info.value).startswith(
        "not a decodable JPEG/PNG/GIF/BMP image: ")
    assert "{{" not in str(info.value) and "::" not in str(info.value)
    records = [{"image": p, "captions": ["x"]} for p in (
        good, str(tmp_path / "missing.png"), str(tmp_path / "notes.png"))]
    lines = []
    with caplog.at_level("INFO", logger="kerasnlp_seq"):
        caption_data.attach_pixels(records, 32, echo=lines.append)
    assert lines == [
        f"{tmp_path / 'missing.png'}: skipped image (file not found).",
        f"{tmp_path / 'notes.png'}: skipped image (not a decodable "
        "JPEG/PNG/GIF/BMP image).",
        "Skipped 2 of 3 images that could not be read."]
    # Shown once (by echo); the log keeps them below warning level.
    assert not [r for r in caplog.records if r.levelname == "WARNING"]
    assert len([r for r in caplog.records if "skipped" in r.message]) == 2
    caplog.clear()
    with caplog.at_level("INFO", logger="kerasnlp_seq"):
        caption_data.attach_pixels(records, 32)  # no echo: warnings
    assert [r.levelname for r in caplog.records] == ["WARNING"] * 3


def test_many_skipped_images_are_named_ten_then_counted(tmp_path, caplog):
    good = _write_image(tmp_path / "good.png")
    missing = [str(tmp_path / f"gone{i}.png") for i in range(15)]
    records = [{"image": p, "captions": ["x"]} for p in [good] + missing]
    lines = []
    with caplog.at_level("INFO", logger="kerasnlp_seq"):
        kept = caption_data.attach_pixels(records, 32, echo=lines.append)
    assert [r["image"] for r in kept] == [good]
    assert lines == [f"{p}: skipped image (file not found)."
                     for p in missing[:10]] + [
        "Skipped 15 of 16 images that could not be read (10 named above; "
        "the log names all)."]
    logged = [r.message for r in caplog.records if "skipped image" in
              r.message]
    assert logged == [f"{p}: skipped image (file not found)."
                      for p in missing]
