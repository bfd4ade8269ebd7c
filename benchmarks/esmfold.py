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
    python benchmarks/esmfold.py --device cuda --precision-check 4  # bf16 / TF32 trunk against fp32
    python benchmarks/esmfold.py --small                            # CPU smoke run: scaled-down model

Prints residues/s of both, the ratio, peak GPU memory by batch, (with
``--precision-check N``) how far a bf16 or TF32 trunk moves N structures from
the fp32 trunk's (CA RMSD after superposition, pLDDT differences), and (with
``--probe-longest``) the longest single sequence that folds within a time budget.
With random weights the structures mean nothing, but the rounding a reduced
precision adds, and how recycles carry it, is the same arithmetic.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch
from transformers import EsmConfig, EsmForProteinFolding
from transformers.models.esm.configuration_esm import get_default_vocab_list

from workbench.analysis import rmsd
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
    for i, record in enumerate(records, 1):
        with torch.no_grad():
            model.infer(record.chains[0])
        if i % 4 == 0 or i == len(records):
            sync(device)
            print(f"  plain loop: {i}/{len(records)} sequences in {time.perf_counter() - start:.1f} s", flush=True)
    sync(device)
    return time.perf_counter() - start


def precision_check(
    model: torch.nn.Module, device: torch.device, records: list[SequenceRecord], weights: str
) -> dict[str, dict[str, float]]:
    """Fold ``records`` with an fp32, a TF32 and a bf16 trunk; how far the reduced ones move from fp32.

    Runs fp32 and TF32 first: a bf16 predictor wraps the trunk blocks in place
    (and ``weights`` is the name the throughput run uses, so it reuses that wrapping).
    """
    folded = {}
    for trunk_dtype in ("fp32", "tf32", "bf16"):
        name = weights if trunk_dtype == "bf16" else f"{weights}-{trunk_dtype}"
        predictor = EsmFoldPredictor(name, device=device, trunk_dtype=trunk_dtype)
        cache_model(model, predictor.weights, device, predictor.lm_dtype, predictor.trunk_dtype)
        outcomes = predictor.predict(records)
        failed = [o.error for o in outcomes if not o.ok]
        if failed:
            raise RuntimeError(f"precision check, trunk {trunk_dtype}: {failed}")
        folded[trunk_dtype] = [o.prediction for o in outcomes]
    figures = {}
    for trunk_dtype in ("tf32", "bf16"):
        pairs = list(zip(folded[trunk_dtype], folded["fp32"], strict=True))
        ca_rmsd = [rmsd(ours.structure, ref.structure, "CA") for ours, ref in pairs]
        plddt_diff = np.concatenate([np.abs(ours.plddt - ref.plddt) for ours, ref in pairs])
        ptm_diff = [abs(ours.ptm - ref.ptm) for ours, ref in pairs]
        figures[trunk_dtype] = {
            "ca_rmsd_max": float(max(ca_rmsd)),
            "ca_rmsd_mean": float(np.mean(ca_rmsd)),
            "plddt_abs_diff_mean": float(plddt_diff.mean()),
            "plddt_abs_diff_max": float(plddt_diff.max()),
            "ptm_abs_diff_max": float(max(ptm_diff)),
        }
        print(
            f"  trunk {trunk_dtype} vs fp32 over {len(pairs)} sequences: CA RMSD mean {np.mean(ca_rmsd):.3f} Å, "
            f"max {max(ca_rmsd):.3f} Å; |ΔpLDDT| mean {plddt_diff.mean():.2f}, max {plddt_diff.max():.2f}; "
            f"|ΔpTM| max {max(ptm_diff):.4f}"
        )
    return figures


def probe_longest(
    predictor: EsmFoldPredictor, device: torch.device, seed: int, budget_s: float
) -> tuple[int, dict[int, float], dict[int, float], str]:
    """Fold one sequence of each probe length in turn until one fails, falls back, or time runs out.

    Returns the longest length folded on ``device``, peak memory (GiB) and seconds
    by length, and why the probe stopped. Folding time grows about as the cube of
    the length; a length whose predicted time (from the last one) exceeds what is
    left of ``budget_s`` is not started.
    """
    longest, memory, seconds = 0, {}, {}
    started = time.perf_counter()
    stopped = "every probe length folded"
    for length in (100, 200, 400, 800, 1000, 1500, 2000, 2500, 3000, 4000):
        if seconds:
            last = max(seconds)
            predicted = seconds[last] * (length / last) ** 3
            left = budget_s - (time.perf_counter() - started)
            if predicted > left:
                stopped = f"time: {length} residues would take about {predicted:.0f} s, {left:.0f} s left"
                break
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        record = length_mix(1, length, length, seed)[0]
        start = time.perf_counter()
        outcome = predictor.predict([record])[0]
        if not outcome.ok:
            stopped = f"{length} residues failed: {outcome.error}"
            break
        if outcome.prediction.provenance.device != str(device) or outcome.prediction.provenance.parameters["fallbacks"]:
            stopped = f"{length} residues needed a fallback: {outcome.prediction.provenance.parameters['fallbacks']}"
            break
        seconds[length] = time.perf_counter() - start
        longest = length
        if device.type == "cuda":
            memory[length] = torch.cuda.max_memory_allocated(device) / 2**30
        print(
            f"  length {length}: ok in {seconds[length]:.1f} s ({memory.get(length, 0):.1f} GiB peak, "
            f"chunk {outcome.prediction.provenance.parameters['chunk_size']})"
        )
    return longest, memory, seconds, stopped


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
    parser.add_argument("--probe-seconds", type=float, default=150.0, help="time budget of --probe-longest")
    parser.add_argument("--precision-check", type=int, default=0, metavar="N",
                        help="fold N sequences with fp32, TF32 and bf16 trunks and compare (GPU)")
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

    if args.precision_check:
        print(f"precision check ({args.precision_check} sequences):")
        check_records = length_mix(args.precision_check, 100, 400, args.seed + 1)
        figures["precision_vs_fp32"] = precision_check(model, device, check_records, "benchmark-random-weights")

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
        longest, memory, probe_seconds, stopped = probe_longest(predictor, device, args.seed, args.probe_seconds)
        figures |= {"longest_folded": longest, "peak_gib_by_length": memory, "seconds_by_length": probe_seconds,
                    "probe_stopped_by": stopped}
        print(f"longest single sequence folded on {device}: {longest} (probe stopped by {stopped})")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(figures, handle, indent=2)


if __name__ == "__main__":
    main()
