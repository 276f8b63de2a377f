"""Where and in which precision a loaded model runs: one default for every loader (VLM, QAS judge).

The device defaults to this process's accelerate device (its own GPU under `accelerate launch`, else CUDA when
there is one, else the CPU); the dtype to bfloat16 on a GPU that supports it, float16 on other GPUs, float32 on the
CPU. transformers renamed `from_pretrained`'s `torch_dtype` to `dtype` in 4.56; `dtype_argument` names it right
for the installed version.
"""

from __future__ import annotations

from typing import Any, Optional


def model_placement(device: Optional[Any] = None, dtype: Optional[Any] = None) -> tuple[Any, Any]:
    """(`torch.device`, `torch.dtype`) from what the caller gave: a device or None, a dtype, its name or None."""
    import torch

    if device is None:
        from accelerate import PartialState

        device = PartialState().device
    device = torch.device(device)
    if isinstance(dtype, str):
        dtype = getattr(torch, dtype)
    if dtype is None:
        if device.type != "cuda":
            dtype = torch.float32
        else:
            dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return device, dtype


def dtype_argument(dtype: Any) -> dict[str, Any]:
    """The `from_pretrained` keyword that sets the weights' dtype, for the installed transformers."""
    import transformers
    from packaging import version

    name = "dtype" if version.parse(transformers.__version__) >= version.parse("4.56") else "torch_dtype"
    return {name: dtype}
