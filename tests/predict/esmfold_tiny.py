"""A tiny random-weight ESMFold, saved with ``save_pretrained`` like a user's weights.

Shared by the ESMFold tests and ``benchmarks/esmfold.py --small``: a 2-layer,
32-wide ESM-2 stem and a 1-block trunk (64 / 32 channels), about 0.2 M
parameters, that folds a 100-residue sequence in well under a second on one
CPU thread. The zero-initialised output layers (pLDDT, pTM, structure-module
updates) get small random values so that confidences and coordinates are not
constants.
"""

from __future__ import annotations

from pathlib import Path

import torch
from transformers import EsmConfig, EsmForProteinFolding
from transformers.models.esm.configuration_esm import get_default_vocab_list


def tiny_config(num_blocks: int = 1, max_recycles: int = 1) -> EsmConfig:
    """An ESMFold config small enough for unit tests."""
    return EsmConfig(
        vocab_size=33,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        is_folding_model=True,
        position_embedding_type="rotary",
        emb_layer_norm_before=False,
        token_dropout=True,
        mask_token_id=32,
        pad_token_id=1,
        vocab_list=list(get_default_vocab_list()),
        esmfold_config={
            "fp16_esm": False,
            "lddt_head_hid_dim": 16,
            "trunk": {
                "num_blocks": num_blocks,
                "sequence_state_dim": 64,
                "pairwise_state_dim": 32,
                "sequence_head_width": 16,
                "pairwise_head_width": 16,
                "position_bins": 32,
                "max_recycles": max_recycles,
                "chunk_size": None,
                "structure_module": {
                    "sequence_dim": 64,
                    "pairwise_dim": 32,
                    "ipa_dim": 8,
                    "resnet_dim": 16,
                    "num_heads_ipa": 2,
                    "num_qk_points": 2,
                    "num_v_points": 2,
                    "num_blocks": 2,
                },
            },
        },
    )


def save_tiny_model(folder: Path, seed: int = 0, **config: int) -> Path:
    """Build a random tiny ESMFold and ``save_pretrained`` it into ``folder``."""
    torch.manual_seed(seed)
    model = EsmForProteinFolding(tiny_config(**config)).eval()
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if parameter.ndim >= 1 and not parameter.any() and not name.startswith("esm."):
                parameter.normal_(0.0, 0.05)
    model.save_pretrained(folder)
    return folder
