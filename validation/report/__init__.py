"""The report: ``reproduce`` (the main job), its HTML page, captions computed from each run's numbers,
the figures (computed first, then drawn) and the comparison with the authors' saved curves."""
