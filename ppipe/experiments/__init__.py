"""Reproduce the paper's evaluation headless (SPEC sections 5 and 8).

- :mod:`ppipe.experiments.settings`: the experiment sets (maf19, maf21,
  ablation) as settings (a group or model on a cluster).
- :mod:`ppipe.experiments.variants`: the variants a setting is run with
  (planner + balancer), read from the scheduler table.
- :mod:`ppipe.experiments.runner`: solve each setting's plans (own est_xput
  flow), sweep every model over the load-factor grid, write a tidy results
  table; resumable, settings in parallel processes.
- :mod:`ppipe.experiments.figures`: the data of Fig. 6, 7, 8 and 10 and a
  summary beside the paper's headline numbers.

No UI library is imported here; the CLI (``ppipe experiment``, ``ppipe
figures``) draws the charts.
"""
