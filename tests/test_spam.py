"""The spam task: readers, characters, weights, threshold, metrics, export.

One tiny word + character run is trained through the CLI for the module
(`spam_run`); the rest drives the task in process, with the model's scores
replaced by known ones where a test checks the threshold or the metrics.
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from kerasnlp_seq.errors import ConfigError, DataError
from kerasnlp_seq.samples.generate_spam import generate
from tasks.spam import SpamConfig, SpamTask, centre_in_gap

TINY = dict(units=4, embedding_dim=8, vocab_size=300, char_embedding_dim=8,
            char_filters=8, max_chars=120)
TINY_FLAGS = ["--units", "4", "--embedding-dim", "8", "--vocab-size", "300",
              "--char-embedding-dim", "8", "--char-filters", "8",
              "--max-chars", "120", "--batch-size", "16", "--quiet"]
METRIC_NAMES = {"accuracy", "precision", "recall", "f1", "mcc", "roc_auc",
                "spam_caught", "blocked_ham"}


def task_for(**options):
    return SpamTask(SpamConfig(**{**TINY, **options}))


def write_sms(path, rows):
    """`(label, text)` rows in the SMS Spam Collection layout."""
    with open(path, "w", encoding="utf-8") as f:
        f.writelines(f"{label}\t{text}\n" for label, text in rows)
    return str(path)


def records(rows):
    return [{"text": t, "label": y, "_line": i + 1, "_source": "d.tsv"}
            for i, (y, t) in enumerate(rows)]


def fake_scores(task, monkeypatch, by_text):
    """Make the task's model give `by_text[text]` as spam probability."""
    def probabilities(model, texts, batch_size=64):
        p = np.array([by_text[t] for t in texts], dtype="float32")
        pos = task.positive_index
        out = np.zeros((len(texts), 2), dtype="float32")
        out[:, pos], out[:, 1 - pos] = p, 1.0 - p
        return out

    monkeypatch.setattr(task, "probabilities", probabilities)


# ------------------------------------------------------------------- data


def test_reads_sms_layout_by_default_and_tables_by_column(helpers, tmp_path):
    rows = [("ham", 'Ok lar... "joking" wif u oni'),
            ("spam", "FR33 entry! Txt WIN to 87121, T&C's apply")]
    task = SpamTask()
    got = task.read(write_sms(tmp_path / "SMSSpamCollection", rows), "train")
    assert [(r["label"], r["text"]) for r in got] == rows
    pairs = [(t, y) for y, t in rows]
    for name in ("d.csv", "d.jsonl"):
        path = helpers.write_table(tmp_path / name, pairs,
                                   columns=("body", "class"))
        task = SpamTask(SpamConfig(header=True, text_column="body",
                                   label_column="class"))
        got = task.read(path, "train")
        assert [(r["label"], r["text"]) for r in got] == rows


@pytest.mark.parametrize("content, fragment", [
    ("ham\tfine\nspam\tWIN\textra field\n", ":2: expected 2 tab-separated"),
    ("ham\tfine\nspam\t  \n", ":2: empty text"),
    ("ham\tfine\nham\tok\n", "only one class ['ham']"),
    ("ham\tfine\nspam\tWIN\nscam\tpay\n", "exactly two classes"),
])
def test_bad_tables_name_file_and_line(tmp_path, content, fragment):
    path = tmp_path / "bad.tsv"
    path.write_text(content, encoding="utf-8")
    task = task_for()
    with pytest.raises(DataError) as info:
        task.adapt(task.read(str(path), "train"))
    assert str(info.value).startswith(str(path))
    assert fragment in str(info.value)


def test_positive_label_must_exist_and_options_are_checked(tmp_path):
    path = write_sms(tmp_path / "d.tsv", [("0", "hi"), ("1", "WIN cash")])
    task = task_for()
    with pytest.raises(DataError, match="no label 'spam'.*--positive-label"):
        task.adapt(task.read(path, "train"))
    task = task_for(positive_label="1")
    task.adapt(task.read(path, "train"))
    assert task.positive_index == 1
    for bad in (dict(max_fpr=1.5), dict(spam_weight=0.0),
                dict(folder_labels="easy_ham=ham"), dict(threshold=-0.1),
                dict(representation="bytes")):
        with pytest.raises(ConfigError):
            SpamConfig(**bad)


RAW = ("From: a@example.com\nSubject: {subject}\nContent-Type: text/plain; "
       "charset={charset}\n\n{body}\n")


def test_email_folders_map_labels_and_skip_empty_messages(tmp_path, caplog):
    corpus = tmp_path / "corpus"
    messages = {
        "spam": [RAW.format(subject="WIN", charset="utf-8", body="Cl41m n0w")],
        "spam_2": [RAW.format(subject="Cash", charset="x-bogus-9",
                              body="caf\u00e9 prize")],
        "easy_ham": [RAW.format(subject="Lunch", charset="utf-8",
                                body="see you at noon"),
                     "From: a@example.com\n\n\n"],  # empty: skipped
        "hard_ham": [RAW.format(subject="Invoice", charset="utf-8",
                                body="attached")],
    }
    for folder, items in messages.items():
        os.makedirs(corpus / folder)
        for i, text in enumerate(items):
            (corpus / folder / f"{i:04d}.msg").write_bytes(text.encode())
    task = task_for()
    got = task.read(str(corpus), "train")
    assert sorted((r["label"], r["text"]) for r in got) == [
        ("ham", "Invoice\n\nattached"), ("ham", "Lunch\n\nsee you at noon"),
        ("spam", "Cash\n\ncaf\u00e9 prize"), ("spam", "WIN\n\nCl41m n0w")]
    assert "skipped 1 empty message" in caplog.text
    task.adapt(got)
    assert task.labels.names == ["ham", "spam"]
    only_ham = tmp_path / "one"
    os.makedirs(only_ham / "easy_ham")
    os.makedirs(only_ham / "hard_ham")
    for folder in ("easy_ham", "hard_ham"):
        (only_ham / folder / "1").write_text(
            RAW.format(subject="hi", charset="utf-8", body="hello"))
    with pytest.raises(DataError, match="found only one class"):
        task.read(str(only_ham), "train")


# ---------------------------------------------------------- preprocessing


def test_character_vocabulary_sees_inside_obfuscated_words():
    from kerasnlp_seq.chars import CharVocabulary

    vocab = CharVocabulary.adapt(["free cash", "FR33 C4SH  now\n\tplease"],
                                 max_size=30)
    ids = vocab.encode(["fr33", "zq", "", "x  y"], max_chars=3).numpy()
    assert ids.shape == (4, 3)
    index = {c: i + 2 for i, c in enumerate(vocab.chars)}
    assert ids[0].tolist() == [index["f"], index["r"], index["3"]]
    assert ids[1].tolist() == [1, 1, 0]  # unknown characters, then padding
    assert ids[2].tolist() == [0, 0, 0]
    assert ids[3].tolist() == [1, index[" "], 1]  # white space collapsed
    pre = vocab.encode(["zzzfr"], max_chars=2, truncating="pre").numpy()
    assert pre.tolist() == [[index["f"], index["r"]]]
    assert "\n" not in vocab.chars and "\t" not in vocab.chars
    assert vocab.encode([""]).shape == (1, 1)


def test_class_weights_automatic_overridden_or_off():
    rows = [("ham", f"hello {i}") for i in range(6)] + [("spam", "WIN")] * 2
    task = task_for()
    task.adapt(records(rows))
    assert task.weights == {"ham": 8 / (2 * 6), "spam": 8 / (2 * 2)}
    ds = task.dataset(records(rows), 8, training=True, seed=0)
    x, y, w = next(iter(ds))
    assert set(x) == {"token_ids", "char_ids"}
    expected = np.where(y.numpy() == task.positive_index, 2.0, 8 / 12)
    np.testing.assert_allclose(w.numpy(), expected, rtol=1e-6)
    assert len(next(iter(task.dataset(records(rows), 8, False)))) == 2
    task = task_for(spam_weight=5.0)
    task.adapt(records(rows))
    assert task.weights == {"ham": 1.0, "spam": 5.0}
    task = task_for(class_weight="none")
    task.adapt(records(rows))
    assert task.weights == {"ham": 1.0, "spam": 1.0}


@pytest.mark.parametrize("representation", ["char", "word_char"])
def test_padding_does_not_change_predictions(representation):
    import keras

    keras.utils.set_random_seed(0)
    rows = [(y, t) for y, t in generate(40, seed=3)]
    task = task_for(representation=representation, char_pool_size=3)
    task.adapt(records(rows))
    model = task.build_model()
    # Character lengths 2, 10, 18, 339 and 0: pooling windows must line up
    # whatever the padded length of the batch (not a multiple of 3 here).
    texts = ["hi", "Good film.", "WINNER!! fr33 c4sh",
             "call 0800123 now " * 20, ""]
    together = task.probabilities(model, texts)
    alone = np.concatenate([task.probabilities(model, [t]) for t in texts])
    np.testing.assert_allclose(alone, together, atol=1e-5)


def test_masked_conv_pools_only_real_steps():
    from kerasnlp_seq.chars import MaskedConv1D

    layer = MaskedConv1D(2, kernel_size=1, pool_size=2, activation="linear")
    x = np.array([[[1.0], [-3.0], [2.0], [50.0]]], dtype="float32")
    mask = np.array([[True, True, True, False]])
    layer.build(x.shape)
    layer.conv.set_weights([np.array([[[1.0, -1.0]]]), np.zeros(2)])
    out = layer(x, mask=mask).numpy()
    # windows (1, -3) and (2, pad): the padded 50 never wins the max
    np.testing.assert_allclose(out, [[[1.0, 3.0], [2.0, -2.0]]])
    assert layer.compute_mask(x, mask).numpy().tolist() == [[True, True]]
    assert layer.compute_output_shape((None, 5, 1)) == (None, 3, 2)


# -------------------------------------------------------------- threshold


def test_centre_in_gap_keeps_counts_and_leaves_a_margin():
    s = np.array([0.1, 0.3, 0.9, 0.95], dtype="float32")
    t = centre_in_gap(0.9, s)
    assert t == pytest.approx(0.6)
    assert ((s >= t) == (s >= np.float32(0.9))).all()
    assert centre_in_gap(0.1, s) == pytest.approx(0.1)  # nothing below


@pytest.mark.parametrize("options, expected", [
    # Best F1 6/7 at 0.1 (3 spam, 1 ham), centred in the gap 0.05..0.1.
    (dict(), 0.075),
    # No ham: 2 spam at 0.8, centred in the gap 0.3..0.8.
    (dict(max_fpr=0.0), 0.55),
    (dict(max_fpr=0.5), 0.075),  # one ham of two may go: all spam at 0.1
    (dict(threshold=0.7), 0.7),
])
def test_after_fit_chooses_and_saves_the_threshold(
        tmp_path, monkeypatch, options, expected):
    from kerasnlp_seq.binary_metrics import binary_report

    rows = [("spam", "a"), ("spam", "b"), ("ham", "c"), ("ham", "d"),
            ("spam", "e")]
    scores = {"a": 0.9, "b": 0.8, "c": 0.3, "d": 0.05, "e": 0.1}
    task = task_for(**options)
    task.adapt(records(rows))
    fake_scores(task, monkeypatch, scores)
    task.after_fit(None, [], records(rows), str(tmp_path))
    with open(tmp_path / "threshold.json") as f:
        saved = json.load(f)
    assert saved["threshold"] == pytest.approx(expected)
    if "max_fpr" in options:
        y = [1, 1, 0, 0, 1]
        fpr = binary_report(y, [scores[k] for k in "abcde"],
                            saved["threshold"])["blocked_ham"] / 100
        assert fpr <= options["max_fpr"]
    again = task_for(**options)
    task.save_assets(str(tmp_path))
    again.load_assets(str(tmp_path))
    assert again.threshold == saved["threshold"]


def test_one_class_validation_falls_back_to_half(tmp_path, monkeypatch):
    task = task_for()
    task.adapt(records([("ham", "x"), ("spam", "y")]))
    fake_scores(task, monkeypatch, {"x": 0.2})
    with pytest.warns(UserWarning, match="cannot choose a threshold"):
        task.after_fit(None, [], records([("ham", "x")]), str(tmp_path))
    assert task.threshold == 0.5


def test_evaluate_by_hand_with_plots(tmp_path, monkeypatch):
    rows = [("spam", "a"), ("spam", "b"), ("ham", "c"), ("ham", "d"),
            ("ham", "e")]
    task = task_for()
    task.adapt(records(rows))
    fake_scores(task, monkeypatch,
                {"a": 0.9, "b": 0.4, "c": 0.6, "d": 0.1, "e": 0.2})
    task.threshold = 0.5
    m = task.evaluate(None, records(rows), run_dir=str(tmp_path))
    assert METRIC_NAMES <= set(m)
    assert (m["tp"], m["fp"], m["tn"], m["fn"]) == (1, 1, 2, 1)
    assert m["spam_caught"] == 50.0
    assert m["blocked_ham"] == pytest.approx(100 / 3)
    assert m["roc_auc"] == pytest.approx(5 / 6)
    assert m["mcc"] == pytest.approx((1 * 2 - 1 * 1) / np.sqrt(2 * 2 * 3 * 3))
    assert m["loss"] == pytest.approx(
        -np.mean(np.log([0.9, 0.4, 0.4, 0.9, 0.8])), rel=1e-5)
    for name in ("confusion_matrix.png", "precision_recall.png"):
        with open(tmp_path / name, "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    ham_only = task.evaluate(None, records(rows[2:]))
    assert ham_only["roc_auc"] is None and ham_only["blocked_ham"] > 0
    json.dumps(ham_only, allow_nan=False)


# --------------------------------------------------- trained, end to end


@pytest.fixture(scope="module")
def spam_run(tmp_path_factory):
    from click.testing import CliRunner

    from cli import main

    base = tmp_path_factory.mktemp("spam_run")
    data = write_sms(base / "sms.tsv", generate(240, seed=7))
    run_dir = str(base / "run")
    result = CliRunner().invoke(main, [
        "train", "spam", "--data", data, "--output", run_dir,
        "--epochs", "4", "--learning-rate", "0.01"] + TINY_FLAGS)
    assert result.exit_code == 0, result.output + repr(result.exception)
    return run_dir, data


def test_run_directory_metrics_and_evaluate_json(spam_run, cli):
    run_dir, data = spam_run
    for name in ("threshold.json", "class_weights.json", "chars.json",
                 "vocab.txt", "confusion_matrix.png", "precision_recall.png",
                 "saved_model", "model.keras"):
        assert os.path.exists(os.path.join(run_dir, name)), name
    with open(os.path.join(run_dir, "metrics.json")) as f:
        metrics = json.load(f)
    with open(os.path.join(run_dir, "threshold.json")) as f:
        assert metrics["threshold"] == json.load(f)["threshold"]
    assert METRIC_NAMES <= set(metrics)
    assert metrics["roc_auc"] > 0.9  # it learned
    result = cli("evaluate", run_dir, "--data", data, "--json")
    assert result.exit_code == 0, result.output
    on_all = json.loads(result.output)
    assert METRIC_NAMES <= set(on_all) and on_all["support"] == 240


def test_threshold_changes_per_command_with_set(spam_run, cli, tmp_path):
    from kerasnlp_seq import runs

    run_dir, data = spam_run
    texts = ["WINNER! Claim your FR33 C4SH prize, call 09061234567 now",
             "are you free tonight? see you at the pub"]
    _, answers = runs.predict(run_dir, texts)
    assert [a["label"] for a in answers] == ["spam", "ham"]
    # Above every probability nothing is spam; at 0, everything is.
    for threshold, labels in (("1.0", ["ham", "ham"]),
                              ("0", ["spam", "spam"])):
        task, answers = runs.predict(run_dir, texts,
                                     options={"threshold": threshold})
        if threshold == "1.0":
            assert max(a["spam_probability"] for a in answers) < 1.0
        assert [a["label"] for a in answers] == labels
        assert task.threshold_info["chosen_by"] == "--set threshold"
    result = cli("evaluate", run_dir, "--data", data, "--json", "--set",
                 "threshold=0")
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.output)
    assert metrics["threshold"] == 0.0 and metrics["fn"] == 0
    served = str(tmp_path / "served")
    assert cli("export", run_dir, "-o", served, "--set",
               "threshold=0").exit_code == 0
    import tensorflow as tf

    out = tf.saved_model.load(served).signatures["serving_default"](
        text=tf.constant(texts))
    assert [x.decode() for x in out["label"].numpy()] == ["spam", "spam"]


def test_predict_and_saved_model_in_a_fresh_process(spam_run, cli, tmp_path):
    from kerasnlp_seq import runs

    run_dir, _ = spam_run
    texts = ["WINNER! Claim your FR33 C4SH prize, call 09061234567 now",
             "are you free tonight? see you at the pub", "", "ok",
             "Visit www.w1n-b1g.co.uk to collect your award " * 5]
    task, answers = runs.predict(run_dir, texts)
    assert answers[2] is None  # blank: no answer (served: "" and 0)
    threshold = np.float32(task.threshold)
    assert [a["label"] for a in answers if a] == [
        "spam" if np.float32(a["spam_probability"]) >= threshold else "ham"
        for a in answers if a]
    result = cli("predict", run_dir, texts[0], texts[1])
    assert result.exit_code == 0, result.output
    first = result.output.splitlines()[0].split("\t")
    assert first[0] == answers[0]["label"]
    assert float(first[1]) == pytest.approx(
        answers[0]["spam_probability"], abs=1e-3)
    exported = str(tmp_path / "serving")
    assert cli("export", run_dir, "-o", exported).exit_code == 0
    script = tmp_path / "serve.py"
    script.write_text(
        "import json, sys\nimport tensorflow as tf\n"
        f"m = tf.saved_model.load({exported!r})\n"
        "out = m.signatures['serving_default'](text=tf.constant("
        f"{texts!r}))\n"
        "print(json.dumps({'label': [x.decode() for x in "
        "out['label'].numpy()], 'p': out['spam_probability'].numpy()"
        ".tolist(), 'mods': sorted(k for k in sys.modules "
        "if k.startswith(('kerasnlp_seq', 'tasks')))}))\n")
    env = {**os.environ, "PYTHONPATH": ""}
    proc = subprocess.run([sys.executable, str(script)], capture_output=True,
                          text=True, timeout=180, env=env, cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr[-2000:]
    served = json.loads(proc.stdout.strip().splitlines()[-1])
    assert served["mods"] == []
    assert served["label"] == [a["label"] if a else "" for a in answers]
    np.testing.assert_allclose(
        served["p"], [a["spam_probability"] if a else 0.0 for a in answers],
        atol=1e-5)


def test_cli_bad_input_is_one_line(cli, helpers, tmp_path):
    path = tmp_path / "bad.tsv"
    path.write_text("ham\thello\nspam\n", encoding="utf-8")
    result = cli("train", "spam", "--data", str(path), "--output",
                 str(tmp_path / "out"))
    helpers.assert_one_line_error(result, f"{path}:2:", "expected 2")
    assert not os.path.exists(tmp_path / "out")


def test_saved_model_answers_an_empty_batch(spam_run):
    # The character encoder's recurrent loop cannot run over no rows.
    import tensorflow as tf

    serve = tf.saved_model.load(os.path.join(
        spam_run[0], "saved_model")).signatures["serving_default"]
    empty = serve(text=tf.constant([], tf.string))
    assert empty["label"].shape == (0,)
    assert empty["probabilities"].shape[0] == 0
    one = serve(text=tf.constant(["WIN a free prize now"]))
    assert one["label"].shape == (1,)
