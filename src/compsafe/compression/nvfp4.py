"""NVFP4: E2M1 weights and activations in groups of 16, each group scale stored in FP8 E4M3
under one FP32 global scale per tensor; the activations' global scale is calibrated, their
group scales are computed at run time (compressed-tensors' NVFP4 preset, Blackwell's format)."""

from compsafe.compression.base import register
from compsafe.compression.formats import FormatQuantization


@register
class NVFP4(FormatQuantization):
    name = "nvfp4"
    preset = "NVFP4"
    weight_bits = 4
    group = 16
    cacheable = False  # the checkpoint unpacks in bfloat16: not the fp32 model evaluated
