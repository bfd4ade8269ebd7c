"""ESMFold throughput: workbench's EsmFoldPredictor against a plain one-at-a-time ``model.infer`` loop.

Both run the same randomly initialised model in the same process on the same
length mix. Random weights have exactly the compute of the real esmfold_v1
weights (same architecture, same recycles), so residues per second carry over;
the structures themselves are meaningless.

The plain loop is what the transformers documentation shows: ``from_pretrained``
defaults (language model in fp16 on the GPU as the config asks, trunk in fp32,
the config's chunk size), ``model.infer(seq)`` for one sequence at a time.
Ours: length-sorted batches packed to a token budget, chunk size by length, a
bf16 (or TF32) trunk on the GPU.

Usage::

    python benchmarks/esmfold.py --device cuda                      # full size, 200 sequences, 50-800
    python benchmarks/esmfold.py --device cuda --probe-longest      # also the longest sequence that fits
    python benchmarks/esmfold.py --small                            # CPU smoke run: scaled-down model

Prints residues/s of both, the ratio, peak GPU memory by batch, and (with
``--probe-longest``) the longest single sequence that folds.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch
from transformers import EsmConfig, EsmForProteinFolding
from transformers.models.esm.configuration_esm import get_default_vocab_list

from workbench.io.fasta import SequenceRecord
from workbench.predict.esmfold import EsmFoldPredictor
from workbench.predict.esmfold_model import cache_model

AMINO_ACIDS = "ACDEFGHIKLMNPQRSTVWY"


def _esm_config(*, hidden: int, layers: int, heads: int, esmfold_config: dict, **extra: float) -> EsmConfig:
    """An ESMFold config with the ESM-2 vocabulary and stem settings shared by every size."""
    return EsmConfig(
        vocab_size=33,
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=4 * hidden,
        max_position_embeddings=1026,
        position_embedding_type="rotary",
        emb_layer_norm_before=False,
        token_dropout=True,
        mask_token_id=32,
        pad_token_id=1,
        is_folding_model=True,
        vocab_list=list(get_default_vocab_list()),
        esmfold_config=esmfold_config,
        **extra,
    )


def esmfold_v1_config() -> EsmConfig:
    """The architecture of facebook/esmfold_v1: ESM-2 3B stem, 48-block trunk, 8-block structure module."""
    return _esm_config(
        hidden=2560, layers=36, heads=40, layer_norm_eps=1e-5,
        esmfold_config={"fp16_esm": True, "lddt_head_hid_dim": 128, "trunk": {"num_blocks": 48, "chunk_size": None}},
    )


def small_config() -> EsmConfig:
    """A scaled-down ESMFold (ESM-2 8M-sized stem, 8-block trunk) for a CPU smoke run."""
    return _esm_config(
        hidden=320, layers=6, heads=20,
        esmfold_config={
            "fp16_esm": False,
            "lddt_head_hid_dim": 64,
            "trunk": {
                "num_blocks": 8,
                "sequence_state_dim": 256,
                "pairwise_state_dim": 64,
                "chunk_size": None,
                "structure_module": {"sequence_dim": 128, "pairwise_dim": 64, "num_blocks": 4},
            },
        },
    )


def length_mix(n: int, low: int, high: int, seed: int) -> list[SequenceRecord]:
    rng = np.random.default_rng(seed)
    lengths = rng.integers(low, high + 1, size=n)
    return [
        SequenceRecord(id=f"s{i}", name=f"s{i}", chains=("".join(rng.choice(list(AMINO_ACIDS), size=int(length))),))
        for i, length in enumerate(lengths)
    ]


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def plain_loop(model: torch.nn.Module, records: list[SequenceRecord], device: torch.device) -> float:
    """Seconds for ``model.infer`` on each sequence in turn (the transformers documentation's loop)."""
    sync(device)
    start = time.perf_counter()
    for record in records:
        with torch.no_grad():
            model.infer(record.chains[0])
    sync(device)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--small", action="store_true", help="scaled-down model and length mix (CPU smoke run)")
    parser.add_argument("-n", type=int, default=None, help="number of sequences (default 200; 12 with --small)")
    parser.add_argument("--min-length", type=int, default=None)
    parser.add_argument("--max-length", type=int, default=None)
    parser.add_argument("--trunk-dtype", default="auto")
    parser.add_argument("--token-budget", type=int, default=None)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--skip-plain", action="store_true", help="only ours (the plain loop takes longest)")
    parser.add_argument("--probe-longest", action="store_true", help="longest single sequence that folds (GPU)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", help="write the figures to this file")
    args = parser.parse_args(argv)

    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    n = args.n or (12 if args.small else 200)
    low = args.min_length or (30 if args.small else 50)
    high = args.max_length or (150 if args.small else 800)
    records = length_mix(n, low, high, args.seed)
    residues = sum(r.length for r in records)

    torch.manual_seed(args.seed)
    start = time.perf_counter()
    config = small_config() if args.small else esmfold_v1_config()
    with torch.device(device):
        model = EsmForProteinFolding(config).eval()
    n_params = sum(p.numel() for p in model.parameters())
    print(
        f"model: {'small' if args.small else 'esmfold_v1'} architecture, random weights, "
        f"{n_params / 1e6:.0f} M parameters, built in {time.perf_counter() - start:.1f} s on {device}"
    )
    print(f"inputs: {n} sequences, {low}-{high} residues, {residues} residues in all")
    figures: dict = {"device": str(device), "n": n, "residues": residues, "parameters": n_params}

    # warm-up (CUDA context, kernels) on a short sequence, not timed
    with torch.no_grad():
        model.infer(records[0].chains[0][:30])

    if not args.skip_plain:
        seconds = plain_loop(model, records, device)
        figures["plain_seconds"] = seconds
        figures["plain_residues_per_s"] = residues / seconds
        print(f"plain infer loop : {seconds:8.1f} s  {residues / seconds:9.1f} residues/s")

    predictor = EsmFoldPredictor(
        "benchmark-random-weights", device=device, trunk_dtype=args.trunk_dtype, token_budget=args.token_budget
    )
    cache_model(model, predictor.weights, device, predictor.lm_dtype, predictor.trunk_dtype)
    predictor.predict(records[:1])  # warm-up
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    sync(device)
    start = time.perf_counter()
    outcomes = predictor.predict(records)
    sync(device)
    seconds = time.perf_counter() - start
    failed = [o.error for o in outcomes if not o.ok]
    figures |= {
        "ours_seconds": seconds,
        "ours_residues_per_s": residues / seconds,
        "trunk_dtype": predictor.trunk_dtype,
        "lm_dtype": predictor.lm_dtype,
        "token_budget": predictor.token_budget,
        "failed": failed,
    }
    print(
        f"workbench batched: {seconds:8.1f} s  {residues / seconds:9.1f} residues/s  "
        f"(trunk {predictor.trunk_dtype}, LM {predictor.lm_dtype}, token budget {predictor.token_budget})"
    )
    if "plain_seconds" in figures:
        figures["speedup"] = figures["plain_seconds"] / seconds
        print(f"speed-up         : {figures['speedup']:.2f}x")
    batches = sorted(
        {
            (
                o.prediction.provenance.parameters["padded_length"],
                o.prediction.provenance.parameters["batch_size"],
                o.prediction.provenance.parameters["chunk_size"],
                o.prediction.provenance.timings["batch_fold"],
            )
            for o in outcomes
            if o.ok
        }
    )
    print(f"batches: {len(batches)} (padded length, size, chunk, seconds): {batches[:3]} ... {batches[-3:]}")
    if device.type == "cuda":
        figures["peak_gib"] = torch.cuda.max_memory_allocated(device) / 2**30
        print(f"peak GPU memory over the batched run: {figures['peak_gib']:.1f} GiB")
    if failed:
        print(f"failed: {failed}")

    if args.probe_longest:
        longest = 0
        memory = {}
        for length in (100, 200, 400, 800, 1000, 1500, 2000, 2500, 3000, 4000):
            if device.type == "cuda":
                torch.cuda.reset_peak_memory_stats(device)
            record = length_mix(1, length, length, args.seed)[0]
            outcome = predictor.predict([record])[0]
            if not outcome.ok or outcome.prediction.provenance.device != str(device):
                break
            longest = length
            if device.type == "cuda":
                memory[length] = torch.cuda.max_memory_allocated(device) / 2**30
            print(
                f"  length {length}: ok ({memory.get(length, 0):.1f} GiB, "
                f"chunk {outcome.prediction.provenance.parameters['chunk_size']})"
            )
        figures["longest_that_fits"] = longest
        figures["peak_gib_by_length"] = memory
        print(f"longest single sequence folded on {device}: {longest}")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(figures, handle, indent=2)


if __name__ == "__main__":
    main()
