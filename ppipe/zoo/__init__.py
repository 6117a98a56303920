"""The model zoo: layer graphs of public architectures and estimated profiles.

- :mod:`ppipe.zoo.graph`: :class:`ModelGraph`, the extracted operator graph;
- :mod:`ppipe.zoo.extract`: extraction from torchvision (optional extra);
- :mod:`ppipe.zoo.estimator`: roofline latency estimates per GPU type;
- :mod:`ppipe.zoo.calibrate`: fitting the estimator to measured profiles;
- :mod:`ppipe.zoo.build`: graphs -> chunked, estimated profiles.
"""
