"""The `kerasnlp-seq` command line: parse, make one library call, print.

Every command maps to a function in `kerasnlp_seq.runs` (or another library
module) that a script can call directly. TensorFlow is imported only by the
commands that need it, so `kerasnlp-seq --help` and `kerasnlp-seq tasks`
answer at once. Library errors (bad data, bad options, bad run directories)
become one-line messages with exit code 1; bad arguments exit with 2.
"""

import dataclasses
import json
import logging
import os
import sys

import click

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _library_errors(fn):
    """Start TensorFlow quietly (`kerasnlp_seq.quiet_start`), then turn the
    toolkit's user-facing errors into one-line Click errors."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from kerasnlp_seq.errors import KerasNLPSeqError
        from kerasnlp_seq.quiet_start import start_tensorflow

        start_tensorflow()
        try:
            return fn(*args, **kwargs)
        except KerasNLPSeqError as e:
            raise click.ClickException(str(e)) from None

    return wrapper


def _config_options(config_cls, defaults=None):
    """Click options for the fields of a config dataclass.

    A renamed field (`config.renamed_fields`) also gets a hidden option
    under its old name, which `_overrides` reads as the new one.
    """
    from kerasnlp_seq.config import renamed_fields

    fields = {f.name: f for f in dataclasses.fields(config_cls)}
    options = []
    for f in fields.values():
        default = (defaults or {}).get(f.name, f.default)
        options.append(_field_option(config_cls, f, f.name, default,
                                     help=f.metadata.get("help", "")))
    for old, new in renamed_fields(config_cls).items():
        options.append(_field_option(
            config_cls, fields[new], old, None, param=_OLD + old, hidden=True,
            help=f"Old name of --{new.replace('_', '-')}."))
    return options


_OLD = "old_name_"  # parameter-name prefix of the renamed fields' options


def _field_option(config_cls, f, name, default, param=None, **kwargs):
    from kerasnlp_seq.config import field_type

    flag = "--" + name.replace("_", "-")
    param = param or f.name
    tp = field_type(config_cls, f)
    if tp is bool:
        return click.Option([f"{flag}/--no-{flag[2:]}", param],
                            default=default, show_default=True, **kwargs)
    choices = f.metadata.get("choices")
    if choices:
        ptype = click.Choice([c for c in choices if c is not None])
    else:
        ptype = {int: int, float: float}.get(tp, str)
    return click.Option([flag, param], type=ptype, default=default,
                        show_default=True, **kwargs)


def _overrides(ctx, config_cls):
    """The config fields the user set on the command line."""
    from click.core import ParameterSource
    from kerasnlp_seq.config import renamed_fields

    def given(param):
        return ctx.get_parameter_source(param) == ParameterSource.COMMANDLINE

    values = {f.name: ctx.params[f.name] for f in dataclasses.fields(config_cls)
              if given(f.name)}
    for old, new in renamed_fields(config_cls).items():
        if given(_OLD + old):
            flags = [f"--{n.replace('_', '-')}" for n in (old, new)]
            if new in values:
                raise click.UsageError(
                    f"{flags[0]} is the old name of {flags[1]}; give only "
                    f"{flags[1]}.")
            click.echo(f"{flags[0]} is now {flags[1]}; the old name will "
                       "go in a later release.", err=True)
            values[new] = ctx.params[_OLD + old]
    return values


class TrainGroup(click.Group):
    """`train TASK`: one subcommand per registered task, built on demand."""

    def list_commands(self, ctx):
        from kerasnlp_seq.registry import task_names

        return task_names()

    def get_command(self, ctx, name):
        from kerasnlp_seq.config import TrainConfig
        from kerasnlp_seq.registry import get_task_class
        from kerasnlp_seq.errors import ConfigError

        try:
            task_cls = get_task_class(name)
        except ConfigError:
            return None

        @_library_errors
        def run(**params):
            from kerasnlp_seq import runs

            ctx = click.get_current_context()
            overrides = {**_overrides(ctx, task_cls.Config),
                         **_overrides(ctx, TrainConfig)}
            if params["resume"]:
                given = dict(overrides, **{k: params[k] for k in (
                    "data", "valid", "config", "overwrite") if params[k]})
                changed = [f"--{k.replace('_', '-')}" for k in
                           runs.resume_changes(
                               params["output"] or os.path.join("runs", name),
                               given)]
                if changed:
                    raise click.UsageError(
                        f"--resume continues the run as it was started; "
                        f"{', '.join(changed)} cannot change it (start a new "
                        "run to change them).")
            task_config, train_config = runs.resolve_config(
                name, params["config"], overrides)
            note = runs.data_notice(name, params["config"], params["data"],
                                    task_config)
            if note:
                click.echo(note, err=True)
            run_dir, metrics = runs.train(
                name, data=params["data"], valid=params["valid"],
                output=params["output"], task_config=task_config,
                train_config=train_config, overwrite=params["overwrite"],
                resume=params["resume"],
                verbose=2 if params["quiet"] else "auto",
                echo=lambda m: click.echo(m, err=True))
            click.echo(f"Run directory: {run_dir}")
            click.echo(_format_metrics(metrics))

        params = [
            click.Option(["--data"], help="Training data: a file, a folder, "
                         "or tfds:NAME[?split=S]. Default: bundled sample."),
            click.Option(["--valid"], help="Validation data (default: a "
                         "held-back fraction of --data)."),
            click.Option(["--output", "-o"], help="Run directory "
                         f"(default: runs/{name})."),
            click.Option(["--config"], type=click.Path(dir_okay=False),
                         help="JSON file of options (e.g. a run's "
                         "config.json: its options, not its data; give "
                         "--data); command-line options override it."),
            click.Option(["--overwrite"], is_flag=True,
                         help="Replace an existing run directory."),
            click.Option(["--resume"], is_flag=True,
                         help="Continue an interrupted run in --output."),
            click.Option(["--quiet", "-q"], is_flag=True,
                         help="One line per epoch instead of a progress bar."),
        ] + _config_options(TrainConfig, task_cls.train_defaults) \
            + _config_options(task_cls.Config)
        return click.Command(name, callback=run, params=params,
                             help=task_cls.summary,
                             short_help=task_cls.summary)


def _format_metrics(metrics):
    return "\n".join(f"{k:>24}  {v:.4f}" if isinstance(v, float)
                     else f"{k:>24}  {v}" for k, v in sorted(metrics.items()))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="kerasnlp-seq")
def main():
    """kerasnlp-seq: applied NLP with recurrent networks (Keras 3)."""
    _show_warnings()


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever `sys.stderr` is at the time of each record."""

    def __init__(self):
        super().__init__()
        self.setLevel(logging.WARNING)

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value):
        pass


def _show_warnings():
    """The toolkit's warnings (skipped examples, truncations) on stderr,
    one line each; `runs.train` also writes them to the run's train.log."""
    log = logging.getLogger("kerasnlp_seq")
    if not any(isinstance(h, _StderrHandler) for h in log.handlers):
        log.addHandler(_StderrHandler())


@main.command("tasks")
def tasks_command():
    """List the tasks and their options."""
    from kerasnlp_seq.registry import get_task_class, task_names

    for name in task_names():
        cls = get_task_class(name)
        click.echo(f"{name}: {cls.summary}")
        for f in dataclasses.fields(cls.Config):
            flag = "--" + f.name.replace("_", "-")
            click.echo(f"    {flag:<24} {f.metadata.get('help', '')} "
                       f"[default: {f.default}]")


main.add_command(TrainGroup("train", help="Train a task: `train TASK`."))


def _inference_options(fn):
    """`--set KEY=VALUE` (repeatable): a run's `inference_options` for one
    command."""
    return click.option(
        "--set", "options", multiple=True, metavar="KEY=VALUE",
        callback=_parse_assignments,
        help="Change a setting of the run for this command: how --data is "
        "read (e.g. label_column, columns, source, image_root) or how "
        "answers are made (e.g. beam_width, length_penalty, min_length, "
        "spam's threshold). What the weights depend on cannot change; the "
        "error lists what can. Repeatable.")(fn)


def _parse_assignments(ctx, param, values):
    options = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"expected KEY=VALUE, got {item!r}.",
                                     ctx=ctx, param=param)
        options[key.strip().replace("-", "_")] = value.strip()
    return options


@main.command("evaluate")
@click.argument("run_dir", type=click.Path())
@click.option("--data", required=True, help="Data to score (file, folder, "
              "or tfds:NAME[?split=S]).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@_inference_options
@_library_errors
def evaluate_command(run_dir, data, as_json, options):
    """Score a finished run on labelled data."""
    from kerasnlp_seq import runs

    metrics = runs.evaluate(run_dir, data, options)
    click.echo(json.dumps(metrics, indent=2, sort_keys=True) if as_json
               else _format_metrics(metrics))


@main.command("predict")
@click.argument("run_dir", type=click.Path())
@click.argument("inputs", nargs=-1)
@click.option("--file", "input_file", type=click.Path(dir_okay=False),
              help="Read inputs from a UTF-8 file, one per line.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]),
              default="text", show_default=True)
@click.option("--attention-plot", type=click.Path(dir_okay=False),
              help="Draw the attention of the first input into this PNG "
              "(tasks with attention: translation, captioning).")
@_inference_options
@_library_errors
def predict_command(run_dir, inputs, input_file, fmt, attention_plot,
                    options):
    """Predict for INPUTS (or --file, or standard input, one per line)."""
    from kerasnlp_seq import runs

    if input_file is not None and inputs:
        raise click.UsageError("give inputs as arguments or with --file, "
                               "not both.")
    lines = list(inputs) or _input_lines(input_file)
    if not any(line.strip() for line in lines):
        raise click.UsageError(
            f"no input: {input_file} has no non-blank line." if input_file
            else "no input: give texts, --file, or stdin.")
    task, answers = runs.predict(run_dir, lines,
                                 attention_plot=attention_plot,
                                 options=options)
    # A blank input has no answer and keeps its place (an empty line, a
    # record without an answer), so the output lines up with the input.
    rows = list(zip(lines, answers))
    if fmt == "json":
        click.echo(json.dumps(
            [{"input": raw, **answer} if answer is not None
             else {"input": raw, "skipped": "empty input"}
             for raw, answer in rows], indent=2, ensure_ascii=False))
    else:
        for raw, answer in rows:
            click.echo(task.format_prediction(raw, answer)
                       if answer is not None else "")
    if attention_plot:
        click.echo(f"Attention plot written to {attention_plot}", err=True)


def _input_lines(input_file):
    """Lines of `--file` or of standard input, strictly UTF-8."""
    from kerasnlp_seq import readers

    lines = (readers.open_lines(input_file) if input_file is not None
             else readers.decode_lines(sys.stdin.buffer, "<stdin>"))
    return [text.rstrip("\r\n") for _, text in lines]


@main.command("export")
@click.argument("run_dir", type=click.Path())
@click.option("--output", "-o", required=True, help="SavedModel directory.")
@click.option("--overwrite", is_flag=True, help="Replace --output.")
@_inference_options
@_library_errors
def export_command(run_dir, output, overwrite, options):
    """Export a run as a TensorFlow SavedModel (raw input, readable output)."""
    from kerasnlp_seq import runs

    path = runs.export(run_dir, output, overwrite=overwrite, options=options)
    click.echo(f"SavedModel written to {path} (signature: serving_default)")


@main.group("diagnose")
def diagnose_group():
    """Diagnostics of models and training."""


@diagnose_group.command("gradients")
@click.argument("run_dir", required=False, type=click.Path())
@click.option("--data", help="With RUN_DIR: data to measure on (default: "
              "the run's validation data).")
@click.option("--compare", default="simple_rnn,lstm,gru", show_default=True,
              help="Without RUN_DIR: cells to compare on the built-in "
              "long-range probe (comma-separated).")
@click.option("--seq-len", default=100, show_default=True,
              type=click.IntRange(min=2),
              help="Probe sequence length.")
@click.option("--units", default=32, show_default=True,
              type=click.IntRange(min=1),
              help="Probe model recurrent units.")
@click.option("--gate-bias", type=click.Choice(["keras", "chrono"]),
              default="chrono", show_default=True,
              help="Gate bias initialisation of the probe models: Keras's "
              "defaults, or chrono (gates open over seq-len steps).")
@click.option("--train-steps", default=0, show_default=True,
              type=click.IntRange(min=0),
              help="Train the probe models this many steps first.")
@click.option("--num-examples", default=64, show_default=True,
              type=click.IntRange(min=1),
              help="Examples in the measured batch.")
@click.option("--seed", default=0, show_default=True)
@click.option("--output", "-o", default="gradients", show_default=True,
              help="Output prefix: writes PREFIX.csv, .json and .png.")
@_library_errors
def diagnose_gradients_command(run_dir, data, compare, seq_len, units,
                               gate_bias, train_steps, num_examples, seed,
                               output):
    """Where gradients vanish or explode: ||dL/dx_t|| per time step.

    With RUN_DIR, measures a trained run on its validation data (models
    with one input and one output: word-level sentiment and spam). Without
    it, builds the same probe model with each cell of --compare and plots
    them together.
    """
    from kerasnlp_seq.diagnostics import write_results

    if run_dir:
        from kerasnlp_seq.diagnose import diagnose_run

        results = diagnose_run(run_dir, data, num_examples=num_examples)
    else:
        from kerasnlp_seq.probes import compare_cells

        results = compare_cells(cells=compare, seq_len=seq_len, units=units,
                                gate_bias=gate_bias, train_steps=train_steps,
                                probe_size=num_examples, seed=seed)
    paths = write_results(results, output)
    click.echo(f"{'model':<16} {'|dL/dx_0|':>12} {'|dL/dx_T|':>12} "
               f"{'ratio':>10} {'accuracy':>9}")
    for name, r in results["cells"].items():
        norms = r["input_grad_norms"]
        acc = r.get("accuracy")
        click.echo(f"{name:<16} {norms[0]:>12.3e} {norms[-1]:>12.3e} "
                   f"{r['first_last_ratio']:>10.2e} "
                   f"{'' if acc is None else f'{acc:.3f}':>9}")
    click.echo("wrote " + ", ".join(paths[k] for k in ("csv", "json", "png")))


if __name__ == "__main__":
    main()
