"""A real Dask LocalCluster (worker processes) shared by the pipeline tests."""

from __future__ import annotations

import pytest

from workbench.pipelines.cluster import make_cluster


@pytest.fixture(scope="session")
def client():
    """Two single-threaded worker processes."""
    with make_cluster("local:2") as client:
        yield client
