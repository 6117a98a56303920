"""Reproduce the paper's evaluation headless (SPEC sections 5 and 8).

- :mod:`ppipe.experiments.settings`: the experiment sets (maf19, maf21,
  ablation, sensitivity) as settings (a group or model on a cluster, with
  the setting's own planning constants).
- :mod:`ppipe.experiments.variants`: the variants a setting is run with
  (planner + balancer), read from the scheduler table.
- :mod:`ppipe.experiments.spec`: the experiment's specification (everything
  that affects its numbers) and its arrival process.
- :mod:`ppipe.experiments.outdir`: the output folder's layout, its marker,
  lock and checks against the specification, part validation, the results
  table's columns and merge.
- :mod:`ppipe.experiments.solving`: a setting's plans (own est_xput flow),
  solved once and stored.
- :mod:`ppipe.experiments.sweeping`: a variant's rows, every model simulated
  at every load factor of the grid.
- :mod:`ppipe.experiments.runner`: orchestration; runs the settings (in
  parallel processes), resumably, and writes the merged table and summary.
- :mod:`ppipe.experiments.figures`: the data of Fig. 6, 7, 8, 10 and 13 and a
  summary beside the paper's headline numbers; :mod:`ppipe.experiments.png`
  draws them as images.
- :mod:`ppipe.experiments.scaling`: Fig. 14, the planner's solve time as the
  cluster grows and GPU types are added (solves only, timed, resumable).

Imports point one way: runner -> sweeping -> solving -> spec, outdir ->
settings -> variants, runner -> figures -> outdir, settings (figures never
imports the runner), and scaling -> solving, outdir, settings; nothing
outside the CLI imports this package.

No UI library is imported here; the CLI (``ppipe experiment``, ``ppipe
figures``) draws the charts.
"""
