import pytest

from .helpers import trained


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """(model, its data, the path it was saved to)."""
    model, data = trained()
    path = tmp_path_factory.mktemp("model") / "model.sbm"
    model.save(path)
    return model, data, path
