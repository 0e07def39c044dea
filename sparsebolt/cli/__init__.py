"""The ``sparsebolt`` command line: train, evaluate, predict, info and serve.

Exit codes: 0 success; 1 failure (a missing or damaged model, data or config file, bad
data, a server that cannot start; also, quietly, an output pipe closed early, as in
``| head``); 2 usage error (unknown option, bad option value, missing argument);
130 interrupted (Ctrl-C).
"""
import contextlib
import csv
import json
import math
import os
import sys
import tempfile
import warnings

import click
import numba

from .._version import __version__
from .._threads import set_num_threads
from ..serve.app import LOG_LEVELS  # the app's module imports FastAPI only when it serves
from ._input import FORMATS

EPILOG = ("Exit codes: 0 success; 1 failure (missing or damaged file, bad data, a value the library refuses such "
          "as an unknown metric); 2 usage error (unknown option, missing argument, option value out of its range "
          "or choices); 130 interrupted. Formats and examples: README.md, docs/file-format.md.")


@contextlib.contextmanager
def _failures():
    """Errors about files and data end the command with their message and exit code 1."""
    try:
        yield
    except BrokenPipeError:
        raise
    except (ValueError, OSError, ImportError) as e:
        raise click.ClickException(str(e)) from None


def _metrics_json(result):
    """``evaluate``'s metrics as one line of strict JSON: a metric that is not finite (NaN,
    such as the AUC of one class; an infinite error) is null, which JSON parsers take; NaN
    and Infinity they refuse."""
    return json.dumps({k: v if math.isfinite(v) else None for k, v in result.items()}, allow_nan=False)


def _threads(n):
    if n:
        set_num_threads(n)


_threads_option = click.option("--threads", type=click.IntRange(1, numba.config.NUMBA_NUM_THREADS),
                               help="Kernel threads (default: all cores).")
# a damaged array would otherwise be used as it is: mapped files skip the checksums unless asked
_no_verify_option = click.option("--no-verify", is_flag=True,
                                 help="Skip the arrays' checksums (read once over the whole file) when loading MODEL.")
_sparse_option = click.option("--sparse-inference", is_flag=True,
                              help="Compute only the output neurons the LSH tables retrieve (faster, may be less accurate).")


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100}, epilog=EPILOG)
@click.version_option(__version__, prog_name="sparsebolt")
def cli():
    """Train, inspect and serve LSH-sparse neural networks on CPUs."""


@cli.command(epilog=EPILOG)
@click.argument("config", type=click.Path(dir_okay=False))
@click.argument("train_data", type=click.Path(dir_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="Where to save the trained model.")
@click.option("--validation", type=click.Path(dir_okay=False),
              help="Labeled data evaluated after each epoch: multi-label SVM, or for a [columns] config a CSV "
                   "file with a header (which then also drives its automatic stopping, rate and calibration).")
@click.option("--epochs", type=click.IntRange(1), help="Override [train] epochs.")
@click.option("--learning-rate", type=click.FloatRange(0, min_open=True), help="Override [train] learning_rate.")
@click.option("--checkpoint-dir", type=click.Path(file_okay=False), help="Override [checkpoint] dir.")
@click.option("--checkpoint-every", type=click.IntRange(1), help="Override [checkpoint] every (batches).")
@click.option("--keep", type=click.IntRange(1), help="Override [checkpoint] keep.")
@click.option("--resume", is_flag=True, help="Continue from the newest checkpoint in the checkpoint directory.")
@click.option("--no-optimizer-state", is_flag=True, help="Save without Adam's moments (a third the size).")
@_threads_option
@click.option("-q", "--quiet", is_flag=True, help="No progress bars or epoch logs.")
def train(config, train_data, output, validation, epochs, learning_rate, checkpoint_dir, checkpoint_every, keep,
          resume, no_optimizer_state, threads, quiet):
    """Train a model described by CONFIG (TOML or JSON) on TRAIN_DATA (multi-label SVM)
    and save it to OUTPUT. A CONFIG with a [columns] table describes a UniversalDeepTransformer:
    TRAIN_DATA (and --validation) is then a CSV file with a header. See
    `sparsebolt.cli._config` or the README for the config keys."""
    from .. import data
    from ..train.augment import can_pin
    from ._config import (ConfigError, build_model, check_input_width, data_settings, is_automl, load_config,
                          train_settings)
    _threads(threads)
    _check_writable(output)
    with _failures():
        cfg = load_config(config)
        if is_automl(cfg):
            if checkpoint_dir or checkpoint_every or keep or resume:
                raise ConfigError("checkpoint options are for layer configs; a [columns] config trains a "
                                  "UniversalDeepTransformer, which keeps its best epoch instead")
            _train_automl(config, cfg, train_data, output, validation, epochs, learning_rate, no_optimizer_state,
                          quiet)
            return
        dataset = data.load_svm(train_data, **data_settings(config, cfg))
        check_input_width(cfg, dataset)
        model = build_model(config, cfg, dataset.n_features, dataset.n_labels)
        kwargs = train_settings(config, cfg)
        for name, value in (("epochs", epochs), ("learning_rate", learning_rate), ("checkpoint_dir", checkpoint_dir),
                            ("checkpoint_every", checkpoint_every), ("keep", keep)):
            if value is not None:
                kwargs[name] = value
        val = None
        if validation:
            val = data.load_svm(validation, batch_size=2048, n_features=dataset.n_features, n_labels=dataset.n_labels)
        elif kwargs["metrics"]:
            click.echo("note: [train] metrics need --validation; training without them", err=True)
            kwargs["metrics"] = []
        if not quiet:
            click.echo(model.summary(), err=True)
        pin = kwargs.pop("pin_labels")
        if pin and not can_pin(model):
            # refused before training, so no trained model is lost to it
            raise ConfigError(f"{config}: [train] pin_labels needs an output layer with sparsity < 1 and hash "
                              f"tables (not sampling 'random'); '{model.output.layer.name}' has none.")
        model.train(dataset, validation=val, verbose=not quiet, resume=resume, **kwargs)
        if pin:
            model.pin_labels(dataset, verbose=not quiet)
        model.save(output, optimizer_state=not no_optimizer_state)
    if not quiet:
        click.echo(f"saved {output} ({os.path.getsize(output) / 1e6:,.1f} MB)", err=True)


def _check_writable(output):
    """Refuse an output the model could not be saved to before training, which would be lost."""
    folder = os.path.dirname(os.path.abspath(output))
    if not os.path.isdir(folder):
        raise click.ClickException(f"Cannot save the model to {output}: there is no directory {folder}.")
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as e:
        raise click.ClickException(f"Cannot save the model to {output}: cannot write in {folder} ({e}).") from None


def _train_automl(config, cfg, train_data, output, validation, epochs, learning_rate, no_optimizer_state, quiet):
    from ..train.augment import can_pin
    from ._config import ConfigError, automl_train_settings, build_automl
    udt = build_automl(config, cfg)
    kwargs = automl_train_settings(config, cfg)
    for name, value in (("epochs", epochs), ("learning_rate", learning_rate)):
        if value is not None:
            kwargs[name] = value
    pin = kwargs.pop("pin_labels")
    if kwargs.get("metrics") and not validation:
        click.echo("note: [train] metrics need --validation; training without them", err=True)
        kwargs["metrics"] = []
    udt.train(train_data, validation=validation, verbose=not quiet, **kwargs)
    # the output's sparsity follows the classes the training rows hold: known only now
    unpinnable = pin and not can_pin(udt.model)
    if pin and not unpinnable:
        udt.pin_labels(train_data, verbose=not quiet)
    udt.save(output, optimizer_state=not no_optimizer_state)
    if unpinnable:
        raise ConfigError(f"{config}: [train] pin_labels needs a sparse output layer with hash tables; this model's "
                          f"output of {udt.n_classes} classes is dense (sparsity {udt.output_sparsity}). The trained "
                          f"model was saved to {output} without pins.")
    if not quiet:
        click.echo(f"saved {output} ({os.path.getsize(output) / 1e6:,.1f} MB)", err=True)


def _load_any(model_path, mmap, verify):
    """A UniversalDeepTransformer from a file its ``save`` wrote, else an ``sb.Model``."""
    from ..automl.udt import AUTOML_KEY, UniversalDeepTransformer
    from ..io import open_model_file
    from ..nn.model import Model
    with open_model_file(model_path) as archive:
        is_udt = AUTOML_KEY in archive.manifest
    cls = UniversalDeepTransformer if is_udt else Model
    model = cls.load(model_path, mmap=mmap, verify=verify, optimizer_state=False)
    if is_udt and not model.trained:  # its network is the constructor's random draw
        raise ValueError(f"{model_path} holds a UniversalDeepTransformer saved before train; train it first "
                         f"(sparsebolt train, or its train method)")
    return model


def _rows_predicted(model, rows, lines, name, top_k, sparse_inference):
    from ..data.csv import RowError

    try:
        return model.predict_batch(rows, top_k=top_k, sparse_inference=sparse_inference)
    except ValueError:
        # the batch again a row at a time, to name the line of the row at fault
        for line, row in zip(lines, rows):
            try:
                model.predict_batch([row], top_k=top_k, sparse_inference=sparse_inference)
            except ValueError as e:
                raise ValueError(f"{name}, line {line}: {e.reason if isinstance(e, RowError) else e}") from None
        raise


def _single_input_dim(model, command):
    if len(model.inputs) != 1:
        raise click.ClickException(f"{command} reads samples of one sparse input; the model has {len(model.inputs)} inputs.")
    return model.inputs[0].dim


@cli.command(epilog=EPILOG)
@click.argument("model_path", metavar="MODEL", type=click.Path(dir_okay=False))
@click.argument("data_path", metavar="DATA", type=click.Path(dir_okay=False))
@click.option("-m", "--metric", "metrics", multiple=True,
              help="precision@k, recall@k, categorical_accuracy, auc or neg_log_loss (mae or rmse for a numerical "
                   "target); repeat for several. Default: precision@1 and recall@5; for a UniversalDeepTransformer "
                   "its evaluate's, categorical_accuracy (mae and rmse for a numerical target).")
@_sparse_option
@click.option("--batch-size", type=click.IntRange(1), default=2048, show_default=True)
@_no_verify_option
@_threads_option
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
def evaluate(model_path, data_path, metrics, sparse_inference, batch_size, no_verify, threads, quiet):
    """Score MODEL on DATA (multi-label SVM; a CSV file with a header for a
    UniversalDeepTransformer); prints one JSON object of metrics."""
    from .. import data
    _threads(threads)
    with _failures():
        model = _load_any(model_path, mmap=True, verify=not no_verify)
    if hasattr(model, "predict_batch"):
        with _failures():
            result = model.evaluate(data_path, metrics=list(metrics) or None, sparse_inference=sparse_inference,
                                    batch_size=batch_size)
        click.echo(_metrics_json(result))
        return
    metrics = metrics or ("precision@1", "recall@5")
    dim = _single_input_dim(model, "evaluate")
    with _failures():
        dataset = data.load_svm(data_path, batch_size=batch_size, n_features=dim, n_labels=model.output.dim)
        result = model.evaluate(dataset, metrics=list(metrics), sparse_inference=sparse_inference, verbose=not quiet)
    click.echo(_metrics_json(result))


@cli.command(epilog=EPILOG)
@click.argument("model_path", metavar="MODEL", type=click.Path(dir_okay=False))
@click.argument("input_file", metavar="[INPUT]", type=click.File("rb"), default="-")
@click.option("-k", "--top-k", type=click.IntRange(1), default=5, show_default=True)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="auto", show_default=True,
              help="Input format; auto reads JSON lines when the first line starts with '{' (else SVM, or CSV "
                   "for a UniversalDeepTransformer).")
@_sparse_option
@click.option("-o", "--output", type=click.File("w"), default="-", help="Where to write the JSON lines (default: stdout).")
@click.option("--batch-size", type=click.IntRange(1), default=1024, show_default=True)
@_no_verify_option
@_threads_option
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
def predict(model_path, input_file, top_k, fmt, sparse_inference, output, batch_size, no_verify, threads, quiet):
    """Top-k labels of each sample in INPUT (a file, or - for stdin: SVM lines or JSON lines
    {"ids": [...], "values": [...]}), written as JSON lines {"ids": [...], "scores": [...]}.
    For a UniversalDeepTransformer, INPUT is a CSV file with a header or JSON lines of rows
    {"column": value, ...}, and the output JSON lines {"labels": [...], "scores": [...]}."""
    from tqdm.auto import tqdm
    from ..automl._rows import RowCheck
    from ._input import json_row_batches, prediction_lines, read_batches, row_source
    _threads(threads)
    with _failures():
        model = _load_any(model_path, mmap=True, verify=not no_verify)
    name = getattr(input_file, "name", "<stdin>")
    name = "stdin" if name == "<stdin>" else name
    if hasattr(model, "predict_batch"):
        if fmt == "svm":  # a usage error, as --format csv with a network of feature ids is
            raise click.UsageError("--format svm is for networks of feature ids; a UniversalDeepTransformer reads "
                                   "CSV or JSON lines.")
        with (_failures(), tqdm(unit="rows", disable=quiet or not sys.stderr.isatty(), file=sys.stderr) as bar,
              row_source(input_file, name, fmt) as (kind, source)):
            if kind == "csv":
                parts = model._predicted_chunks(source, top_k, sparse_inference, chunk_rows=batch_size)
            else:
                check = RowCheck(model, numbers_as_text=True).check  # as the server checks a request's rows
                parts = (_rows_predicted(model, rows, lines, name, top_k, sparse_inference)
                         for lines, rows in json_row_batches(source, name, batch_size, check))
            for out in parts:
                output.writelines(json.dumps({"labels": [label for label, _ in r], "scores": [s for _, s in r]})
                                  + "\n" for r in out)
                output.flush()
                bar.update(len(out))
        return
    if fmt == "csv":
        raise click.UsageError("--format csv is for UniversalDeepTransformer files; this model reads feature ids.")
    dim = _single_input_dim(model, "predict")
    with _failures(), tqdm(unit="samples", disable=quiet or not sys.stderr.isatty(), file=sys.stderr) as bar:
        for n, value in read_batches(input_file, name, dim, batch_size, fmt):
            ids, scores = model.predict(value, top_k=top_k, sparse_inference=sparse_inference)
            output.writelines(prediction_lines(ids, scores))
            output.flush()
            bar.update(n)


@cli.command(epilog=EPILOG)
@click.argument("model_path", metavar="MODEL", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the description as JSON.")
@click.option("--verify", is_flag=True, help="Also check every array's checksum (reads the whole file).")
def info(model_path, as_json, verify):
    """Layers, parameters, sparsity, hash settings and file version of MODEL (reads only
    its manifest unless --verify)."""
    from ..io import verify as verify_file
    from ..io._describe import describe_file
    with _failures():
        d = describe_file(model_path)
        text = d.pop("text")
        if verify:
            verify_file(model_path)
            d["verified"] = True
    click.echo(json.dumps(d, indent=1) if as_json else text + ("\nchecksums: all arrays verified" if verify else ""))


# a request's top_k when it names none
SERVE_TOP_K = 5


@cli.command(epilog=EPILOG)
@click.argument("model_path", metavar="MODEL", type=click.Path(dir_okay=False))
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="0 picks a free port.")
@_sparse_option
@click.option("--top-k", type=click.IntRange(1), default=None,
              help=f"Default top_k of a request.  [default: {SERVE_TOP_K}, or --max-top-k if less]")
@click.option("--max-top-k", type=click.IntRange(1), default=100, show_default=True)
@click.option("--max-batch", type=click.IntRange(1), default=1024, show_default=True, help="Most samples a request.")
@click.option("--max-body-bytes", type=click.IntRange(1), default=4 << 20, show_default=True,
              help="Larger request bodies get 413.")
@click.option("--no-mmap", is_flag=True, help="Read the model into memory instead of mapping it.")
@click.option("--verify/--no-verify", default=True, show_default=True,
              help="Check every array's checksum before serving (reads the whole file once).")
@click.option("--request-timeout", type=click.FloatRange(0, min_open=True), default=30.0, show_default=True,
              help="Seconds from a request's first byte to its last; slower senders are disconnected.")
@_threads_option
@click.option("--log-level", type=click.Choice(LOG_LEVELS), default="warning", show_default=True,
              help="uvicorn's log level (info, debug and trace log each request).")
def serve(model_path, host, port, sparse_inference, top_k, max_top_k, max_batch, max_body_bytes, no_mmap, verify,
          request_timeout, threads, log_level):
    """Serve MODEL over HTTP: POST /predict, GET /health, GET /model. Needs
    `pip install 'sparsebolt[serve]'`. Prints the address once listening."""
    if top_k is None:
        top_k = min(SERVE_TOP_K, max_top_k)
    elif top_k > max_top_k:  # the cap would not hold for a request without top_k
        raise click.BadParameter(f"{top_k} is above --max-top-k ({max_top_k}).", param_hint="'--top-k'")
    _threads(threads)
    with _failures():
        from ..serve import run
        model = _load_any(model_path, mmap=not no_mmap, verify=verify)
        run(model, host=host, port=port, model_path=model_path, sparse_inference=sparse_inference,
            default_top_k=top_k, max_top_k=max_top_k, max_batch=max_batch, max_body_bytes=max_body_bytes,
            log_level=log_level, request_timeout=request_timeout)


def _show_warning(message, category, filename, lineno, file=None, line=None):
    # the message alone: the library's source line means nothing at a shell prompt
    click.echo(f"warning: {message}", err=True)


# the csv module's limit on a field (128 KiB), which an API user lifts with
# csv.field_size_limit and a shell user could not: a long document reads whole
FIELD_SIZE_LIMIT = 2**31 - 1


def main(argv=None):
    """Console entry point; returns the exit code."""
    shown, warnings.showwarning = warnings.showwarning, _show_warning
    field_limit = csv.field_size_limit(FIELD_SIZE_LIMIT)
    try:
        return cli.main(args=argv, prog_name="sparsebolt", standalone_mode=False) or 0
    except click.exceptions.Exit as e:
        return e.exit_code
    except click.ClickException as e:
        e.show()
        return e.exit_code
    except click.exceptions.Abort:
        click.echo("interrupted", err=True)
        return 130
    finally:
        warnings.showwarning = shown
        csv.field_size_limit(field_limit)


if __name__ == "__main__":
    sys.exit(main())
