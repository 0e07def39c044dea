"""sb.distributed.train's arguments, refused before Ray starts (this module starts no Ray
of its own, so one left running shows)."""
import pytest

import sparsebolt as sb

from ..synthetic import small_model


@pytest.mark.parametrize("kwargs, error, message", [
    ({"resume": True}, ValueError, r"'resume' parameter of sb.distributed.train must be False without a "
                                   r"'checkpoint_dir'"),
    ({"seed": -1}, ValueError, r"'seed' parameter of sb.distributed.train must be an int >= 0\. Got -1"),
    ({"num_cpus": 0}, ValueError, r"'num_cpus' parameter of sb.distributed.train must be an int >= 1\. Got 0"),
    ({"threads_per_worker": "2"}, ValueError, r"'threads_per_worker' parameter .* must be an int >= 1\. Got '2'"),
    ({"validation": "no-such-validation.svm"}, FileNotFoundError, r"No validation file at 'no-such-validation.svm'")])
def test_bad_arguments_are_refused_before_ray_starts(tmp_path, kwargs, error, message):
    # resume without a directory had started over in a fresh one; a missing validation file
    # was found after an epoch; a refused threads_per_worker had left a local Ray running
    ray = pytest.importorskip("ray")
    path = tmp_path / "train.svm"
    path.write_text("0 1:1\n1 2:1\n")
    assert not ray.is_initialized()  # this module's tests start none
    with pytest.raises(error, match=message):
        sb.distributed.train(small_model(), path, batch_size=2, **kwargs)
    assert not ray.is_initialized()


def test_without_ray_the_install_hint_is_quoted_for_the_shell(monkeypatch):
    # unquoted, zsh read the brackets as a glob: "no matches found: sparsebolt[distributed]"
    import builtins

    from sparsebolt.distributed.trainer import import_ray
    real_import = builtins.__import__

    def no_ray(name, *args, **kwargs):
        if name.split(".")[0] == "ray":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_ray)
    with pytest.raises(ImportError, match=r"pip install 'sparsebolt\[distributed\]'$"):
        import_ray()


def test_more_worker_threads_than_a_local_clusters_cpus_are_refused(tmp_path):
    # workers Ray could not place had waited for ever
    ray = pytest.importorskip("ray")
    path = tmp_path / "train.svm"
    path.write_text("".join(f"{i % 5} {i % 9}:1\n" for i in range(64)))
    with pytest.raises(ValueError, match=r"'threads_per_worker' parameter .* each of the 2 workers a CPU a thread: the "
                                         r"cluster has 2 CPUs\. Got 2 instead"):
        sb.distributed.train(small_model(), path, num_workers=2, batch_size=32, threads_per_worker=2, num_cpus=2,
                             verbose=False)
    assert not ray.is_initialized()


def _two_inputs():
    a, b = sb.Input(dim=5), sb.Input(dim=3)
    return sb.Model([a, b], sb.FullyConnected(4, activation="softmax")(sb.Concatenate()(a, b)))


@pytest.mark.parametrize("model, error, message", [
    (3, TypeError, r"^The 'model_or_config' parameter of sb.distributed.train must be a sb.Model or a zero-argument "
                   r"callable that builds one\. Got int instead\.$"),
    (lambda: "model", TypeError, r"^The 'model_or_config' parameter of sb.distributed.train, a callable, must return "
                                 r"a sb.Model\. Got str from it instead\.$"),
    # each worker had refused it, after Ray started
    (_two_inputs(), ValueError, r"^The 'model_or_config' parameter of sb.distributed.train must be \(or build\) a "
                                r"sb.Model of one input\. Got a model of 2 inputs instead\.$"),
    (_two_inputs, ValueError, r"^The 'model_or_config' parameter .* Got a model of 2 inputs instead\.$")])
def test_bad_models_are_refused_before_ray_starts(tmp_path, model, error, message):
    ray = pytest.importorskip("ray")
    path = tmp_path / "train.svm"
    path.write_text("0 1:1\n1 2:1\n")
    with pytest.raises(error, match=message):
        sb.distributed.train(model, path, batch_size=2)
    assert not ray.is_initialized()
