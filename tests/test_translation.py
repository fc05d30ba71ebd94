"""The translation task end to end: CLI train / evaluate / predict / export.

One small model is trained (module fixture, through the CLI) to overfit 16
pairs of the bundled sample; it must then decode all 16 exactly with greedy
and with beam search. Its SavedModel is served in a fresh process that
imports only TensorFlow and must give the same strings as `runs.predict`.
"""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from kerasnlp_seq import runs
from kerasnlp_seq.errors import ConfigError, RunError
from kerasnlp_seq.samples import sample_path
from kerasnlp_seq.seq_tokenizers import OOV_ID
from tasks.translation import TranslationConfig, TranslationTask

OVERFIT = ["--epochs", "50", "--patience", "50", "--batch-size", "16",
           "--learning-rate", "0.01", "--units", "64", "--encoder-units",
           "32", "--embedding-dim", "32", "--dropout", "0",
           "--label-smoothing", "0", "--beam-width", "3", "--quiet"]
SERVE = r"""
import json, sys
import tensorflow as tf

loaded = tf.saved_model.load(sys.argv[2])
serve = loaded.signatures["serving_default"]
out = serve(text=tf.constant(json.loads(sys.argv[1])))
assert not [m for m in sys.modules if m.split(".")[0] in (
    "kerasnlp_seq", "tasks", "cli")], "project modules were imported"
print("RESULT " + json.dumps({
    "outputs": sorted(out),
    "translation": [t.decode("utf-8") for t in out["translation"].numpy()],
    "length": out["length"].numpy().tolist()}))
"""


def read_pairs(n=16):
    with open(sample_path("translation.tsv"), encoding="utf-8") as f:
        return [tuple(line.rstrip("\n").split("\t")) for line in f][:n]


@pytest.fixture(scope="module")
def overfit(tmp_path_factory):
    from click.testing import CliRunner

    from cli import main

    base = tmp_path_factory.mktemp("translation")
    pairs = read_pairs()
    data = str(base / "pairs.tsv")
    with open(data, "w", encoding="utf-8") as f:
        f.writelines(f"{s}\t{t}\n" for s, t in pairs)
    run_dir = str(base / "run")
    result = CliRunner().invoke(main, [
        "train", "translation", "--data", data, "--valid", data,
        "--output", run_dir] + OVERFIT)
    assert result.exit_code == 0, result.output + repr(result.exception)
    return {"run": run_dir, "data": data, "pairs": pairs, "base": base,
            "output": result.output}


@pytest.fixture(scope="module")
def loaded(overfit):
    return runs.load_run(overfit["run"])


def test_overfits_16_pairs_greedy_and_beam(overfit, loaded):
    task, model, _ = loaded
    sources = [s for s, _ in overfit["pairs"]]
    targets = [t for _, t in overfit["pairs"]]
    assert task.translate(model, sources, method="greedy") == targets
    assert task.translate(model, sources, method="beam") == targets
    with open(os.path.join(overfit["run"], "metrics.json")) as f:
        metrics = json.load(f)
    assert metrics["bleu"] == pytest.approx(100.0)
    assert metrics["chrf"] == pytest.approx(100.0)
    assert metrics["bleu_tok_lc"] == pytest.approx(100.0)
    assert metrics["token_accuracy"] == pytest.approx(1.0)
    assert metrics["decoding"] == "beam" and metrics["sentences"] == 16
    for name in ("source_vocab.txt", "target_vocab.txt", "translation.json",
                 "translations.jsonl", "saved_model"):
        assert os.path.exists(os.path.join(overfit["run"], name)), name


def test_padding_does_not_change_a_translation(overfit, loaded):
    task, model, _ = loaded
    short, long = overfit["pairs"][0][0], overfit["pairs"][5][0] + " " * 3
    alone = task.translate(model, [short], method="greedy")
    batched = task.translate(model, [short, long * 3], method="greedy",
                             batch_size=2)
    assert batched[0] == alone[0]


def test_cli_evaluate_predict_and_attention_plot(overfit, cli):
    result = cli("evaluate", overfit["run"], "--data", overfit["data"],
                 "--json")
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.output[result.output.index("{"):])
    assert metrics["bleu"] == pytest.approx(100.0)
    source, target = overfit["pairs"][3]
    plot = str(overfit["base"] / "attention.png")
    result = cli("predict", overfit["run"], source, "日本 € Zürich?",
                 "--format", "json", "--attention-plot", plot)
    assert result.exit_code == 0, result.output
    answers = json.loads(result.output[result.output.index("["):
                                       result.output.rindex("]") + 1])
    assert answers[0] == {"input": source, "translation": target}
    assert isinstance(answers[1]["translation"], str)  # unknown: no crash
    with open(plot, "rb") as f:
        assert f.read(4) == b"\x89PNG"
    result = cli("predict", overfit["run"], source)
    assert result.exit_code == 0 and target in result.output.splitlines()


def test_decoding_settings_change_per_command_with_set(overfit, cli,
                                                       helpers, tmp_path):
    # The run was trained with beam search, width 3, and the default
    # length penalty (1.5).
    result = cli("evaluate", overfit["run"], "--data", overfit["data"],
                 "--json", "--set", "decoding=greedy")
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.output[result.output.index("{"):])
    assert metrics["decoding"] == "greedy" and "beam_width" not in metrics
    assert metrics["bleu"] == pytest.approx(100.0)
    result = cli("evaluate", overfit["run"], "--data", overfit["data"],
                 "--json", "--set", "length_penalty=1.0")
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.output[result.output.index("{"):])
    assert (metrics["decoding"], metrics["beam_width"],
            metrics["length_penalty"]) == ("beam", 3, 1.0)
    task, model, run_config = runs.load_run(
        overfit["run"], {"beam_width": "7", "length_penalty": "1.0"})
    assert (run_config["task_config"]["beam_width"],
            run_config["task_config"]["length_penalty"]) == (3, 1.5)
    task.translate_fn(model)
    decoder = task._decoder[1]
    assert (decoder.beam_width, decoder.length_penalty) == (7, 1.0)
    source, target = overfit["pairs"][2]
    result = cli("predict", overfit["run"], source, "--set", "beam-width=1")
    assert result.exit_code == 0 and target in result.output.splitlines()
    result = cli("export", overfit["run"], "-o", str(tmp_path / "greedy"),
                 "--set", "decoding=greedy")
    assert result.exit_code == 0, result.output
    # What training fixed cannot change; values are typed and checked.
    for item, fragments in [
            ("units=8", ["--set units: a translation run cannot change "
                         "'units' after training; it can change decoding, "
                         "beam_width, length_penalty, min_length, source, "
                         "target, tfds_data_dir."]),
            ("beam_width=wide", ["`beam_width` must be of type int. "
                                 "Received: beam_width='wide'"]),
            ("beam_width=0", ["`beam_width` of TranslationConfig must be "
                              ">= 1. Received: beam_width=0"]),
            ("decoding=sampling", ["Unknown `decoding`", "'sampling'"])]:
        result = cli("predict", overfit["run"], source, "--set", item)
        helpers.assert_one_line_error(result, *fragments)
    result = cli("predict", overfit["run"], source, "--set", "beam_width")
    assert result.exit_code == 2
    assert "expected KEY=VALUE, got 'beam_width'" in result.output


def test_evaluate_reads_other_layouts_with_set_source_and_target(
        overfit, cli, helpers, tmp_path):
    # The run was trained on a pair file (columns 0 and 1); its pairs as
    # line-aligned files are read with language codes for this command.
    for i, lang in enumerate(("en", "es")):
        with open(tmp_path / f"val.{lang}", "w", encoding="utf-8") as f:
            f.writelines(pair[i] + "\n" for pair in overfit["pairs"])
    prefix = str(tmp_path / "val")
    result = cli("evaluate", overfit["run"], "--data", prefix, "--json",
                 "--set", "source=en", "--set", "target=es")
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.output[result.output.index("{"):])
    assert metrics["bleu"] == pytest.approx(100.0)
    assert metrics["sentences"] == 16
    # Language codes given for a pair file: the message says how to name
    # its columns instead.
    result = cli("evaluate", overfit["run"], "--data", overfit["data"],
                 "--set", "source=en", "--set", "target=es")
    helpers.assert_one_line_error(
        result, "a tab-separated pair file has columns, not languages",
        "--set source=0 or 1 to evaluate")
    # Swapped columns are read as asked (and score badly).
    result = cli("evaluate", overfit["run"], "--data", overfit["data"],
                 "--json", "--set", "source=1", "--set", "target=0")
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.output[result.output.index("{"):])
    assert metrics["bleu"] < 50.0


@pytest.mark.parametrize("method", ["greedy", "beam"])
def test_min_length_reaches_the_decoder_and_the_saved_model(overfit, method,
                                                           tmp_path):
    import tensorflow as tf

    from kerasnlp_seq.seq_tokenizers import END_ID

    def generated(ids):  # tokens before the end token, per row
        return [row.index(END_ID) if END_ID in row else len(row)
                for row in ids.numpy().tolist()]

    sources = [s for s, _ in overfit["pairs"][:4]]
    task, model, _ = runs.load_run(overfit["run"], {"decoding": method})
    source_ids = task.source_ids(tf.constant(sources))
    free = generated(task.translate_fn(model)(source_ids)[0])
    assert max(free) < 12  # the sample's targets are short
    task, model, _ = runs.load_run(overfit["run"], {"decoding": method,
                                                    "min_length": "12"})
    forced = generated(task.translate_fn(model)(source_ids)[0])
    assert min(forced) >= 12, forced
    path = str(tmp_path / "serving")
    task.export(model, path)
    served = tf.saved_model.load(path).signatures["serving_default"](
        tf.constant(sources))
    texts = [t.decode() for t in served["translation"].numpy()]
    assert texts == task.translate(model, sources)


def test_saved_model_in_a_fresh_process_matches_predict(overfit, cli,
                                                        tmp_path):
    out = str(tmp_path / "serving")
    result = cli("export", overfit["run"], "--output", out)
    assert result.exit_code == 0, result.output
    texts = [s for s, _ in overfit["pairs"][:6]] + ["", "Unknown ¿€ words"]
    script = tmp_path / "serve.py"
    script.write_text(SERVE)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run([sys.executable, str(script), json.dumps(texts),
                           out], cwd=str(tmp_path), env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")]
    served = json.loads(line[0][len("RESULT "):])
    _, answers = runs.predict(overfit["run"], texts)
    assert served["outputs"] == ["length", "translation"]
    assert answers[6] is None  # a blank source has no translation
    assert served["translation"] == [a["translation"] if a else ""
                                     for a in answers]
    assert served["translation"][:6] == [t for _, t in overfit["pairs"][:6]]
    assert all(n > 0 for n in served["length"][:6])
    assert served["length"][6] == 0


def test_vocabulary_that_does_not_match_the_run(overfit, cli, tmp_path):
    edited = str(tmp_path / "edited")
    shutil.copytree(overfit["run"], edited)
    vocab = os.path.join(edited, "target_vocab.txt")
    with open(vocab, encoding="utf-8") as f:
        lines = f.readlines()
    with open(vocab, "w", encoding="utf-8") as f:
        f.writelines(lines[:-3])
    result = cli("predict", edited, "The cat.")
    line = [x for x in result.output.splitlines() if x.startswith("Error:")]
    assert result.exit_code == 1 and len(line) == 1, result.output
    assert "target_vocab.txt: the target vocabulary has" in line[0]
    assert "restore the run's file" in line[0]
    # Same size, other tokens: the digest tells.
    with open(vocab, "w", encoding="utf-8") as f:
        f.writelines(lines[:2] + lines[3:] + lines[2:3])
    with pytest.raises(RunError, match="target vocabulary differs from the "
                       "one the run was trained with"):
        runs.load_run(edited)
    with open(vocab, "w", encoding="utf-8") as f:
        f.writelines(lines[:-3])
    # Consistent assets, but another model: the model check catches it.
    with open(os.path.join(edited, "translation.json")) as f:
        assets = json.load(f)
    assets["target"]["size"] -= 3
    assets["target"].pop("sha256")
    with open(os.path.join(edited, "translation.json"), "w") as f:
        json.dump(assets, f)
    with pytest.raises(RunError, match="the model's target vocabulary has"):
        runs.load_run(edited)


def test_over_long_sentences_are_truncated_with_a_count(caplog):
    task = TranslationTask(TranslationConfig(tokenizer="word", max_length=4))
    pairs = [{"source": "a b c d e f", "target": "x y"},
             {"source": "a b", "target": "x y z w v"}]
    task.adapt(pairs)
    with caplog.at_level("WARNING", logger="kerasnlp_seq"):
        sources, targets = task.encode_pairs(pairs)
    assert "truncated 1 source and 1 target sentence(s) to --max-length 4" \
        in caplog.text
    assert [len(s) for s in sources] == [4, 3]  # end token included
    assert [len(t) for t in targets] == [2, 3]
    x, y = next(iter(task.dataset(pairs, 2, training=False)))
    assert x["target_in"].shape[1] == y.shape[1] == 4


@pytest.mark.parametrize("options", [
    dict(cell="lstm", attention="bahdanau", bidirectional=False,
         encoder_units=12, units=16, decoder_layers=2),
    dict(cell="gru", attention="none", encoder_units=8, units=16,
         encoder_layers=2, tokenizer="word"),
    dict(cell="gru", attention="luong", encoder_units=8, units=8,
         tie_embeddings=True),
    dict(cell="gru", attention="luong", encoder_units=8, units=8,
         word_dropout=0.3),
    dict(cell="gru", attention="luong", encoder_units=8, units=8,
         shared_vocab=False),
    dict(cell="lstm", attention="luong", encoder_units=8, units=8,
         share_embeddings=True),
    dict(cell="gru", attention="luong", encoder_units=8, units=8,
         decoder_layers=2, attention_from="bottom"),
])
def test_model_variants_build_save_reload_and_decode(options, tmp_path):
    pairs = [{"source": s, "target": t} for s, t in read_pairs(8)]
    task = TranslationTask(TranslationConfig(embedding_dim=8, max_length=12,
                                             beam_width=2, **options))
    task.adapt(pairs)
    # "woman" is a source (English) word: one known unit of a shared
    # vocabulary, unknown to a Spanish-only one.
    pieces = task.target_tokenizer.encode(["woman"]).to_list()[0]
    whole_word = len(pieces) == 1 and pieces[0] != OOV_ID
    shared = options.get("shared_vocab", True)
    assert whole_word == shared
    assert (task.source_tokenizer is task.target_tokenizer) == shared
    model = task.build_model()
    x, y = next(iter(task.dataset(pairs, 8, training=True, seed=0)))
    logits = model(x)
    assert tuple(logits.shape) == (*y.shape, task.target_tokenizer.size)
    dropping = [layer.name for layer in model.layers
                if layer.name.endswith("word_dropout")]
    assert dropping == (["source_word_dropout", "decoder_word_dropout"]
                        if options.get("word_dropout") else [])
    # One matrix embeds both sides with share_embeddings, two otherwise.
    embeddings = [w for w in model.weights
                  if w.path.endswith("embedding/embeddings")]
    assert len(embeddings) == (1 if options.get("share_embeddings") else 2)
    task.save_assets(str(tmp_path))
    model.save(str(tmp_path / "model.keras"))
    again = TranslationTask(task.config)
    again.load_assets(str(tmp_path))
    reloaded = again.load_model(str(tmp_path / "model.keras"))
    np.testing.assert_allclose(reloaded(x), logits, atol=1e-5)
    sources = [p["source"] for p in pairs[:3]]
    for method in ("greedy", "beam"):
        assert again.translate(reloaded, sources, method) == task.translate(
            model, sources, method)
    if options["attention"] == "none":
        with pytest.raises(RunError, match="has no attention"):
            task.plot_attention(model, sources[0], str(tmp_path / "a.png"))


def test_config_is_checked():
    with pytest.raises(ConfigError, match="Unknown `attention`"):
        TranslationConfig(attention="dot")
    with pytest.raises(ConfigError, match=r"`beam_width` of TranslationConfig "
                       r"must be >= 1\. Received: beam_width=0"):
        TranslationConfig(beam_width=0)
    with pytest.raises(ConfigError, match=r"`label_smoothing`"):
        TranslationConfig(label_smoothing=1.0)
    with pytest.raises(ConfigError, match=r"`word_dropout`"):
        TranslationConfig(word_dropout=1.0)
    with pytest.raises(ConfigError, match="embedding_dim == units"):
        TranslationConfig(tie_embeddings=True, embedding_dim=128, units=256)
    with pytest.raises(ConfigError, match="`share_embeddings` needs "
                       "`shared_vocab`"):
        TranslationConfig(share_embeddings=True, shared_vocab=False)
    for bad in (dict(decoder_layers=1), dict(decoder_layers=2,
                                             attention="none")):
        with pytest.raises(ConfigError, match="attention_from='bottom'"):
            TranslationConfig(attention_from="bottom", **bad)
    with pytest.raises(ConfigError, match="Unknown `attention_from`"):
        TranslationConfig(attention_from="middle", decoder_layers=2)
    # The default size follows --shared-vocab; a given one is kept.
    assert TranslationConfig().vocab_size == 6000
    assert TranslationConfig(shared_vocab=False).vocab_size == 4000
    assert TranslationConfig(shared_vocab=False, vocab_size=300).vocab_size \
        == 300


def test_bad_data_is_one_line_on_the_cli(cli, tmp_path, helpers):
    path = tmp_path / "pairs.tsv"
    path.write_text("Go.\tVe.\nno tab here\n", encoding="utf-8")
    result = cli("train", "translation", "--data", str(path), "--output",
                 str(tmp_path / "run"))
    helpers.assert_one_line_error(result, f"{path}:2: expected at least 2 "
                                  "tab-separated fields")
    assert not os.path.exists(tmp_path / "run")


def test_a_translation_does_not_depend_on_its_batch(tmp_path):
    """Each sentence stops at its own cap, `min(max_length, 2 * its source
    length + 10)`, in `translate`, the in-graph function and the SavedModel,
    whatever longer sentence shares its batch."""
    import keras
    import tensorflow as tf

    pairs = [{"source": s, "target": t} for s, t in read_pairs(8)]
    task = TranslationTask(TranslationConfig(
        embedding_dim=8, encoder_units=8, units=8, max_length=40,
        beam_width=2, tokenizer="word"))
    task.adapt(pairs)
    keras.utils.set_random_seed(0)
    model = task.build_model()  # untrained: it rarely ends, so caps matter
    short = "table table table table table"
    long = " ".join(p["source"] for p in pairs)
    sources = task.source_ids(tf.constant([short, long])).numpy()
    caps = np.minimum(40, 2 * (sources != 0).sum(1) + 10)
    assert caps[0] < caps[1]
    for method in ("greedy", "beam"):
        fn = task.translate_fn(model, method)
        alone = fn(task.source_ids(tf.constant([short])))[0].numpy()
        together = fn(tf.constant(sources))[0].numpy()
        assert alone.shape == (1, caps[0]) and (alone != 0).sum() == caps[0]
        np.testing.assert_array_equal(together[0, :caps[0]], alone[0])
        assert not together[0, caps[0]:].any()
        assert np.all((together != 0).sum(1) <= caps)
        assert task.translate(model, [short, long], method)[:1] == \
            task.translate(model, [short], method)
    task.export(model, str(tmp_path / "serving"))
    serve = tf.saved_model.load(str(tmp_path / "serving")).signatures[
        "serving_default"]
    alone, together = serve(text=tf.constant([short])), serve(
        text=tf.constant([short, long]))
    for key in ("translation", "length"):
        assert together[key].numpy()[0] == alone[key].numpy()[0]
    assert alone["length"].numpy()[0] == caps[0]


def test_attention_plot_of_a_translation_cut_off_at_the_length_cap(
        tmp_path, monkeypatch):
    # Decoding stopped by the length cap generates no [END]: the plot has
    # one row per generated token and no [END] row to label (it used to
    # append [END] always and fail: "cannot cover 23 target x 6 source").
    import tensorflow as tf

    from kerasnlp_seq import attention_plots
    from kerasnlp_seq.seq_tokenizers import END, END_ID, JOINER

    pairs = [{"source": s, "target": t} for s, t in read_pairs(8)]
    task = TranslationTask(TranslationConfig(
        embedding_dim=8, encoder_units=8, units=8, max_length=6,
        tokenizer="word"))
    task.adapt(pairs)
    model = task.build_model()
    bias, = [w for w in model.weights
             if w.path.endswith("decoder_logits/bias")]
    bias.assign(tf.tensor_scatter_nd_update(bias, [[END_ID]], [-1e4]))
    source = pairs[1]["source"]
    ids, _ = task.translate_fn(model, "greedy")(
        task.source_ids(tf.constant([source])))
    assert ids.shape == (1, 6) and END_ID not in ids.numpy()[0]
    drawn = {}
    real = attention_plots.plot_attention

    def spy(weights, src, tgt, path, title=None):
        drawn.update(weights=weights, src=src, tgt=tgt)
        return real(weights, src, tgt, path, title=title)

    monkeypatch.setattr(attention_plots, "plot_attention", spy)
    path = str(tmp_path / "cut_off.png")
    assert task.plot_attention(model, source, path) == path
    with open(path, "rb") as f:
        assert f.read(4) == b"\x89PNG"
    assert len(drawn["tgt"]) == 6 and END not in drawn["tgt"]
    source_ids = task.source_ids(tf.constant([source])).numpy()[0]
    tokens = task.source_tokenizer.tokens
    assert drawn["src"] == [tokens[i].replace(JOINER, "")
                            for i in source_ids]
    assert drawn["src"][-1] == END and "[UNK]" not in drawn["src"]
    assert drawn["weights"].shape == (6, len(source_ids))


def test_saved_model_answers_an_empty_batch(overfit):
    import tensorflow as tf

    serve = tf.saved_model.load(os.path.join(
        overfit["run"], "saved_model")).signatures["serving_default"]
    out = serve(text=tf.constant([], tf.string))
    assert out["translation"].shape == (0,) and out["length"].shape == (0,)
    source, target = overfit["pairs"][0]
    out = serve(text=tf.constant([source]))
    assert out["translation"].numpy()[0].decode("utf-8") == target
