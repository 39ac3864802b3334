"""Benchmark: the CPU that the local Dask cluster of ``reproduce`` spends on itself, with and without its settings.

Starts the cluster twice, once with Dask's defaults and once with ``LEAN_CLUSTER`` (both with the workers'
allocator settings), lets each sit idle for ``--seconds`` and prints the CPU seconds that the workers and this
process (which runs the scheduler) used per wall-clock second, and their ratio. The two runs alternate
``--repeats`` times so that a drift of the machine affects both alike.

Run: python bench/cluster_idle.py [--seconds 10] [--repeats 2]
"""
from __future__ import annotations

import argparse
import os
import resource
import time


def _cpu(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _own_cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def idle_cost(lean, seconds):
    """CPU seconds per second of an idle cluster (workers + this process) with or without LEAN_CLUSTER."""
    from distributed import Client
    from lindae.validation.experiments.cluster import local_cluster
    client = Client(local_cluster(2, lean=lean), set_as_default=False)
    try:
        pids = list(client.run(os.getpid).values())
        time.sleep(1.0)                      # past the workers' start
        before = sum(map(_cpu, pids)) + _own_cpu()
        time.sleep(seconds)
        return (sum(map(_cpu, pids)) + _own_cpu() - before) / seconds
    finally:
        client.close()
        client.cluster.close()


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=10.0, help="idle time measured per cluster (default 10)")
    p.add_argument("--repeats", type=int, default=2, help="alternating runs of each setting (default 2)")
    a = p.parse_args(argv)
    if a.seconds <= 0 or a.repeats < 1:
        p.error("--seconds must be positive and --repeats at least 1")
    rows = {"Dask defaults": [], "LEAN_CLUSTER": []}
    for _ in range(a.repeats):
        rows["Dask defaults"].append(idle_cost(False, a.seconds))
        rows["LEAN_CLUSTER"].append(idle_cost(True, a.seconds))
    for name, values in rows.items():
        print(f"{name:>14}: {min(values):.3f} CPU s per s idle (runs: {', '.join(f'{v:.3f}' for v in values)})")
    print(f"ratio defaults / lean: {min(rows['Dask defaults']) / min(rows['LEAN_CLUSTER']):.1f}x")


if __name__ == "__main__":
    main()
