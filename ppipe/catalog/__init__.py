"""GPU types: the catalog of what each type is (memory, MPS levels, GPUs per
server, network, data-sheet figures) that users extend with their own types.

Find a GPU type in :mod:`ppipe.catalog.gpus`; the shipped catalog is package
data (``ppipe/data/gpus.json`` installed from the repository's ``data/``).
"""
