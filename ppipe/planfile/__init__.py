"""Plan files: the artifact's JSON format, read and written byte-identically.

- :mod:`ppipe.planfile.plan`: :class:`Plan`, :class:`ModelPlan`,
  :class:`Pipeline`, :class:`Partition`; reading and atomic writing;
- :mod:`ppipe.planfile.naming`: the artifact's file-name convention, which
  records the problem a plan solves.
"""
