"""The developer-time extractor (runs only where torch is installed: ``pip install ppipe[extract]``)."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("torchvision")


def test_extract_small_model(tmp_path):
    from torch import nn

    from ppipe.zoo.extract import extract_graph
    from ppipe.zoo.graph import read_graph, write_graph

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(8, 8, 3, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(8)
            self.relu = nn.ReLU(inplace=True)
            self.conv2 = nn.Conv2d(8, 8, 3, padding=1)

        def forward(self, x):
            return self.relu(x + self.conv2(self.relu(self.bn1(self.conv1(x)))))

    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), Block(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                          nn.Linear(8, 10))
    g = extract_graph(model, [(3, 16, 16)], "toy")
    names = g.names
    assert names[0] == "0/convolution"
    conv1 = g.layers[names.index("1.conv1/convolution")]
    assert conv1.attrs.get("bn") == 1  # batch norm folded into the conv
    assert conv1.flops == 2 * 8 * 8 * 9 * 16 * 16
    assert not any(lyr.op.startswith("native_batch_norm") for lyr in g.layers)
    # the skip connection crosses every cut inside the block
    i = names.index("1.conv1/convolution")
    assert len(g.cut_tensors(i)) == 2
    assert g.cut_bytes_after()[-1] == 10 * 2
    path = write_graph(g, tmp_path / "toy.graph.json.gz")
    assert read_graph(path).names == names
