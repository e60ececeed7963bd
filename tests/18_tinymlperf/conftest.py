import pytest

from tinytorch.benchmarking.tinymlperf import TinyMLPerf


@pytest.fixture(scope="session")
def cache_root(tmp_path_factory):
    """One private cache for the whole session: the small data sets are generated once."""
    return tmp_path_factory.mktemp("tinymlperf-cache")


@pytest.fixture(scope="session")
def bench(cache_root):
    return TinyMLPerf(random_seed=42, data_size="small", warmup_runs=2, cache_root=cache_root)
