"""Developer-time extraction of layer graphs from PyTorch models (``pip install ppipe[extract]``).

Models are built on the ``meta`` device (no weights, no memory) and run once
under a :class:`~torch.utils._python_dispatch.TorchDispatchMode` that records
every ATen operator in execution order: its FLOPs (PyTorch's own FLOP formulas
for convolutions and matrix products; one per output element otherwise), the
bytes of weights it reads, the activation tensors it reads and writes, and the
module it ran in. Operators that touch no activation (weight transposes,
constants) are folded away; an inference batch norm right after a convolution
is folded into it, as TensorRT and ONNX export do. Every remaining operator is
one layer of the graph (:mod:`ppipe.zoo.graph`).

torch and torchvision are imported only inside the functions of this module;
``import ppipe`` never needs them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

from ppipe import __version__
from ppipe.zoo.graph import Layer, ModelGraph

# ATen op name (overload packet) -> layer kind.
_VIEW_OPS = {
    "view", "_unsafe_view", "reshape", "t", "transpose", "permute", "expand", "slice", "select",
    "squeeze", "unsqueeze", "detach", "alias", "as_strided", "split", "split_with_sizes", "unbind",
    "flatten", "unflatten", "chunk", "narrow", "_reshape_alias", "expand_as", "view_as", "lift_fresh",
}
_KIND_BY_OP = {
    "convolution": "conv", "_convolution": "conv", "convolution_overrideable": "conv",
    "mm": "matmul", "addmm": "matmul", "bmm": "matmul", "baddbmm": "matmul", "matmul": "matmul",
    "linear": "matmul",
    "_scaled_dot_product_efficient_attention": "attention", "_scaled_dot_product_flash_attention": "attention",
    "_scaled_dot_product_flash_attention_for_cpu": "attention", "scaled_dot_product_attention": "attention",
    "_scaled_dot_product_cudnn_attention": "attention",
    "native_batch_norm": "norm", "_native_batch_norm_legit_no_training": "norm",
    "_native_batch_norm_legit": "norm", "native_layer_norm": "norm", "native_group_norm": "norm",
    "batch_norm": "norm", "instance_norm": "norm", "layer_norm": "norm", "group_norm": "norm",
    "max_pool2d_with_indices": "pool", "max_pool2d": "pool", "avg_pool2d": "pool",
    "adaptive_avg_pool2d": "pool", "_adaptive_avg_pool2d": "pool", "adaptive_max_pool2d": "pool",
    "mean": "reduce", "sum": "reduce", "amax": "reduce", "max": "reduce", "softmax": "reduce",
    "_softmax": "reduce", "log_softmax": "reduce", "_log_softmax": "reduce", "topk": "reduce",
    "argmax": "reduce", "var_mean": "reduce", "var": "reduce", "std": "reduce",
    "upsample_bilinear2d": "resize", "upsample_nearest2d": "resize", "_upsample_bilinear2d_aa": "resize",
    "upsample_bicubic2d": "resize", "grid_sampler_2d": "resize",
    "cat": "copy", "stack": "copy", "clone": "copy", "_to_copy": "copy", "copy": "copy",
    "constant_pad_nd": "copy", "reflection_pad2d": "copy", "replicate_pad2d": "copy", "pad": "copy",
    "index": "copy", "index_select": "copy", "gather": "copy", "roll": "copy", "contiguous": "copy",
    "repeat": "copy", "flip": "copy",
    "roi_align": "pool",
}
_BN_OPS = {"native_batch_norm", "_native_batch_norm_legit_no_training", "_native_batch_norm_legit",
           "batch_norm", "cudnn_batch_norm"}
_POOL_FLOPS = {"max_pool2d_with_indices", "max_pool2d", "avg_pool2d"}


def dtype_bytes(dtype) -> int:
    """Bytes per element as the PPipe artifact counts them: float -> 2 (fp16), int64 -> 4."""
    import torch

    if dtype.is_floating_point or dtype.is_complex:
        return 2
    if dtype == torch.int64:
        return 4
    if dtype == torch.bool:
        return 1
    return torch.empty((), dtype=dtype, device="meta").element_size()


def tensor_bytes(t) -> int:
    return int(t.numel()) * dtype_bytes(t.dtype)


@dataclass
class _Rec:
    producer: int  # layer index, -1 = model input
    nbytes: int
    consumers: list[int] = field(default_factory=list)


def _flatten_tensors(obj: Any, out: list) -> list:
    import torch

    if isinstance(obj, torch.Tensor):
        out.append(obj)
    elif isinstance(obj, dict):
        for v in obj.values():
            _flatten_tensors(v, out)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            _flatten_tensors(v, out)
    elif hasattr(obj, "__dataclass_fields__") or hasattr(obj, "_fields"):
        for v in (obj._asdict().values() if hasattr(obj, "_asdict") else vars(obj).values()):
            _flatten_tensors(v, out)
    return out


def extract_graph(model, input_shapes: list[tuple[int, ...]], name: str, *, task: str = "",
                  source: str = "", notes: str = "") -> ModelGraph:
    """Run ``model`` once on meta tensors of ``input_shapes`` (batch 1) and record its layer graph."""
    import torch
    from torch.utils._python_dispatch import TorchDispatchMode
    from torch.utils.flop_counter import flop_registry

    model = model.to("meta").eval()
    mod_names = {id(m): n for n, m in model.named_modules()}
    stack: list[str] = []

    def pre_hook(mod, args):
        stack.append(mod_names.get(id(mod), stack[-1] if stack else ""))

    def post_hook(mod, args, out):
        if stack:
            stack.pop()

    handles = []
    for m in model.modules():
        handles.append(m.register_forward_pre_hook(pre_hook))
        handles.append(m.register_forward_hook(post_hook))

    keep: list = []  # keep tensors alive so their id()s stay unique
    cur: dict[int, int] = {}  # id(tensor) -> current record index
    recs: list[_Rec] = []
    layers: list[Layer] = []
    name_count: dict[str, int] = {}

    def new_rec(t, producer: int) -> int:
        keep.append(t)
        recs.append(_Rec(producer, tensor_bytes(t)))
        cur[id(t)] = len(recs) - 1
        return len(recs) - 1

    inputs = [torch.empty((1, *s), device="meta") for s in input_shapes]
    for x in inputs:
        new_rec(x, -1)

    class Recorder(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            kwargs = kwargs or {}
            out = func(*args, **kwargs)
            op = func._overloadpacket.__name__ if hasattr(func, "_overloadpacket") else str(func)
            ins = _flatten_tensors((args, kwargs), [])
            act_ids: list[int] = []
            pbytes = 0
            seen = set()
            for t in ins:
                if id(t) in seen:
                    continue
                seen.add(id(t))
                if id(t) in cur:
                    act_ids.append(cur[id(t)])
                else:
                    pbytes += tensor_bytes(t)
            if not act_ids:
                return out  # a constant: folded away
            outs = [t for t in _flatten_tensors(out, []) if isinstance(t, torch.Tensor)]
            idx = len(layers)
            # Fold an inference batch norm into the convolution right before it.
            if op in _BN_OPS and len(act_ids) == 1 and layers and layers[-1].kind == "conv":
                src = act_ids[0]
                prev = layers[-1]
                if recs[src].producer == idx - 1 and not recs[src].consumers and src in prev.outputs:
                    prev.param_bytes += pbytes
                    prev.attrs["bn"] = 1
                    prev.outputs.remove(src)
                    recs[src].producer = -2  # dropped
                    first = outs[0]
                    r = new_rec(first, idx - 1)
                    prev.outputs.append(r)
                    prev.out_bytes = sum(recs[o].nbytes for o in prev.outputs)
                    return out
            for r in act_ids:
                recs[r].consumers.append(idx)
            kind = "view" if op in _VIEW_OPS else _KIND_BY_OP.get(op, "eltwise" if outs else "other")
            if op == "max" and len(outs) == 1 and len(ins) == 2:
                kind = "eltwise"  # elementwise maximum
            packet = getattr(func, "_overloadpacket", None)
            if packet in flop_registry:
                flops = float(flop_registry[packet](*args, **kwargs, out_val=out))
            elif kind in ("view",):
                flops = 0.0
            elif op in _POOL_FLOPS:
                ks = args[1] if len(args) > 1 else kwargs.get("kernel_size", [1])
                ks = list(ks) if isinstance(ks, (list, tuple)) else [ks]
                flops = float(outs[0].numel()) * math.prod(ks if len(ks) > 1 else ks * 2)
            elif kind in ("reduce", "norm"):
                flops = float(sum(recs[r].nbytes / 2 for r in act_ids)) * 2
            else:
                flops = float(sum(t.numel() for t in outs[:1]))
            out_ids = []
            for t in outs:
                out_ids.append(new_rec(t, idx))  # in-place ops make a new version of the same object
            scope = stack[-1] if stack else ""
            base = f"{scope}/{op}" if scope else op
            n = name_count.get(base, 0)
            name_count[base] = n + 1
            attrs: dict[str, Any] = {}
            if kind == "conv":
                w = args[1]
                groups = int(args[8]) if len(args) > 8 else int(kwargs.get("groups", 1))
                attrs = {"k": list(w.shape[2:]), "groups": groups, "cin": int(w.shape[1]) * groups,
                         "cout": int(w.shape[0])}
                stride = [int(v) for v in args[3]] if len(args) > 3 else [1]
                dil = [int(v) for v in args[5]] if len(args) > 5 else [1]
                if any(v != 1 for v in stride):
                    attrs["stride"] = stride
                if any(v != 1 for v in dil):
                    attrs["dilation"] = dil
                if len(args) > 6 and bool(args[6]):
                    attrs["transposed"] = 1
            layers.append(Layer(
                name=base if n == 0 else f"{base}_{n}", op=op, kind=kind, flops=flops,
                param_bytes=float(pbytes), in_bytes=float(sum(recs[r].nbytes for r in act_ids)),
                out_bytes=0.0, inputs=act_ids, outputs=out_ids,
                shape=[int(s) for s in outs[0].shape[1:]] if outs and outs[0].dim() > 0 else [],
                attrs=attrs,
            ))
            return out

    try:
        with torch.no_grad(), Recorder():
            result = model(*inputs)
    finally:
        for h in handles:
            h.remove()

    L = len(layers)
    out_recs = {cur[id(t)] for t in _flatten_tensors(result, []) if id(t) in cur}
    # Renumber live tensors: drop folded ones and outputs nobody reads (e.g. max-pool indices).
    keep_ids = [i for i, r in enumerate(recs)
                if r.producer != -2 and (r.consumers or i in out_recs)]
    remap = {old: new for new, old in enumerate(keep_ids)}
    tb, tp, tu = [], [], []
    for old in keep_ids:
        r = recs[old]
        tb.append(r.nbytes)
        tp.append(r.producer)
        tu.append(L if old in out_recs else max(r.consumers))
    for lyr in layers:
        lyr.inputs = sorted({remap[t] for t in lyr.inputs if t in remap})
        lyr.outputs = [remap[t] for t in lyr.outputs if t in remap]
        lyr.out_bytes = float(sum(tb[t] for t in lyr.outputs))
    import numpy as np
    import torchvision

    return ModelGraph(
        model=name, layers=layers, tensor_bytes=np.asarray(tb, dtype=float),
        tensor_producer=np.asarray(tp, dtype=int), tensor_last_use=np.asarray(tu, dtype=int),
        inputs=[list(s) for s in input_shapes], task=task, source=source, notes=notes,
        extracted_by=f"ppipe {__version__} extract (torch {torch.__version__.split('+')[0]},"
                     f" torchvision {torchvision.__version__.split('+')[0]}, meta device, batch 1)",
    )


# ---------------------------------------------------------------------------
# The model zoo: which models, at which input size.
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class ModelSpec:
    name: str
    task: str
    inputs: tuple[tuple[int, ...], ...]
    build: Callable[[], Any]
    source: str
    notes: str = ""


def _tv(fn: str, **kw):
    def build():
        import torchvision

        return getattr(torchvision.models, fn)(weights=None, **kw)
    return build


def _seg(fn: str, **kw):
    def build():
        import torchvision

        return getattr(torchvision.models.segmentation, fn)(weights=None, weights_backbone=None, **kw)
    return build


def _det(fn: str, kind: str, **kw):
    def build():
        import torchvision

        m = getattr(torchvision.models.detection, fn)(weights=None, weights_backbone=None, **kw)
        return _dense_detector(m, kind)
    return build


def _dense_detector(m, kind: str):
    """The GPU part of a torchvision detector: backbone (+FPN) and dense heads.

    Pre-processing (resize/normalise), anchor generation and NMS are left out,
    as in the PPipe artifact's exported detectors. For Faster R-CNN the RPN's
    proposals are taken as the 1000 top-scoring anchors (a fixed-size top-k) and
    RoI-aligned on the finest FPN level before the box head, which keeps the
    shapes static while costing what the real two-stage head costs.
    """
    import torch
    from torch import nn

    class Dense(nn.Module):
        def __init__(self):
            super().__init__()
            self.backbone = m.backbone
            if kind == "rcnn":
                self.rpn_head = m.rpn.head
                self.box_head = m.roi_heads.box_head
                self.box_predictor = m.roi_heads.box_predictor
            else:
                self.head = m.head

        def forward(self, x):
            feats = self.backbone(x)
            if isinstance(feats, torch.Tensor):
                feats = {"0": feats}
            fl = list(feats.values())
            if kind == "ssd":
                return self.head(fl)
            if kind in ("retinanet", "fcos"):
                return self.head(fl)
            import torchvision

            objectness, deltas = self.rpn_head(fl)
            scores = torch.cat([o.flatten(1) for o in objectness], 1)
            top = scores.topk(1000, dim=1)
            d = torch.cat([t.flatten(2).transpose(1, 2).reshape(x.shape[0], -1, 4) for t in deltas], 1)
            boxes = torch.gather(d, 1, top.indices.unsqueeze(-1).expand(-1, -1, 4)).reshape(-1, 4)
            rois = torch.cat([torch.zeros_like(boxes[:, :1]), boxes], 1)
            pooled = torchvision.ops.roi_align(fl[0], rois, (7, 7), spatial_scale=0.25, sampling_ratio=2)
            cls, box = self.box_predictor(self.box_head(pooled))
            return top.values, cls, box

    return Dense()


DET = (3, 800, 1344)  # COCO-style short side 800, long side rounded to a multiple of 32
SEG = (3, 512, 1024)  # Cityscapes-style half resolution (as the artifact's mmseg models)

ZOO: list[ModelSpec] = [
    # classification backbones at their native evaluation crop
    ModelSpec("resnet50", "classification", ((3, 224, 224),), _tv("resnet50"), "torchvision resnet50"),
    ModelSpec("resnet152", "classification", ((3, 224, 224),), _tv("resnet152"), "torchvision resnet152"),
    ModelSpec("resnext101_32x8d", "classification", ((3, 224, 224),), _tv("resnext101_32x8d"),
              "torchvision resnext101_32x8d"),
    ModelSpec("wide_resnet101_2", "classification", ((3, 224, 224),), _tv("wide_resnet101_2"),
              "torchvision wide_resnet101_2"),
    ModelSpec("convnext_large", "classification", ((3, 224, 224),), _tv("convnext_large"),
              "torchvision convnext_large"),
    ModelSpec("efficientnet_b4", "classification", ((3, 380, 380),), _tv("efficientnet_b4"),
              "torchvision efficientnet_b4"),
    ModelSpec("mobilenet_v3_large", "classification", ((3, 224, 224),), _tv("mobilenet_v3_large"),
              "torchvision mobilenet_v3_large"),
    ModelSpec("regnet_y_16gf", "classification", ((3, 224, 224),), _tv("regnet_y_16gf"),
              "torchvision regnet_y_16gf"),
    ModelSpec("inception_v3", "classification", ((3, 299, 299),),
              _tv("inception_v3", aux_logits=False, init_weights=False), "torchvision inception_v3"),
    ModelSpec("vgg16", "classification", ((3, 224, 224),), _tv("vgg16"), "torchvision vgg16"),
    ModelSpec("vit_b_16", "classification", ((3, 224, 224),), _tv("vit_b_16"), "torchvision vit_b_16"),
    ModelSpec("swin_s", "classification", ((3, 224, 224),), _tv("swin_s"), "torchvision swin_s"),
    # detection (dense GPU part; see _dense_detector)
    ModelSpec("fasterrcnn_resnet50_fpn", "detection", (DET,), _det("fasterrcnn_resnet50_fpn", "rcnn"),
              "torchvision fasterrcnn_resnet50_fpn (backbone+FPN, RPN head, 1000-RoI box head)"),
    ModelSpec("retinanet_resnet50_fpn_v2", "detection", (DET,), _det("retinanet_resnet50_fpn_v2", "retinanet"),
              "torchvision retinanet_resnet50_fpn_v2 (backbone+FPN, dense heads)"),
    ModelSpec("fcos_resnet50_fpn", "detection", (DET,), _det("fcos_resnet50_fpn", "fcos"),
              "torchvision fcos_resnet50_fpn (backbone+FPN, dense heads)"),
    ModelSpec("ssd300_vgg16", "detection", ((3, 300, 300),), _det("ssd300_vgg16", "ssd"),
              "torchvision ssd300_vgg16 (backbone, dense heads)"),
    ModelSpec("ssdlite320_mobilenet_v3_large", "detection", ((3, 320, 320),),
              _det("ssdlite320_mobilenet_v3_large", "ssd"),
              "torchvision ssdlite320_mobilenet_v3_large (backbone, dense heads)"),
    # semantic segmentation at Cityscapes half resolution
    ModelSpec("deeplabv3_resnet101", "segmentation", (SEG,), _seg("deeplabv3_resnet101"),
              "torchvision deeplabv3_resnet101"),
    ModelSpec("fcn_resnet101", "segmentation", (SEG,), _seg("fcn_resnet101"), "torchvision fcn_resnet101"),
    ModelSpec("deeplabv3_mobilenet_v3_large", "segmentation", (SEG,), _seg("deeplabv3_mobilenet_v3_large"),
              "torchvision deeplabv3_mobilenet_v3_large"),
    ModelSpec("lraspp_mobilenet_v3_large", "segmentation", (SEG,), _seg("lraspp_mobilenet_v3_large"),
              "torchvision lraspp_mobilenet_v3_large"),
]


def zoo_spec(name: str) -> ModelSpec:
    for s in ZOO + CALIBRATION:
        if s.name == name:
            return s
    raise KeyError(name)


def extract_spec(spec: ModelSpec) -> ModelGraph:
    import torch

    try:
        with torch.device("meta"):
            model = spec.build()
    except NotImplementedError:  # an initialiser that reads values (e.g. RegNet's): build on the CPU
        model = spec.build()
    return extract_graph(model, [tuple(s) for s in spec.inputs], spec.name, task=spec.task,
                         source=spec.source, notes=spec.notes)


# ---------------------------------------------------------------------------
# Calibration graphs: models the PPipe artifact profiles, rebuilt at the input
# size the artifact used, so the estimator can be fitted to its block timings.
# ---------------------------------------------------------------------------

def _resnext152():
    from torchvision.models.resnet import Bottleneck, ResNet

    return ResNet(Bottleneck, [3, 8, 36, 3], groups=32, width_per_group=4)


def _efficientnet_b8():
    from functools import partial

    from torch import nn
    from torchvision.models.efficientnet import EfficientNet, _efficientnet_conf

    settings, last = _efficientnet_conf("efficientnet_b8", width_mult=2.2, depth_mult=3.6)
    model = EfficientNet(settings, 0.5, last_channel=last, norm_layer=partial(nn.BatchNorm2d, eps=1e-3))
    # the artifact's TF port pads explicitly ("same" padding) before the stem and every depthwise conv
    for mod in list(model.modules()):
        for name, child in list(mod.named_children()):
            if isinstance(child, nn.Conv2d) and (child.groups == child.in_channels or child.in_channels == 3):
                p = child.padding
                child.padding = (0, 0)
                setattr(mod, name, nn.Sequential(nn.ZeroPad2d((p[1], p[1], p[0], p[0])), child))
    return model


def _repvgg_b3():
    """RepVGG-B3 in deploy form: a plain stack of 3x3 convolutions and ReLUs."""
    from torch import nn

    class Stage(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.rbr_reparam = nn.Conv2d(cin, cout, 3, stride, 1)
            self.nonlinearity = nn.ReLU()

        def forward(self, x):
            return self.nonlinearity(self.rbr_reparam(x))

    class RepVGG(nn.Module):
        def __init__(self):
            super().__init__()
            widths = [64, 192, 384, 768, 2560]
            depths = [1, 4, 6, 16, 1]
            cin = 3
            for i, (w, d) in enumerate(zip(widths, depths)):
                blocks = [Stage(cin if j == 0 else w, w, 2 if j == 0 else 1) for j in range(d)]
                setattr(self, f"stage{i}", blocks[0] if d == 1 else nn.Sequential(*blocks))
                cin = w
            self.gap = nn.AdaptiveAvgPool2d(1)
            self.linear = nn.Linear(2560, 1000)

        def forward(self, x):
            for i in range(5):
                x = getattr(self, f"stage{i}")(x)
            return self.linear(self.gap(x).flatten(1))

    return RepVGG()


def _cyclegan():
    """The CycleGAN ResNet generator (9 residual blocks, instance norm)."""
    from torch import nn

    class Block(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.conv_block = nn.Sequential(
                nn.ReflectionPad2d(1), nn.Conv2d(c, c, 3), nn.InstanceNorm2d(c), nn.ReLU(True),
                nn.ReflectionPad2d(1), nn.Conv2d(c, c, 3), nn.InstanceNorm2d(c))

        def forward(self, x):
            return x + self.conv_block(x)

    layers = [nn.ReflectionPad2d(3), nn.Conv2d(3, 64, 7), nn.InstanceNorm2d(64), nn.ReLU(True)]
    c = 64
    for _ in range(2):
        layers += [nn.Conv2d(c, 2 * c, 3, 2, 1), nn.InstanceNorm2d(2 * c), nn.ReLU(True)]
        c *= 2
    layers += [Block(c) for _ in range(9)]
    for _ in range(2):
        layers += [nn.ConvTranspose2d(c, c // 2, 3, 2, 1, output_padding=1), nn.InstanceNorm2d(c // 2), nn.ReLU(True)]
        c //= 2
    layers += [nn.ReflectionPad2d(3), nn.Conv2d(64, 3, 7), nn.Tanh()]

    class Gen(nn.Module):
        def __init__(self):
            super().__init__()
            self.model = nn.Sequential(*layers)

        def forward(self, x):
            return self.model(x)

    return Gen()


def _resnet_v1c_dilated(depth_blocks=(3, 4, 23, 3), dilations=(1, 1, 2, 4), strides=(1, 2, 1, 1)):
    """mmseg's ResNetV1c backbone (deep 3-conv stem), dilated for output stride 8 or 16."""
    import torch
    from torch import nn
    from torchvision.models.resnet import Bottleneck

    class Backbone(nn.Module):
        def __init__(self):
            super().__init__()
            def cbr(i, o, s):
                return [nn.Conv2d(i, o, 3, s, 1, bias=False), nn.BatchNorm2d(o), nn.ReLU(True)]
            self.stem = nn.Sequential(*cbr(3, 32, 2), *cbr(32, 32, 1), *cbr(32, 64, 1))
            self.maxpool = nn.MaxPool2d(3, 2, 1)
            cin = 64
            for i, (n, d, s) in enumerate(zip(depth_blocks, dilations, strides)):
                planes = 64 * 2 ** i
                blocks = []
                for j in range(n):
                    down = None
                    st = s if j == 0 else 1
                    if j == 0 and (st != 1 or cin != planes * 4):
                        down = nn.Sequential(nn.Conv2d(cin, planes * 4, 1, st, bias=False), nn.BatchNorm2d(planes * 4))
                    b = Bottleneck(cin, planes, st, down, dilation=d)
                    b.conv2.padding = (d, d)
                    blocks.append(b)
                    cin = planes * 4
                setattr(self, f"layer{i + 1}", nn.Sequential(*blocks))

        def forward(self, x):
            x = self.maxpool(self.stem(x))
            for i in range(4):
                x = getattr(self, f"layer{i + 1}")(x)
            return x

    _ = torch
    return Backbone()


def _mmseg_deeplabv3():
    import torch
    import torch.nn.functional as F
    from torch import nn

    def cbr(i, o, k=1, d=1):
        return nn.Sequential(nn.Conv2d(i, o, k, 1, d * (k // 2), dilation=d, bias=False), nn.BatchNorm2d(o), nn.ReLU(True))

    class Head(nn.Module):
        def __init__(self):
            super().__init__()
            self.image_pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), cbr(2048, 512))
            self.aspp = nn.ModuleList([cbr(2048, 512, 1)] + [cbr(2048, 512, 3, d) for d in (12, 24, 36)])
            self.bottleneck = cbr(2560, 512, 3)
            self.conv_seg = nn.Conv2d(512, 19, 1)

        def forward(self, x):
            outs = [F.interpolate(self.image_pool(x), size=x.shape[2:], mode="bilinear")]
            outs += [m(x) for m in self.aspp]
            return self.conv_seg(self.bottleneck(torch.cat(outs, 1)))

    return _SegModel(_resnet_v1c_dilated(), Head())


def _mmseg_fcn_d6():
    import torch
    from torch import nn

    def cbr(i, o, k=1, d=1):
        return nn.Sequential(nn.Conv2d(i, o, k, 1, d * (k // 2), dilation=d, bias=False), nn.BatchNorm2d(o), nn.ReLU(True))

    class Head(nn.Module):
        def __init__(self):
            super().__init__()
            self.convs = nn.Sequential(cbr(2048, 512, 3, 6), cbr(512, 512, 3, 6))
            self.conv_cat = cbr(2560, 512, 3)
            self.conv_seg = nn.Conv2d(512, 19, 1)

        def forward(self, x):
            return self.conv_seg(self.conv_cat(torch.cat([x, self.convs(x)], 1)))

    return _SegModel(_resnet_v1c_dilated(dilations=(1, 1, 1, 2), strides=(1, 2, 2, 1)), Head())


def _SegModel(backbone, head):
    import torch.nn.functional as F
    from torch import nn

    class Seg(nn.Module):
        def __init__(self):
            super().__init__()
            self.backbone = backbone
            self.decode_head = head

        def forward(self, x):
            y = F.interpolate(self.decode_head(self.backbone(x)), size=x.shape[2:], mode="bilinear")
            return y.argmax(1)

    return Seg()


def _deeplabv3_tv():
    import torchvision

    return torchvision.models.segmentation.deeplabv3_resnet101(weights=None, weights_backbone=None,
                                                               aux_loss=True)


def _inception():
    import torchvision

    return torchvision.models.inception_v3(weights=None, aux_logits=False, init_weights=False,
                                           transform_input=False)


_A = "rebuilt at the PPipe artifact's input size for estimator calibration"
CALIBRATION: list[ModelSpec] = [
    ModelSpec("wide_resnet101_2", "classification", ((3, 518, 518),), _tv("wide_resnet101_2"),
              "torchvision wide_resnet101_2", _A),
    ModelSpec("convnext_large", "classification", ((3, 128, 448),), _tv("convnext_large"),
              "torchvision convnext_large", _A),
    ModelSpec("googlenet-v3-pytorch", "classification", ((3, 598, 598),), _inception,
              "torchvision inception_v3", _A),
    ModelSpec("resnext152-32x4d_8xb32_in1k", "classification", ((3, 224, 224),), _resnext152,
              "torchvision ResNet(Bottleneck, [3, 8, 36, 3], groups=32, width_per_group=4)", _A),
    ModelSpec("efficientnet-b8_3rdparty_8xb32-aa-advprop_in1k", "classification", ((3, 672, 672),),
              _efficientnet_b8, "torchvision EfficientNet (width 2.2, depth 3.6)", _A),
    ModelSpec("repvgg-b3", "classification", ((3, 448, 448),), _repvgg_b3, "RepVGG-B3 (deploy form)", _A),
    ModelSpec("cyclegan", "image-to-image", ((3, 256, 256),), _cyclegan, "CycleGAN ResNet-9 generator", _A),
    ModelSpec("deeplabv3_r101-d8_4xb2-40k_cityscapes-512x1024", "segmentation", ((3, 256, 512),),
              _mmseg_deeplabv3, "ResNetV1c-101-D8 + ASPP head (mmseg layout)", _A),
    ModelSpec("fcn-d6_r101-d16_4xb2-40k_cityscapes-512x1024", "segmentation", ((3, 256, 512),),
              _mmseg_fcn_d6, "ResNetV1c-101-D16 + FCN-D6 head (mmseg layout)", _A),
]
