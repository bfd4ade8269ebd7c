"""ESMFold through transformers' ``EsmForProteinFolding``, batched, chunked and memory-safe.

What this adds to a plain ``model.infer(seq)`` loop:

- **Batching.** Sequences are sorted by length and packed to a token budget
  and a padding limit (:mod:`workbench.predict._batching`), so a batch holds
  sequences of similar length and padding is small.
- **Chunked attention** chosen by each sequence's length (none up to 512
  tokens, then 128, 64, 32) and recorded in provenance: chunking changes
  results on long sequences in the last digits.
- **Recycles.** ``num_recycles`` is passed to ``forward`` (``infer`` drops it);
  the default runs as many trunk passes as ``infer`` does.
- **Precision** (see :mod:`workbench.predict.esmfold_model`): fp16 language
  model and a bf16 or TF32 trunk on the GPU; fp32 everywhere on the CPU.
- **Out of memory**: a batch is split in halves down to single sequences, then
  the chunk size shrinks to 16, then the sequence runs on the CPU; a sequence
  fails only with the reason recorded in its outcome.
- **Complexes** (``A:B``): chains joined with a 25-glycine linker and a 512
  residue-index gap, split back into chains A, B, ... without the linker
  (:mod:`workbench.predict.esmfold_complex`).
- **Outputs**: a :class:`~workbench.predict.base.Prediction` per record with the
  structure (pLDDT 0-100 in the B-factors), per-residue pLDDT (transformers
  gives 0-1 per atom37 slot; the CA value is scaled by 100), pTM (recomputed
  per sequence: transformers' batched ``ptm`` is one number for the whole
  batch), ipTM for complexes, the PAE matrix, and provenance.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch

from workbench.io.fasta import SequenceRecord
from workbench.predict._batching import auto_chunk_size, pack_by_tokens, smaller_chunks
from workbench.predict.base import Prediction, PredictionOutcome, Provenance
from workbench.predict.esmfold_complex import (
    DEFAULT_CHAIN_GAP,
    DEFAULT_LINKER,
    FoldInput,
    build_structure,
    encode_chains,
    tm_scores,
)
from workbench.predict.esmfold_model import (
    LM_DTYPES,
    TRUNK_DTYPES,
    EsmFoldWeightsError,
    LoadedModel,
    load_model,
    matmul_precision,
)
from workbench.predict.esmfold_options import DEFAULT_MAX_BATCH, DEFAULT_WEIGHTS
from workbench.predict.outputs import with_plddt

__all__ = ["EsmFoldPredictor", "EsmFoldWeightsError", "is_out_of_memory"]

#: Padded tokens per batch (``n_sequences * longest``) by device type.
DEFAULT_TOKEN_BUDGET = {"cuda": 4096, "cpu": 1024}
#: Padding overhead allowed in a batch's pair entries, by device type. The CPU
#: gains little from batching (1.0x at 100 residues, 1.2x at 40 on a
#: scaled-down model), so it tolerates little padding; a GPU runs a batch of
#: short sequences far better than one at a time.
DEFAULT_MAX_PADDING = {"cuda": 0.25, "cpu": 0.05}


def is_out_of_memory(exc: BaseException) -> bool:
    """Whether ``exc`` is an out-of-memory error from torch (CUDA or the CPU allocator)."""
    if isinstance(exc, torch.cuda.OutOfMemoryError | MemoryError):
        return True
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and ("out of memory" in text or "can't allocate memory" in text)


@dataclass
class _Item:
    index: int
    record: SequenceRecord
    fold: FoldInput


@dataclass
class _Folded:
    prediction: Prediction | None = None
    error: str | None = None


class EsmFoldPredictor:
    """ESMFold structure prediction.

    Parameters
    ----------
    weights : str
        Local folder (``save_pretrained`` output or a copy of the hub repository)
        or hub id; default ``facebook/esmfold_v1``.
    device : str or torch.device, optional
        Default: ``"cuda"`` when available, else ``"cpu"``.
    trunk_dtype : {"auto", "fp32", "tf32", "bf16"}
        Folding-trunk precision. ``"auto"``: bf16 on a GPU that supports it,
        else TF32; fp32 on the CPU (the only choice there).
    lm_dtype : {"auto", "fp32", "fp16", "bf16"}
        Language-model precision. ``"auto"``: fp16 on the GPU, fp32 on the CPU.
    chunk_size : int, "auto" or None
        Attention chunk size of the trunk; ``"auto"`` picks it from each
        sequence's length; None never chunks (until memory runs out).
    num_recycles : int, optional
        Trunk recycles after the first pass (passed to ``forward``, which runs
        ``num_recycles + 1`` trunk passes). None: what ``forward`` and
        ``infer`` do by default, ``max_recycles`` passes in all (esmfold_v1:
        4 passes, recorded as ``num_recycles = 3``).
    token_budget : int, optional
        Padded tokens per batch; default 4096 on the GPU, 1024 on the CPU.
    max_batch : int
        Most sequences in one batch.
    max_padding : float, optional
        Largest padding overhead of a batch in pair entries (0.1: the padded
        ``n * longest**2`` is at most 1.1 times the real ``sum(length**2)``);
        default 0.25 on the GPU, 0.05 on the CPU.
    linker_length, chain_gap : int
        Glycine linker length and residue-index jump between complex chains.
    cpu_fallback : bool
        Run a sequence on the CPU when it does not fit on the GPU even alone
        with the smallest chunk.
    allow_download : bool
        Allow fetching a hub id that is not cached (never when ``HF_HUB_OFFLINE`` is set).

    Notes
    -----
    The model is loaded on first use (or by :meth:`load`) and cached for the
    process; missing weights raise :class:`EsmFoldWeightsError` from there.
    """

    name: ClassVar[str] = "esmfold"

    def __init__(
        self,
        weights: str = DEFAULT_WEIGHTS,
        *,
        device: str | torch.device | None = None,
        trunk_dtype: str = "auto",
        lm_dtype: str = "auto",
        chunk_size: int | str | None = "auto",
        num_recycles: int | None = None,
        token_budget: int | None = None,
        max_batch: int = DEFAULT_MAX_BATCH,
        max_padding: float | None = None,
        linker_length: int = DEFAULT_LINKER,
        chain_gap: int = DEFAULT_CHAIN_GAP,
        cpu_fallback: bool = True,
        allow_download: bool = False,
    ) -> None:
        self.weights = str(weights)
        self.device = torch.device(device if device is not None else ("cuda" if torch.cuda.is_available() else "cpu"))
        self.trunk_dtype = _resolve_trunk_dtype(trunk_dtype, self.device)
        self.lm_dtype = _resolve_lm_dtype(lm_dtype, self.device)
        if not (chunk_size is None or chunk_size == "auto" or (isinstance(chunk_size, int) and chunk_size > 0)):
            raise ValueError(f"chunk_size must be a positive int, 'auto' or None, got {chunk_size!r}")
        self.chunk_size = chunk_size
        if num_recycles is not None and num_recycles < 0:
            raise ValueError(f"num_recycles must be >= 0, got {num_recycles}")
        self.num_recycles = num_recycles
        self.token_budget = token_budget or DEFAULT_TOKEN_BUDGET.get(self.device.type, 1024)
        if self.token_budget < 1 or max_batch < 1:
            raise ValueError("token_budget and max_batch must be positive")
        self.max_batch = max_batch
        self.max_padding = DEFAULT_MAX_PADDING.get(self.device.type, 0.05) if max_padding is None else max_padding
        if self.max_padding < 0:
            raise ValueError(f"max_padding must be >= 0, got {max_padding}")
        if linker_length < 0 or chain_gap < 0:
            raise ValueError("linker_length and chain_gap must be >= 0")
        self.linker_length = linker_length
        self.chain_gap = chain_gap
        self.cpu_fallback = cpu_fallback
        self.allow_download = allow_download
        self._loaded: LoadedModel | None = None

    # -- model -------------------------------------------------------------------

    def load(self) -> LoadedModel:
        """Load (or take from the process cache) the model for these settings."""
        if self._loaded is None:
            self._loaded = load_model(self.weights, self.device, self.lm_dtype, self.trunk_dtype, self.allow_download)
        return self._loaded

    # -- prediction -----------------------------------------------------------------

    def predict(self, records: Sequence[SequenceRecord]) -> list[PredictionOutcome]:
        """Fold ``records``; one outcome per record, in input order.

        Raises
        ------
        EsmFoldWeightsError
            When the weights are missing (a setup error, not a per-record one).
        """
        outcomes: list[PredictionOutcome | None] = [None] * len(records)
        items: list[_Item] = []
        for index, record in enumerate(records):
            try:
                fold = encode_chains(tuple(record.chains), self.linker_length, self.chain_gap)
            except ValueError as exc:
                outcomes[index] = PredictionOutcome(record=record, error=f"{record.id}: {exc}")
                continue
            items.append(_Item(index, record, fold))
        if items:
            loaded = self.load()
            lengths = [item.fold.n_tokens for item in items]
            group = auto_chunk_size if self.chunk_size == "auto" else None
            batches = pack_by_tokens(
                lengths, self.token_budget, self.max_batch, group=group, max_padding=self.max_padding
            )
            for batch in batches:
                members = [items[i] for i in batch]
                chunk = self._chunk_for(max(m.fold.n_tokens for m in members))
                for item, folded in zip(members, self._fold_safely(loaded, members, chunk, []), strict=True):
                    outcomes[item.index] = PredictionOutcome(
                        record=item.record, prediction=folded.prediction, error=folded.error
                    )
        return [outcome for outcome in outcomes if outcome is not None]

    def _chunk_for(self, length: int) -> int | None:
        if self.chunk_size == "auto":
            return auto_chunk_size(length)
        return self.chunk_size  # type: ignore[return-value]

    def _fold_safely(
        self, loaded: LoadedModel, items: list[_Item], chunk: int | None, fallbacks: list[str]
    ) -> list[_Folded]:
        """Fold ``items``; on out of memory split the batch, then shrink the chunk, then go to the CPU."""
        try:
            return self._fold(loaded, items, chunk, fallbacks)
        except Exception as exc:  # every failure becomes a recorded reason
            _release_memory(loaded.device)
            oom = is_out_of_memory(exc)
            if len(items) > 1:
                note = f"out of memory with {len(items)} sequences: split" if oom else None
                half = len(items) // 2
                more = [*fallbacks, note] if note else fallbacks
                return self._fold_safely(loaded, items[:half], chunk, more) + self._fold_safely(
                    loaded, items[half:], chunk, more
                )
            if not oom:
                return [_Folded(error=f"{items[0].record.id}: {type(exc).__name__}: {exc}")]
            for smaller in smaller_chunks(chunk):
                try:
                    return self._fold(loaded, items, smaller, [*fallbacks, f"out of memory at chunk {chunk}"])
                except Exception as retry:
                    _release_memory(loaded.device)
                    if not is_out_of_memory(retry):
                        return [_Folded(error=f"{items[0].record.id}: {type(retry).__name__}: {retry}")]
                    chunk = smaller
            reason = f"out of memory on {loaded.device} even alone at chunk size {chunk}"
            if self.cpu_fallback:
                try:
                    cpu = load_model(self.weights, torch.device("cpu"), "fp32", "fp32")
                    if cpu is not loaded:  # not already the fp32 CPU model that just failed
                        return self._fold(cpu, items, auto_chunk_size(items[0].fold.n_tokens), [*fallbacks, reason])
                except Exception as last:
                    return [_Folded(error=f"{items[0].record.id}: {reason}; on the CPU: {type(last).__name__}: {last}")]
            return [_Folded(error=f"{items[0].record.id}: {reason}")]

    def _fold(self, loaded: LoadedModel, items: list[_Item], chunk: int | None, fallbacks: list[str]) -> list[_Folded]:
        """One forward pass over a padded batch; raises what the model raises."""
        model, device = loaded.model, loaded.device
        n_max = max(item.fold.n_tokens for item in items)
        aatype = torch.zeros((len(items), n_max), dtype=torch.long)
        mask = torch.zeros((len(items), n_max), dtype=torch.long)
        position_ids = torch.zeros((len(items), n_max), dtype=torch.long)
        for b, item in enumerate(items):
            n = item.fold.n_tokens
            aatype[b, :n] = torch.from_numpy(item.fold.aatype)
            mask[b, :n] = 1
            position_ids[b, :n] = torch.from_numpy(item.fold.residue_index)
        recycles = self.num_recycles
        if recycles is None:  # forward(num_recycles=None) runs max_recycles passes, the first one included
            # The trunk's own config is the TrunkConfig object that config.esmfold_config.trunk holds, and the
            # one its forward reads; typed here, as transformers types the esmfold_config chain "dict | ... | None".
            max_recycles: int = model.trunk.config.max_recycles
            recycles = max(max_recycles - 1, 0)
        start = time.perf_counter()
        with loaded.lock, torch.inference_mode(), matmul_precision(loaded.trunk_dtype, device):
            model.trunk.set_chunk_size(chunk)
            output = model(
                aatype.to(device),
                attention_mask=mask.to(device),
                position_ids=position_ids.to(device),
                num_recycles=recycles,
            )
            if device.type == "cuda":
                torch.cuda.synchronize(device)
        seconds = time.perf_counter() - start
        positions = output.positions[-1].float().cpu().numpy()
        plddt = output.plddt.float().cpu().numpy()
        pae = output.predicted_aligned_error.float().cpu().numpy()
        ptm_logits = output.ptm_logits
        total = sum(item.fold.n_tokens for item in items)
        folded = []
        for b, item in enumerate(items):
            keep = np.flatnonzero(item.fold.keep)
            structure = build_structure(item.fold, positions[b], name=item.record.name)
            residue_plddt = np.clip(plddt[b, keep, 1] * 100.0, 0.0, 100.0)  # atom37 slot 1 is CA
            keep_t = torch.as_tensor(keep, device=ptm_logits.device)
            ptm, iptm = tm_scores(ptm_logits[b][keep_t][:, keep_t], item.fold.chain_index)
            provenance = Provenance(
                method=self.name,
                model=loaded.weights,
                weights_hash=loaded.weights_hash,
                parameters={
                    "trunk_dtype": loaded.trunk_dtype,
                    "lm_dtype": loaded.lm_dtype,
                    "chunk_size": chunk,
                    "num_recycles": int(recycles),
                    "batch_size": len(items),
                    "padded_length": n_max,
                    "linker_length": self.linker_length if len(item.fold.chains) > 1 else 0,
                    "chain_gap": self.chain_gap if len(item.fold.chains) > 1 else 0,
                    "fallbacks": list(fallbacks),
                    **_versions(),
                },
                device=str(device),
                timings={
                    "load": round(loaded.load_seconds, 4),
                    "fold": round(seconds * item.fold.n_tokens / total, 4),
                    "batch_fold": round(seconds, 4),
                },
            )
            prediction = Prediction(
                structure=with_plddt(structure, residue_plddt),
                plddt=residue_plddt,
                ptm=min(max(ptm, 0.0), 1.0),
                pae=pae[b][np.ix_(keep, keep)],
                provenance=provenance,
                iptm=None if iptm is None else min(max(iptm, 0.0), 1.0),
                name=item.record.name,
            )
            folded.append(_Folded(prediction=prediction))
        return folded


def _resolve_trunk_dtype(trunk_dtype: str, device: torch.device) -> str:
    if trunk_dtype == "auto":
        if device.type != "cuda":
            return "fp32"
        return "bf16" if torch.cuda.is_bf16_supported() else "tf32"
    if trunk_dtype not in TRUNK_DTYPES:
        raise ValueError(f"trunk_dtype must be one of auto, {', '.join(TRUNK_DTYPES)}; got {trunk_dtype!r}")
    if device.type == "cpu" and trunk_dtype != "fp32":
        raise ValueError(f"trunk_dtype {trunk_dtype!r} is for the GPU; the CPU runs the trunk in fp32")
    return trunk_dtype


def _resolve_lm_dtype(lm_dtype: str, device: torch.device) -> str:
    if lm_dtype == "auto":
        return "fp16" if device.type == "cuda" else "fp32"
    if lm_dtype not in LM_DTYPES:
        raise ValueError(f"lm_dtype must be one of auto, {', '.join(LM_DTYPES)}; got {lm_dtype!r}")
    return lm_dtype


def _release_memory(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.empty_cache()


def _versions() -> dict[str, Any]:
    import transformers

    return {"transformers": transformers.__version__, "torch": torch.__version__}
