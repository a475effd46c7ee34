"""MXFP4 (OCP microscaling): E2M1 weights and activations in groups of 32, each group scale a
power of two (E8M0); activation scales computed at run time (no calibration data)."""

from compsafe.compression.base import register
from compsafe.compression.formats import FormatQuantization


@register
class MXFP4(FormatQuantization):
    name = "mxfp4"
    preset = "MXFP4"
    weight_bits = 4
    needs_calibration = False
    group = 32
    cacheable = False  # the checkpoint unpacks in bfloat16: not the fp32 model evaluated
