"""Pre-partitioning: cutting a model's layer chain into the chunks profiles are
measured on (SPEC section 2).

- :mod:`ppipe.partition.layers`: the artifact's per-layer data as a
  :class:`LayerChain` (latencies and cut sizes), and its mapping files;
- :mod:`ppipe.partition.prepartition`: the exact dynamic program.
"""
