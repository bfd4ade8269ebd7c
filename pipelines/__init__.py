"""Dask pipelines: tasks, batching, cluster factory, dispatcher (installed as ``workbench.pipelines``)."""
