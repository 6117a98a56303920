"""Planning: from models, a GPU mix and SLOs to a plan (SPEC sections 3 and 4).

- :mod:`ppipe.planning.problem` and :mod:`ppipe.planning.request`: the problem,
  and how typed input (flags, form fields) becomes one;
- :mod:`ppipe.planning.configs`: every SLO-feasible pipeline configuration;
- :mod:`ppipe.planning.planner` (the PPipe MILP), :mod:`ppipe.planning.rows`
  (its shared rows), :mod:`ppipe.planning.loss_budget` (the exact search for
  one model) and :mod:`ppipe.planning.baselines` (NP, DART-r, NP-single);
- :mod:`ppipe.planning.solve`: the one entry point, by scheduler name
  (the table is :mod:`ppipe.schedulers`);
- :mod:`ppipe.planning.milp`, :mod:`ppipe.planning.solvers`,
  :mod:`ppipe.planning.highs`, :mod:`ppipe.planning.gurobi`: the solver-neutral
  model and the backends;
- :mod:`ppipe.planning.results` and :mod:`ppipe.planning.status`: what a solve returns;
- :mod:`ppipe.planning.replay` and :mod:`ppipe.planning.check`: re-solving a
  reference plan's problem, and verifying a plan against the profiles.
"""
