"""Plain descriptions of a structure: what ``workbench info`` prints, as data."""

from __future__ import annotations

from typing import Any

import numpy as np

from workbench.residues import is_water, one_letter_code
from workbench.structure import Structure


def describe_structure(structure: Structure) -> dict[str, Any]:
    """Chains, residues, sequences, hetero groups, missing residues and models, as JSON-ready data.

    Parameters
    ----------
    structure : Structure

    Returns
    -------
    dict
        Keys ``name``, ``n_models``, ``n_atoms``, ``n_residues``, ``n_waters``,
        ``chains`` (list of per-chain dicts), ``hetero_groups``,
        ``modified_residues`` and ``missing_residues``.
    """
    residues = structure.residues
    sequences = structure.sequences
    chains = []
    for chain in structure.chains:
        in_chain = residues.chain_id == chain
        polymer = np.array([one_letter_code(str(n)) is not None for n in residues.res_name[in_chain]])
        waters = sum(1 for n in residues.res_name[in_chain] if is_water(str(n)))
        missing = sorted(m.res_id for m in structure.missing_residues if m.chain_id == chain)
        chains.append({
            "chain": chain,
            "n_atoms": int((structure.chain_id == chain).sum()),
            "n_residues": int(in_chain.sum()),
            "n_polymer_residues": int(polymer.sum()),
            "n_waters": waters,
            "sequence": sequences.get(chain, ""),
            "n_missing_residues": len(missing),
            "missing_ranges": _ranges(missing),
        })
    return {
        "name": structure.name,
        "n_models": structure.n_models,
        "n_atoms": structure.n_atoms,
        "n_residues": len(residues),
        "n_waters": structure.n_waters(),
        "chains": chains,
        "hetero_groups": structure.hetero_groups(),
        "modified_residues": [f"{c}:{n} {r}{i}" for c, r, i, n in structure.modified_residues()],
        "missing_residues": len(structure.missing_residues),
    }


def format_description(description: dict[str, Any]) -> str:
    """The description as the text ``workbench info`` prints."""
    d = description
    lines = [
        f"{d['name'] or 'structure'}: {d['n_models']} model(s), {len(d['chains'])} chain(s), "
        f"{d['n_residues']} residues, {d['n_atoms']} atoms, {d['n_waters']} waters",
    ]
    for chain in d["chains"]:
        label = chain["chain"] or "(blank)"
        lines.append(
            f"  chain {label}: {chain['n_residues']} residues ({chain['n_polymer_residues']} polymer), "
            f"{chain['n_atoms']} atoms"
            + (f", {chain['n_missing_residues']} missing ({chain['missing_ranges']})"
               if chain["n_missing_residues"] else "")
        )
        if chain["sequence"]:
            lines.append(f"    {chain['sequence']}")
    if d["hetero_groups"]:
        groups = ", ".join(f"{name} x{count}" for name, count in sorted(d["hetero_groups"].items()))
        lines.append(f"  hetero groups: {groups}")
    if d["modified_residues"]:
        lines.append(f"  modified residues: {', '.join(d['modified_residues'])}")
    return "\n".join(lines)


def _ranges(numbers: list[int]) -> str:
    """``[1, 2, 3, 7]`` -> ``"1-3, 7"``."""
    if not numbers:
        return ""
    runs, start, previous = [], numbers[0], numbers[0]
    for n in numbers[1:]:
        if n != previous + 1:
            runs.append((start, previous))
            start = n
        previous = n
    runs.append((start, previous))
    return ", ".join(f"{a}" if a == b else f"{a}..{b}" for a, b in runs)


def format_comparison(scores: dict[str, Any]) -> str:
    """The scores of :meth:`workbench.analysis.Comparison.to_dict` as ``workbench compare`` prints them."""
    s = scores
    lines = [
        f"paired by {s['pairing']}: {s['n_pairs']} residues",
        f"  RMSD (CA)  {_number(s['rmsd_ca'], '8.3f')} Å",
        f"  TM-score   {_number(s['tm_score'], '8.4f')}  "
        f"(normalised by the reference's {s['reference_length']} residues)",
        f"  GDT-TS     {_number(s['gdt_ts'], '8.4f')}",
        f"  GDT-HA     {_number(s['gdt_ha'], '8.4f')}",
        f"  lDDT       {_number(s['lddt'], '8.4f')}  (all heavy atoms)",
    ]
    for chain in s["chains"]:
        lines.append(
            f"  chain {chain['model_chain']} -> reference {chain['reference_chain']}: "
            f"{chain['aligned']} aligned, {chain['identity']:.1%} identical"
        )
    return "\n".join(lines)


def _number(value: float | None, spec: str) -> str:
    """``value`` formatted, or ``n/a`` (right-aligned the same) when it is undefined."""
    width = int(spec.split(".")[0])
    return f"{'n/a':>{width}}" if value is None else format(value, spec)
