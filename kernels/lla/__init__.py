"""Local Linear Attention (Zuo et al. 2025, arXiv 2510.01450): fp64 references, blockwise FlashLLA, Triton."""

from attnbench.kernels.lla.dispatch import lla

__all__ = ["lla"]
