"""The local Dask cluster of ``reproduce`` and ``sweep --scheduler local`` (one single-threaded worker process
per core, with glibc's allocator left to reuse memory), and the training of a config's models on its workers.

distributed's nanny starts workers with ``MALLOC_TRIM_THRESHOLD_=65536``, which (as glibc documents) also
fixes the mmap threshold at its 128 KiB default: every temporary array above it is then mapped and unmapped
again, page faults included, on every use. An eigenbasis training step allocates several such temporaries,
and we measured the depth-3 MNIST model at 2.1x its single-process time on such a worker (11.8 s against
5.6 s for 4000 epochs). The workers here get thresholds that keep freed memory for reuse instead.
"""
from __future__ import annotations

import contextlib
import logging
import os
import time

from lindae.derivations.commandline import ALLOCATOR
from lindae.validation.experiments.store import one_blas_thread

#: Allocator settings of the workers (:data:`lindae.derivations.commandline.ALLOCATOR`), as environment variables.
WORKER_ALLOCATOR = {k: str(v) for k, v in ALLOCATOR.items()}

#: Dask settings of the local cluster. Its dashboard is off, so nothing reads the statistical profile that each worker
#: otherwise samples every 10 ms, nor the system monitor's; the event loops' tick (20 ms by default) only reports a
#: blocked loop. ``python bench/cluster_idle.py`` measures an idle cluster's CPU with and without them, side by side.
LEAN_CLUSTER = {"distributed.worker.profile.enabled": False, "distributed.admin.tick.interval": "200ms",
                "distributed.admin.system-monitor.interval": "2s",
                "distributed.admin.system-monitor.gil.enabled": False,
                # a task goes to a worker only when the worker is free, so that the scheduler always hands out the task
                # of highest priority (a worker's own queue would commit it to tasks picked before longer ones came in)
                "distributed.scheduler.worker-saturation": 1.0}


def local_client(workers=None):
    """A ``distributed.Client`` on :func:`local_cluster`; close both with ``client.close(); client.cluster.close()``."""
    from distributed import Client
    return Client(local_cluster(workers), set_as_default=False)


@contextlib.contextmanager
def open_client(scheduler="serial", workers=None):
    """A ``distributed.Client`` for the block: None for "serial", :func:`local_client` for "local", or a client of
    the scheduler at an address; closed (with a local cluster) afterwards."""
    if scheduler == "serial":
        yield None
        return
    if scheduler == "local":
        client = local_client(workers)
    else:
        from distributed import Client
        client = Client(scheduler, set_as_default=False)
    try:
        yield client
    finally:
        cluster = client.cluster if scheduler == "local" else None
        client.close()
        if cluster is not None:
            cluster.close()


def local_cluster(workers=None, lean=True):
    """A ``distributed.LocalCluster`` of ``workers`` (default: one per core) single-threaded processes, with
    :data:`LEAN_CLUSTER`'s settings unless ``lean`` is False (Dask's defaults, for ``bench/cluster_idle.py``)."""
    import dask
    from distributed import LocalCluster
    workers = workers or os.cpu_count() or 1
    settings = {f"distributed.nanny.pre-spawn-environ.{k}": v for k, v in WORKER_ALLOCATOR.items()}
    settings |= LEAN_CLUSTER if lean else {}
    with dask.config.set(settings):
        return LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                            silence_logs=logging.ERROR)


def _remote_training(model, spec, modes, keep, X=None, progress=False):
    """One model on a Dask worker, BLAS pinned to one thread so that the workers share the cores; ``progress``:
    the worker prints the training's progress lines (they reach the terminal the cluster was started from)."""
    from lindae.validation.experiments.runner import train_and_summarise
    t = time.perf_counter()
    with one_blas_thread():
        summary, res = train_and_summarise(model, X, spec, modes, keep=keep,
                                           log=(lambda m: print(m, flush=True)) if progress else None)
    return summary, res, time.perf_counter() - t


def train_on_workers(client, jobs, spec, modes, shared, finish, log, X=None):
    """Train ``jobs`` [(model, key)] concurrently on ``client``'s workers; ``finish`` each as it completes and
    keep the eligible trainings in ``shared`` (:func:`submit_trainings`, then its collector)."""
    submit_trainings(client, jobs, spec, modes, shared, log, X)(finish)


def submit_trainings(client, jobs, spec, modes, shared, log, X=None):
    """Submit ``jobs`` [(model, key)] to ``client``'s workers and return a collector: ``collect(finish)`` calls
    ``finish(model, key, summary, seconds)`` as each completes and keeps the eligible trainings in ``shared``. A job
    can so submit several configs' models before collecting the first, and no core waits while one config's last
    model finishes. The models that read the data ``X`` (ReLU, sampled noise: the long ones) get a higher Dask
    priority; ``X`` is sent to every worker once, and those models print their progress from the worker.

    One BLAS thread per worker is also the cheaper way to share two cores between such models: a ReLU epoch
    (Figure 6's reduced setting) runs at only 1.8x (AE) and 1.4x (DAE) its one-thread speed on two threads; we
    measured AE and DAE side by side on one thread each finishing in 0.87x the time of the two one after the other
    on two threads."""
    from distributed import as_completed
    from lindae.validation.experiments.runner import needs_data
    log(f"training {len(jobs)} models concurrently on {len(client.scheduler_info()['workers'])} Dask workers: "
        + ", ".join(m.name for m, _ in jobs))
    spec_future = client.scatter(spec, broadcast=True)
    X_future = client.scatter(X, broadcast=True) if X is not None and any(needs_data(m) for m, _ in jobs) else None
    # the models that read the data (ReLU, sampled noise) are the long ones: they start first, so that no core
    # is left with one of them alone at the end
    futures = {client.submit(_remote_training, m, spec_future, modes, shared is not None and shared.eligible(m),
                             X_future if needs_data(m) else None, needs_data(m), priority=int(needs_data(m)),
                             pure=False): (m, h) for m, h in jobs}

    def collect(finish):
        try:
            for fut in as_completed(list(futures), loop=client.loop):
                m, h = futures[fut]
                summary, res, seconds = fut.result()
                if res is not None:
                    shared.put(m, spec, res)
                finish(m, h, summary, seconds)
        finally:
            for fut in futures:
                fut.cancel()
    return collect


def map_on_workers(client, fn, jobs, finish):
    """Run ``fn(*args)`` for every ``(key, args)`` of ``jobs`` on ``client``'s workers and call ``finish(key, result)``
    as each completes (in completion order); the remaining tasks are cancelled if one fails or on interrupt."""
    submit_on_workers(client, fn, jobs)(finish)


def submit_on_workers(client, fn, jobs):
    """:func:`map_on_workers` in two halves: submit the tasks now (queued behind any submitted earlier) and return
    ``collect(finish)``, which calls ``finish(key, result)`` as each completes; ``collect.more(jobs, priority=0)``
    submits more tasks to the same collection before it is called (with a higher ``priority``, ahead of the tasks
    already queued)."""
    from distributed import as_completed
    futures = {}

    def more(jobs, priority=0):
        futures.update({client.submit(fn, *args, pure=False, priority=priority): key for key, args in jobs})

    def collect(finish):
        try:
            for fut in as_completed(list(futures), loop=client.loop):
                finish(futures[fut], fut.result())
        finally:
            for fut in futures:
                fut.cancel()
    more(jobs)
    collect.more = more
    return collect
