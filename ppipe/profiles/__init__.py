"""Model profiles: per-chunk latencies per GPU type, MPS split and batch size.

- :mod:`ppipe.profiles.model`: :class:`ModelProfile`, what the planner and the
  simulator read, and the :class:`ProfileSource` interface;
- :mod:`ppipe.profiles.artifact`: the PPipe artifact's on-disk layout;
- :mod:`ppipe.profiles.ownformat`: ppipe's own ``*.profile.json``;
- :mod:`ppipe.profiles.store`: :class:`ProfileStore`, which source a model comes from.
"""
