"""Throughput, closeness to the machine's limit, serving speed, streaming memory.

    python benchmarks/throughput.py                      # every part
    python benchmarks/throughput.py --parts train --epochs 2 --limit 4000

Each part runs in its own process (a fresh peak RSS, no shared graphs):

- `train`: side by side in one process, the same model (embedding 128, two
  BiLSTM(64) layers, sigmoid output, Adam 1e-3; `--toolkit-lr` sets the
  toolkit recipes' rate) on IMDB's train half (10% held back, the same
  split for both): (a) the toolkit, its builder's layers
  (`build_recurrent`) and its pipeline, full reviews (no truncation: up to
  2737 tokens; `--max-length N` keeps the last N tokens, as the sentiment
  task's `max_length`/`truncating=pre` do), masked, length-bucketed with a
  token budget per batch (`--batch-tokens`, batch size capped at
  `--max-batch`); (b) the keras.io recipe, every review padded or truncated
  (`pre`) to 200 tokens, fixed batches of 32, no mask, `keras.layers.LSTM`.
  `--hoisted` adds (a_hoisted): the same with `hoist_inputs=True`
  (`kerasnlp_seq.recurrent.FastLSTM`); `--bf16` adds (a_bf16): (a) under
  the `mixed_bfloat16` policy (`--mixed-precision mixed_bfloat16`), which
  pays off on CPUs with AVX512_BF16 or AMX. All get the same
  token ids (the toolkit's tokenizer and vocabulary, encoded once, outside
  the timings). Epochs alternate (a, b, a, b, ...) so load changes hit both.
  Real tokens are the non-padding tokens each recipe feeds the model. A
  large `tf.matmul` is timed between epochs for the FLOP/s ceiling.
- `inference`: tiny sentiment and NER runs on the bundled samples, then
  their SavedModels (loaded with `tf.saved_model.load`) serve IMDB reviews
  and CoNLL sentences: texts/s at batch 64, p50/p99 latency of one text.
- `kernels`: the same model on random ids, fixed batch shapes
  (`--kernel-shapes`, default 32x200 64x200 256x200), every sequence full
  length: Keras' LSTM layers and the toolkit's hoisted `FastLSTM`, each with and
  without a mask (`--xla`: also Keras' with XLA `jit_compile`), rounds
  alternating. What the layers, the mask and XLA each cost or buy;
  `--bf16` adds Keras' layers under `mixed_bfloat16`, and the part times a
  large float32 and bfloat16 `tf.matmul` (the CPU's bfloat16 peak).
- `memory`: peak RSS of `kerasnlp-seq train sentiment --stream on` on
  generated 100 MB and 1 GB TSV files under /tmp (steps capped: the point
  is that memory stays flat as the file grows).

`--threads INTRA:INTER`: TensorFlow's intra-op and inter-op thread pools
in each part's process (e.g. `1:2`: one thread per op, two ops at once,
so a BiLSTM's two directions could run on the two cores side by side).
"""

import argparse
import json
import os
import random
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _results  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LSTM_FLOPS = 8  # per token per direction: 8 * h * (d + h)


def recurrent_flops_per_token(embedding=128, units=64, layers=2):
    """Training FLOPs of the BiLSTM stack per token (forward + backward, x3)."""
    total, d = 0, embedding
    for _ in range(layers):
        total += 2 * LSTM_FLOPS * units * (d + units)
        d = 2 * units
    return 3 * total


def matmul_flops(n=2048, repeat=10, dtype="float32"):
    """FLOP/s of a large `tf.matmul` (float32 or bfloat16) here, now."""
    import tensorflow as tf

    a = tf.cast(tf.random.normal([n, n]), dtype)
    b = tf.cast(tf.random.normal([n, n]), dtype)
    tf.matmul(a, b).numpy()
    start = time.perf_counter()
    for _ in range(repeat):
        c = tf.matmul(a, b)
    c.numpy()
    return 2 * n ** 3 * repeat / (time.perf_counter() - start)


thread_spec = _results.thread_spec  # `--threads INTRA:INTER`


def set_threads(intra, inter):
    """TensorFlow's thread pools (before any op runs; 0: its choice)."""
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(intra)
    tf.config.threading.set_inter_op_parallelism_threads(inter)


def build_model(vocab_size, mask, layers="toolkit", learning_rate=1e-3,
                precision="none"):
    """Embedding 128 -> BiLSTM(64) x2 -> sigmoid (float32 output).

    `layers`: `toolkit` (the builder's defaults), `hoisted` (the builder
    with `hoist_inputs=True`) or `keras` (as keras.io writes it).
    `precision`: the dtype policy the layers are built under, as the
    toolkit's `--mixed-precision` takes it (`none`, `mixed_bfloat16`).
    """
    from kerasnlp_seq.training import precision_policy

    with precision_policy(precision):
        return _build_model(vocab_size, mask, layers, learning_rate)


def _build_model(vocab_size, mask, layers, learning_rate):
    import keras

    from kerasnlp_seq.builder import build_recurrent

    inputs = keras.Input((None,), dtype="int32")
    x = keras.layers.Embedding(vocab_size, 128, mask_zero=mask)(inputs)
    if layers in ("toolkit", "hoisted"):
        x = build_recurrent(cell="lstm", units=64, num_layers=2,
                            bidirectional=True,
                            hoist_inputs=layers == "hoisted")(x)
    else:  # as keras.io writes it
        x = keras.layers.Bidirectional(keras.layers.LSTM(
            64, return_sequences=True))(x)
        x = keras.layers.Bidirectional(keras.layers.LSTM(64))(x)
    outputs = keras.layers.Dense(1, activation="sigmoid", dtype="float32")(x)
    model = keras.Model(inputs, outputs)
    model.compile(keras.optimizers.Adam(learning_rate), "binary_crossentropy",
                  metrics=["accuracy"])
    return model


def part_train(args):
    import keras
    import numpy as np
    import tensorflow as tf

    from kerasnlp_seq import pipeline, readers
    from kerasnlp_seq.text import Vocabulary

    rows = readers.read_table(
        _results.data_path("imdb", "imdb_train.csv.gz"),
        {"text": "review", "label": "sentiment"})
    random.Random(1337).shuffle(rows)  # the file lists positives first
    rows = rows[:args.limit]
    n_valid = len(rows) // 10
    splits = {"valid": rows[:n_valid], "train": rows[n_valid:]}
    vocab = Vocabulary.adapt((r["text"] for r in splits["train"]), 20000)
    ids, labels = {}, {}
    for name, part in splits.items():
        ids[name] = []
        for i in range(0, len(part), 2048):
            texts = [r["text"] for r in part[i:i + 2048]]
            ids[name] += [row.tolist() for row in
                          vocab.encode(texts).numpy()]
        ids[name] = [[t for t in row if t] or [1] for row in ids[name]]
        labels[name] = np.array([r["label"] == "positive" for r in part],
                                dtype="float32")
    # (a)'s reviews: whole, or their last --max-length tokens.
    kept = {name: [row[-args.max_length:] if args.max_length else row
                   for row in rows_]
            for name, rows_ in ids.items()}
    longest = max(len(r) for r in kept["train"] + kept["valid"])

    def toolkit(name, training, pre_pad=False):
        ragged = tf.ragged.constant(kept[name], dtype=tf.int32)
        ds = tf.data.Dataset.from_tensor_slices((ragged, labels[name]))
        def dense(x, y):  # reversed rows, padded after, reversed back
            x = x.to_tensor() if isinstance(x, tf.RaggedTensor) else x
            return (tf.reverse(x, [0]) if pre_pad else x), y

        ds = ds.map(dense).cache()
        if training:
            ds = ds.shuffle(len(kept[name]), seed=1,
                            reshuffle_each_iteration=True)
        ds = pipeline.bucketed_batches(
            ds, args.max_batch, longest, lambda x, y: tf.shape(x)[0],
            bucket=training, batch_tokens=args.batch_tokens)
        if pre_pad:
            ds = ds.map(lambda x, y: (tf.reverse(x, [1]), y))
        return pipeline.finish(ds, training, seed=1)

    def kerasio(name):
        return keras.utils.pad_sequences(ids[name], maxlen=200,
                                         padding="pre", truncating="pre")

    full = sum(len(r) for r in kept["train"])
    real = {"a": full, "a_hoisted": full, "a2": full, "a_bf16": full,
            "b": sum(min(len(r), 200) for r in ids["train"])}
    keys = (["a"] + ["a_hoisted"] * args.hoisted + ["a2"] * args.unmasked
            + ["a_bf16"] * args.bf16 + ["b"])
    recipes = {  # key: (mask, layers, pre_pad); b is keras.io's own data
        "a": (True, "toolkit", False), "a_hoisted": (True, "hoisted", False),
        "a2": (False, "toolkit", True), "a_bf16": (True, "toolkit", False),
        "b": (False, "keras", None)}
    models, data, valid = {}, {}, {}
    for key in keys:
        mask, layers, pre_pad = recipes[key]
        keras.utils.set_random_seed(1)  # each recipe's init, whatever runs
        lr = 1e-3 if key == "b" else args.toolkit_lr
        models[key] = build_model(
            vocab.size, mask, layers=layers, learning_rate=lr,
            precision="mixed_bfloat16" if key == "a_bf16" else "none")
        if key == "b":
            data[key] = (kerasio("train"), labels["train"])
            valid[key] = (kerasio("valid"), labels["valid"])
        else:
            data[key] = (toolkit("train", True, pre_pad=pre_pad),)
            valid[key] = (toolkit("valid", False, pre_pad=pre_pad),)
    epochs = {key: [] for key in keys}
    flops = []
    for epoch in range(args.epochs):
        for key in keys:
            flops.append(matmul_flops())
            load = os.getloadavg()[0]
            start = time.perf_counter()
            kw = {"batch_size": 32, "shuffle": True} if key == "b" else {}
            models[key].fit(*data[key], epochs=1, verbose=2, **kw)
            seconds = time.perf_counter() - start
            metrics = models[key].evaluate(*valid[key], verbose=0,
                                           return_dict=True)
            epochs[key].append({"seconds": seconds, "load": load,
                                "val_accuracy": metrics["accuracy"]})
            print(key, epoch, epochs[key][-1], flush=True)
    return {"epochs": epochs, "real_tokens": real, "matmul_flops": flops,
            "train": len(ids["train"]), "valid": len(ids["valid"]),
            "longest": longest, "batch_tokens": args.batch_tokens,
            "max_batch": args.max_batch, "max_length": args.max_length,
            "toolkit_lr": args.toolkit_lr,
            "flops_per_token": recurrent_flops_per_token()}


def _serving_times(path, texts, batch=64, singles=200):
    import numpy as np
    import tensorflow as tf

    serve = tf.saved_model.load(path).signatures["serving_default"]
    serve(text=tf.constant(texts[:batch]))  # trace warm-up
    serve(text=tf.constant(texts[:1]))
    start, done = time.perf_counter(), 0
    for i in range(0, len(texts) - batch + 1, batch):
        serve(text=tf.constant(texts[i:i + batch]))
        done += batch
    rate = done / (time.perf_counter() - start)
    latencies = []
    for text in texts[:singles]:
        t = time.perf_counter()
        serve(text=tf.constant([text]))
        latencies.append(1000 * (time.perf_counter() - t))
    return {"texts_per_s": rate, "p50_ms": float(np.percentile(latencies, 50)),
            "p99_ms": float(np.percentile(latencies, 99))}


def part_inference(args):
    """Serving speed; the runs it trains go in a temporary folder, removed
    at the end."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="throughput_") as work:
        return _inference(work)


def _inference(work):
    from kerasnlp_seq import readers, runs
    from kerasnlp_seq.conll import read_conll

    out = {}
    reviews = [r["text"] for r in readers.read_table(
        _results.data_path("imdb", "imdb_train.csv.gz"),
        {"text": "review", "label": "sentiment"}, limit=1280)]
    sentences = [" ".join(s["tokens"]) for s in read_conll(
        _results.data_path("conll2003", "eng.testa"))][:1280]
    for task, texts in (("sentiment", reviews), ("ner", sentences)):
        task_config, train_config = runs.resolve_config(
            task, overrides={"epochs": 1})
        run, _ = runs.train(task, output=os.path.join(work, task),
                            task_config=task_config,
                            train_config=train_config, verbose=0)
        out[task] = _serving_times(os.path.join(run, "saved_model"), texts)
        out[task]["load"] = os.getloadavg()[0]
        print(task, out[task], flush=True)
    return out


def make_file(path, megabytes):
    """A TSV of IMDB reviews, each line made unique, to `megabytes` MB."""
    if os.path.exists(path) and os.path.getsize(path) >= megabytes * 1e6:
        return path
    from kerasnlp_seq import readers

    rows = readers.read_table(_results.data_path("imdb", "imdb_train.csv.gz"),
                              {"text": "review", "label": "sentiment"})
    random.Random(0).shuffle(rows)  # the file lists positives first
    size, i = 0, 0
    with open(path, "w", encoding="utf-8") as f:
        f.write("text\tlabel\n")
        while size < megabytes * 1e6:
            r = rows[i % len(rows)]
            text = " ".join(r["text"].split())  # no tabs or newlines
            line = f"copy {i // len(rows)}: {text}\t{r['label']}\n"
            f.write(line)
            size += len(line.encode("utf-8"))
            i += 1
    return path


def part_memory(args):
    out = {}
    valid = make_file("/tmp/throughput_valid.tsv", 1)
    runs = [(mb, "on") for mb in args.sizes]
    runs += [(mb, "off") for mb in args.in_memory]
    for megabytes, stream in runs:
        data = make_file(f"/tmp/throughput_{megabytes}mb.tsv", megabytes)
        cmd = [sys.executable, os.path.join(ROOT, "cli.py"), "train",
               "sentiment", "--data", data, "--valid", valid, "--stream", stream,
               "--steps-per-epoch", str(args.steps), "--epochs", "1",
               "--units", "32", "--output", f"/tmp/throughput_run_{megabytes}",
               "--overwrite", "--quiet"]
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        output = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)
        if status != 0:
            raise SystemExit(f"memory run failed:\n{output[-3000:]}")
        key = str(megabytes) if stream == "on" else f"{megabytes} in memory"
        out[key] = {
            "peak_rss_mb": usage.ru_maxrss / 1024,
            "seconds": time.perf_counter() - start,
            "file_mb": os.path.getsize(data) / 1e6,
            "load": os.getloadavg()[0]}
        print(key, out[key], flush=True)
    return out


def part_kernels(args):
    import keras
    import numpy as np

    rng = np.random.default_rng(0)
    variants = {}  # name: (layers, mask, jit, dtype policy)
    for mask in (False, True):
        prefix = "masked" if mask else "unmasked"
        variants[f"keras {prefix}"] = ("keras", mask, False, "none")
        variants[f"hoisted {prefix}"] = ("hoisted", mask, False, "none")
        if args.xla:
            variants[f"keras {prefix} + XLA"] = ("keras", mask, True, "none")
        if args.bf16:
            variants[f"keras {prefix} + bf16"] = ("keras", mask, False,
                                                  "mixed_bfloat16")
    out = []
    for batch, length in args.kernel_shapes:
        shape = f"{batch}x{length}"
        n = batch * args.kernel_batches
        x = rng.integers(1, 20000, (n, length)).astype("int32")
        y = rng.integers(0, 2, (n, 1)).astype("float32")
        models = {}
        for name, (layers, mask, jit, policy) in variants.items():
            keras.utils.set_random_seed(0)
            model = build_model(20000, mask, layers=layers, precision=policy)
            model.compile("adam", "binary_crossentropy", jit_compile=jit)
            model.fit(x[:batch], y[:batch], batch_size=batch,
                      verbose=0)  # trace
            models[name] = model
        rates = {name: [] for name in variants}
        load = os.getloadavg()[0]
        for _ in range(args.rounds):
            for name, model in models.items():
                start = time.perf_counter()
                model.fit(x, y, batch_size=batch, epochs=1, verbose=0)
                rates[name].append(len(x) * length /
                                   (time.perf_counter() - start))
                print(shape, name, f"{rates[name][-1]:.0f} tokens/s",
                      flush=True)
        out.append({"shape": [batch, length], "load": load,
                    "tokens_per_s": {k: max(v) for k, v in rates.items()}})
    matmul = {dtype: max(matmul_flops(dtype=dtype) for _ in range(3))
              for dtype in ("float32", "bfloat16")}
    return {"runs": out, "matmul": matmul}


PARTS = {"train": part_train, "inference": part_inference,
         "kernels": part_kernels, "memory": part_memory}


def recorded_args(args):
    """The options that shape a part's results (not where they go)."""
    return {k: v for k, v in vars(args).items()
            if k not in ("child", "no_write", "results", "parts")}


def part_arguments(result, args):
    """The options a part's result was produced with: those it recorded
    (`"args"`), else (results from before they were recorded) `args`."""
    return result.get("args") or recorded_args(args)


def report(results, args):
    """The RESULTS.md section from the parts' results (each described by
    the options of the run that produced it, not by this run's)."""
    lines = [
        "### Throughput, hardware use, serving, streaming memory (issue 7)",
        "", f"On {_results.machine()}. No GPU "
        "in this session: the GPU rows of the issue (cuDNN on/off, mixed "
        "precision speed-up) are not measured. The cores are shared with "
        "other agents' work; `load` is the 1-minute load average when each "
        "timing started, and ratios are taken side by side in one process.",
        "", "Commands (each part's results come from the command shown, "
        "run with the options shown):",
        ""] + [f"- {part}: `{r['command']}`" + (
            f" (options: `{json.dumps(r['args'], sort_keys=True)}`)"
            if r.get("args") else " (options not recorded)")
               for part, r in results.items()
               if isinstance(r, dict) and "command" in r] + [""]
    train = results.get("train")
    if train:
        rows, summary = [], {}
        budget = (f"{train['batch_tokens']} tokens/batch (max "
                  f"{train['max_batch']})")
        reviews = (f"last {train['max_length']} tokens of each review"
                   if train.get("max_length") else "full reviews")
        names = {"a": f"toolkit: {reviews}, bucketed, {budget}, masked",
                 "a_hoisted": f"toolkit with hoist_inputs=True (FastLSTM): "
                              f"{reviews}, bucketed, {budget}, masked",
                 "a2": f"toolkit pipeline, no mask: {reviews}, bucketed, "
                       f"{budget}, padded before (as keras.io)",
                 "a_bf16": f"(a) under mixed_bfloat16: {reviews}, bucketed, "
                           f"{budget}, masked",
                 "b": "keras.io: pad/truncate 200 (pre), batch 32, no mask"}
        for key in train["epochs"]:
            name = names[key]
            eps = train["epochs"][key]
            per_epoch = [e["seconds"] for e in eps]
            rate = train["real_tokens"][key] / (sum(per_epoch) / len(eps))
            summary[key] = rate
            rows.append({
                "recipe": f"({key}) {name}",
                "s/epoch": " / ".join(f"{s:.0f}" for s in per_epoch),
                "load": " / ".join(f"{e['load']:.1f}" for e in eps),
                "real tokens/epoch": train["real_tokens"][key],
                "real tokens/s": rate,
                "val accuracy by epoch": " / ".join(
                    f"{e['val_accuracy']:.4f}" for e in eps)})
        total = train["train"] + train["valid"]
        subset = (f", a seeded random {total} of its 25000"
                  if total < 25000 else "")
        lines += [f"**Training** (IMDB train half{subset}: {train['train']} "
                  f"train / {train['valid']} valid reviews, embedding 128 -> "
                  "BiLSTM(64) x2 -> sigmoid, Adam, learning rate "
                  f"{train.get('toolkit_lr', 1e-3):g} for the toolkit's "
                  "recipes and 1e-3 for keras.io's, "
                  f"{len(train['epochs']['a'])} epoch(s) each, alternating; "
                  f"longest review {train['longest']} tokens)", "",
                  _results.table(rows, ["recipe", "s/epoch", "load",
                                        "real tokens/epoch", "real tokens/s",
                                        "val accuracy by epoch"]), "",
                  "Ratio a/b of real tokens/s over all epochs: "
                  f"**{summary['a'] / summary['b']:.2f}**; in the last epoch "
                  "alone (after the first epoch has traced every bucket "
                  "shape): **" + "{:.2f}".format(
                      (train["real_tokens"]["a"] /
                       train["epochs"]["a"][-1]["seconds"]) /
                      (train["real_tokens"]["b"] /
                       train["epochs"]["b"][-1]["seconds"])) + "**"
                  " (goal >= 2.0 at equal or better accuracy)" + (
                      f"; a2/b: **{summary['a2'] / summary['b']:.2f}**"
                      if "a2" in summary else "") + (
                      f"; a_bf16/b: **{summary['a_bf16'] / summary['b']:.2f}**"
                      if "a_bf16" in summary else "") + (
                      f"; a_hoisted/a (the layers alone): "
                      f"**{summary['a_hoisted'] / summary['a']:.2f}**"
                      if "a_hoisted" in summary else "") + ".", ""]
        peak = max(train["matmul_flops"])
        per_token = train["flops_per_token"]
        lines += [
            "**Closeness to the limit**: recurrent training FLOPs counted as "
            "8·h·(d+h) per token per direction, x3 for forward + backward "
            f"= {per_token / 1e6:.3f} MFLOP per real token; matmul ceiling "
            "= best of the 2048x2048 float32 `tf.matmul` timings taken "
            "before each epoch "
            f"({', '.join(f'{f / 1e9:.1f}' for f in train['matmul_flops'])}"
            " GFLOP/s).", "",
            _results.table([{
                "recipe": f"({key})", "recurrent GFLOP/s":
                    summary[key] * per_token / 1e9,
                "fraction of matmul": summary[key] * per_token / peak}
                for key in summary],
                ["recipe", "recurrent GFLOP/s", "fraction of matmul"]), ""]
    inference = results.get("inference")
    if inference:
        lines += ["**Serving** (`tf.saved_model.load` of each task's export "
                  "after a one-epoch run on the bundled sample; IMDB reviews "
                  "for sentiment, CoNLL-2003 testa sentences for NER)", "",
                  _results.table([dict(task=k, **v)
                                  for k, v in inference.items()
                                  if isinstance(v, dict)],
                                 ["task", "texts_per_s", "p50_ms", "p99_ms",
                                  "load"]), ""]
    kernels = results.get("kernels")
    if kernels:
        rows = []
        for run in kernels.get("runs", []):
            rates = run["tokens_per_s"]
            for name, rate in rates.items():
                masking = "masked" if " masked" in name else "unmasked"
                rows.append({
                    "batch x length": "x".join(map(str, run["shape"])),
                    "variant": name, "tokens/s": rate,
                    "vs keras, same mask": rate / rates[f"keras {masking}"],
                    "load": run["load"]})
        lines += ["**Kernels** (the same model on random ids, every "
                  "sequence full length; best of the alternating rounds; "
                  "`keras`: `keras.layers.LSTM`, `hoisted`: the builder's "
                  "`hoist_inputs=True` layers, `FastLSTM`)", "",
                  _results.table(rows, ["batch x length", "variant",
                                        "tokens/s", "vs keras, same mask",
                                        "load"]), ""]
        matmul = kernels.get("matmul")
        if matmul:
            peaks = ", ".join(f"{dtype} {flops / 1e9:.0f} GFLOP/s"
                              for dtype, flops in matmul.items())
            ratio = matmul["bfloat16"] / matmul["float32"]
            lines += [f"2048x2048 `tf.matmul`, best of 3: {peaks} "
                      f"(bfloat16 / float32: **{ratio:.2f}**).", ""]
    memory = results.get("memory")
    if memory:
        sizes = sorted((k for k in memory if k.isdigit()), key=float)
        steps = part_arguments(memory, args).get("steps", args.steps)
        lines += ["**Streaming memory** (`kerasnlp-seq train sentiment "
                  f"--stream on --steps-per-epoch {steps} --epochs 1 "
                  "--units 32` on generated TSV files; peak RSS of the "
                  "training process)", "",
                  _results.table([dict(file=f"{k} MB", **memory[k])
                                  for k in sizes] + [
                      dict(file=f"{k.split()[0]} MB, --stream off (list)",
                           **memory[k]) for k in memory if k.endswith("memory")],
                                 ["file", "file_mb", "peak_rss_mb", "seconds",
                                  "load"]), ""]
        if len(sizes) > 1:
            ratio = memory[sizes[-1]]["peak_rss_mb"] / \
                memory[sizes[0]]["peak_rss_mb"]
            lines.append(f"Peak memory ratio {sizes[-1]} MB / {sizes[0]} MB: "
                         f"**{ratio:.2f}** (goal < 1.5).")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--parts", nargs="*", default=list(PARTS),
                        choices=list(PARTS))
    P = _results.positive_int
    parser.add_argument("--epochs", type=P, default=2)
    parser.add_argument("--limit", type=P, default=None,
                        help="IMDB reviews used, a seeded random subset "
                        "(default: all 25000)")
    parser.add_argument("--batch-tokens", type=P, default=32768)
    parser.add_argument("--max-batch", type=P, default=256)
    parser.add_argument("--toolkit-lr", type=_results.positive_float,
                        default=1e-3,
                        help="train part: Adam learning rate of the toolkit's "
                        "recipes (larger batches take fewer, larger steps); "
                        "keras.io's keeps 1e-3")
    parser.add_argument("--max-length", type=P, default=None,
                        help="train part: (a) keeps each review's last N "
                        "tokens (default: whole reviews)")
    parser.add_argument("--sizes", nargs="+", type=P, default=[100, 1000],
                        help="generated file sizes in MB (memory part)")
    parser.add_argument("--steps", type=P, default=30)
    parser.add_argument("--kernel-shapes", nargs="+", type=_results.shape,
                        default=[(32, 200), (64, 200), (256, 200)],
                        metavar="BATCHxLENGTH",
                        help="batch shapes of the kernels part")
    parser.add_argument("--kernel-batches", type=P, default=20,
                        help="batches per timing in the kernels part")
    parser.add_argument("--xla", action="store_true",
                        help="kernels part: also Keras' layers under XLA")
    parser.add_argument("--bf16", action="store_true",
                        help="train part: also (a) under mixed_bfloat16 "
                        "(a_bf16); kernels part: also Keras' layers under "
                        "mixed_bfloat16")
    parser.add_argument("--hoisted", action="store_true",
                        help="train part: also the toolkit with "
                        "hoist_inputs=True")
    parser.add_argument("--rounds", type=P, default=3,
                        help="alternating rounds of the kernels part")
    parser.add_argument("--in-memory", nargs="*", type=P, default=[],
                        help="sizes also run with --stream off, to compare")
    parser.add_argument("--unmasked", action="store_true",
                        help="also time the toolkit pipeline without a mask")
    parser.add_argument("--threads", metavar="INTRA:INTER", type=thread_spec,
                        help="TensorFlow's intra-op and inter-op thread "
                        "pools for the parts (0: TensorFlow's choice, the "
                        "default), set before TensorFlow starts, as "
                        "tf.config.threading does")
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--child", choices=list(PARTS), help=argparse.SUPPRESS)
    parser.add_argument("--results", default="/tmp/throughput_results.json",
                        help="where the parts' results accumulate")
    args = parser.parse_args()
    if args.child:  # one part, in this process; JSON on the last line
        if args.threads:
            set_threads(*args.threads)
        print("RESULT " + json.dumps(PARTS[args.child](args)), flush=True)
        return
    results = {}
    if os.path.exists(args.results):
        with open(args.results, encoding="utf-8") as f:
            results = json.load(f)
    failed = []
    for part in args.parts:
        cmd = [sys.executable, os.path.abspath(__file__), "--child", part]
        cmd += sys.argv[1:]
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)
        last = [line for line in proc.stdout.splitlines()
                if line.startswith("RESULT ")]
        print(proc.stdout[-4000:], flush=True)
        if proc.returncode or not last:
            print(f"part {part} failed (exit {proc.returncode})", flush=True)
            failed.append(part)
            continue
        results[part] = json.loads(last[-1][len("RESULT "):])
        results[part]["command"] = _results.command_line()
        results[part]["args"] = recorded_args(args)
        with open(args.results, "w", encoding="utf-8") as f:
            json.dump(results, f, indent=1)
    body = report(results, args)
    print(body)
    if failed:  # a report with stale parts in their place: not written
        _results.fail(f"part(s) {', '.join(failed)} failed; "
                 f"{'RESULTS.md left as it was; ' if not args.no_write else ''}"
                 f"the parts that ran are in {args.results}")
    if not args.no_write:
        _results.write_section("throughput", body)


if __name__ == "__main__":
    _results.guard(main)
