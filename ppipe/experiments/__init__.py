"""Reproduce the paper's evaluation headless (SPEC sections 5 and 8).

- :mod:`ppipe.experiments.settings`: the experiment sets (maf19, maf21,
  ablation) as settings (a group or model on a cluster) and variants (planner
  + balancer).
- :mod:`ppipe.experiments.runner`: solve each setting's plans (own est_xput
  flow), sweep every model over the load-factor grid, write a tidy results
  table; resumable, settings in parallel processes.
- :mod:`ppipe.experiments.figures`: the data of Fig. 6, 7, 8 and 10 and a
  summary beside the paper's headline numbers.

No UI library is imported here; the CLI (``ppipe experiment``, ``ppipe
figures``) draws the charts.
"""

from ppipe.experiments.runner import ExperimentConfig, OutDir, RunReport, arrivals_spec, run_experiment
from ppipe.experiments.settings import SETS, VARIANTS, Setting, build_settings

__all__ = ["ExperimentConfig", "OutDir", "RunReport", "arrivals_spec", "run_experiment", "SETS", "VARIANTS",
           "Setting", "build_settings"]
