"""Which compute dtype to train or optimise in: ``float32``, ``bfloat16``, ``float16``, or ``auto`` by hardware.

Shared by ``nst_aug`` (``NSTConfig.precision``) and ``gan_aug`` (``--precision``). Mixed precision keeps
weights and optimizer state float32 and computes in the reduced dtype; it pays only on hardware that multiplies
that dtype natively (float16 on GPUs; bfloat16 on CPUs with AVX512-BF16 or AMX; elsewhere bfloat16 is emulated
and slower than float32).
"""
from __future__ import annotations

import os
from pathlib import Path

PRECISIONS = ("float32", "bfloat16", "float16", "auto")


def _cpu_flags(cpuinfo: str | os.PathLike) -> set[str]:
    try:
        return set(Path(cpuinfo).read_text(errors="replace").split())
    except OSError:
        return set()


def cpu_has_bf16_units(cpuinfo: str | os.PathLike = "/proc/cpuinfo") -> bool:
    """Whether the CPU multiplies bfloat16 in hardware (x86 ``avx512_bf16`` or ``amx_bf16`` flags; Linux only).

    Without them TensorFlow emulates bfloat16 convolutions and they run slower than float32.
    """
    return bool(_cpu_flags(cpuinfo) & {"avx512_bf16", "amx_bf16"})


def cpu_has_amx(cpuinfo: str | os.PathLike = "/proc/cpuinfo") -> bool:
    """Whether the CPU has AMX tile units for bfloat16 (x86 ``amx_bf16`` flag; Linux only): there bfloat16
    matmuls and convolutions run several times faster than with AVX512-BF16's dot products alone."""
    return "amx_bf16" in _cpu_flags(cpuinfo)


def resolve_precision(precision: str, bf16_on_cpu: bool = True) -> str:
    """``float32``, ``bfloat16`` or ``float16``; ``auto`` picks ``float16`` with a GPU, else ``bfloat16`` on a CPU
    with bfloat16 units (:func:`cpu_has_bf16_units`) when ``bf16_on_cpu``, else ``float32``."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}; got {precision!r}")
    if precision != "auto":
        return precision
    import tensorflow as tf

    if tf.config.list_physical_devices("GPU"):
        return "float16"
    return "bfloat16" if bf16_on_cpu and cpu_has_bf16_units() else "float32"
