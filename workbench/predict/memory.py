"""An estimate of ESMFold's peak GPU memory for one sequence, and whether it fits a GPU.

The model is ``facebook/esmfold_v1`` as :class:`~workbench.predict.esmfold.EsmFoldPredictor`
runs it on a GPU: the ESM-2 3B language model in fp16 and the 48-block folding
trunk (sequence width ``c_s = 1024``, pair width ``c_z = 128``) in bf16 or TF32
with the attention chunk size :func:`~workbench.predict._batching.auto_chunk_size`
picks for the length. This is an **estimate** from the shapes of the largest
tensors, not a measurement: it ignores the allocator's fragmentation (a safety
factor covers some of it) and anything else on the GPU.

Terms, for ``L`` tokens (a complex counts every chain plus a 25-residue linker
between chains):

- weights: 2.84e9 language-model parameters at 2 bytes and 0.69e9 trunk and
  head parameters at 4 bytes (the trunk weights stay fp32 under autocast);
- language model: every layer's hidden states are kept for ESMFold's weighted
  sum (37 × L × 2560 × 2 bytes) plus one layer's attention (40 heads × L² × 2 bytes);
- pair representation: about :data:`PAIR_TENSORS` live ``L² × c_z`` fp32 tensors
  (the pair state, its residual, triangle-multiplication projections and
  gates, the 4× transition);
- triangle attention logits: ``heads × rows × L²`` fp32, where ``rows`` is the
  chunk size (all ``L`` rows when unchunked), so the unchunked cost grows as ``L³``;
- heads: distogram and PAE logits, 64 bins each, ``L² × 64 × 4`` bytes twice.

Examples
--------
>>> round(estimate_peak_bytes(300) / 2**30, 1)
10.7
>>> fits(300, 80 * 2**30), fits(3000, 16 * 2**30)
(True, False)
"""

from __future__ import annotations

from dataclasses import dataclass

from workbench.predict._batching import auto_chunk_size

#: ESM-2 3B language-model parameters (held in fp16 on the GPU).
LM_PARAMETERS = 2.84e9
#: Folding trunk, structure module and heads (held in fp32).
TRUNK_PARAMETERS = 0.69e9
#: Language-model layers (+1 for the embeddings) whose hidden states ESMFold keeps, and their width.
LM_LAYERS, LM_WIDTH, LM_HEADS = 37, 2560, 40
#: Pair-representation width and triangle-attention heads of the trunk.
C_Z, PAIR_HEADS = 128, 4
#: Live ``L x L x c_z`` fp32 tensors at the peak of a folding block.
PAIR_TENSORS = 12
#: Distogram and PAE bins.
HEAD_BINS = 64
#: Multiplier over the sum of the terms for allocator overhead and workspace.
SAFETY = 1.2
#: Residues of the glycine linker between the chains of a complex.
LINKER = 25


@dataclass(frozen=True)
class MemoryEstimate:
    """ESMFold peak GPU memory for one sequence, by term, in bytes.

    Attributes
    ----------
    length : int
        Tokens (all chains plus linkers).
    chunk_size : int or None
        Trunk attention chunk size assumed (None: unchunked).
    weights, language_model, pair, attention, heads : float
        The terms described in the module documentation.
    """

    length: int
    chunk_size: int | None
    weights: float
    language_model: float
    pair: float
    attention: float
    heads: float

    @property
    def total(self) -> float:
        """Peak estimate: the sum of the terms times :data:`SAFETY`."""
        return SAFETY * (self.weights + self.language_model + self.pair + self.attention + self.heads)


def tokens(chains: tuple[str, ...] | list[str]) -> int:
    """Tokens ESMFold folds for a record: every chain plus a linker between chains.

    Examples
    --------
    >>> tokens(("MKV", "GSA"))
    31
    """
    return sum(len(c) for c in chains) + LINKER * max(len(chains) - 1, 0)


def estimate(length: int, chunk_size: int | str | None = "auto") -> MemoryEstimate:
    """Estimate ESMFold's peak GPU memory for one sequence of ``length`` tokens.

    Parameters
    ----------
    length : int
        Tokens (see :func:`tokens` for complexes); must be positive.
    chunk_size : int, "auto" or None
        Trunk attention chunk size; ``"auto"`` uses the predictor's choice for
        the length; None means unchunked.

    Returns
    -------
    MemoryEstimate
    """
    if length <= 0:
        raise ValueError(f"length must be positive, got {length}")
    chunk = auto_chunk_size(length) if chunk_size == "auto" else chunk_size
    if chunk is not None and (not isinstance(chunk, int) or chunk <= 0):
        raise ValueError(f"chunk_size must be a positive int, 'auto' or None, got {chunk_size!r}")
    rows = length if chunk is None else min(int(chunk), length)
    square = float(length) ** 2
    return MemoryEstimate(
        length=length,
        chunk_size=chunk,
        weights=LM_PARAMETERS * 2 + TRUNK_PARAMETERS * 4,
        language_model=LM_LAYERS * length * LM_WIDTH * 2 + LM_HEADS * square * 2,
        pair=PAIR_TENSORS * square * C_Z * 4,
        attention=PAIR_HEADS * rows * square * 4,
        heads=2 * square * HEAD_BINS * 4,
    )


def estimate_peak_bytes(length: int, chunk_size: int | str | None = "auto") -> float:
    """Estimated peak GPU bytes of ESMFold for ``length`` tokens (see :func:`estimate`)."""
    return estimate(length, chunk_size).total


def fits(length: int, gpu_bytes: float, chunk_size: int | str | None = "auto") -> bool:
    """Whether a sequence of ``length`` tokens is estimated to fit in ``gpu_bytes`` of GPU memory.

    Parameters
    ----------
    length : int
        Tokens (see :func:`tokens`).
    gpu_bytes : float
        Memory available on the GPU (total, or free when other work is on it).
    chunk_size : int, "auto" or None
        As for :func:`estimate`.

    Returns
    -------
    bool
    """
    return estimate_peak_bytes(length, chunk_size) <= gpu_bytes


def gpu_memory() -> tuple[str, int] | None:
    """Name and total bytes of the first CUDA device, or None (no torch, or no GPU).

    Imports torch only when called, so the UI loads without it.
    """
    try:
        import torch
    except ImportError:
        return None
    if not torch.cuda.is_available():
        return None
    props = torch.cuda.get_device_properties(0)
    return props.name, int(props.total_memory)
