"""Experiments: typed configs, the one resumable store of finished work, provenance manifests, and the
three jobs built on them (``run``, ``sweep`` and ``study``)."""
