import pytest

from tinytorch.datasets.machine_sounds import make_anomaly_detection
from tinytorch.datasets.wake_words import make_visual_wake_words


@pytest.fixture(scope="session")
def cache_root(tmp_path_factory):
    """One private cache for the whole session: the small data sets are generated once."""
    return tmp_path_factory.mktemp("tinymlperf-cache")


@pytest.fixture(scope="session")
def small(cache_root):
    """The small generated data sets of anomaly detection and visual wake words, made once."""
    makers = {"anomaly_detection": make_anomaly_detection, "visual_wake_words": make_visual_wake_words}
    made = {}

    def load(task):
        if task not in made:
            made[task] = makers[task]("small", cache_root=cache_root)
        return made[task]
    return load
