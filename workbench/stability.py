"""Folding-stability change (ΔΔG, kcal/mol) of point mutations, from two relaxed template models.

Why not the energy change. ``energy_change`` (relaxed mutant minus relaxed wild-type
Amber energy in vacuum) compares two different chemical compositions: it is
dominated by the intrinsic energy of the residue types exchanged (removing a
charge gives hundreds of kJ/mol) and says nothing about folding. On the 121
S2648 mutations of 2LZM, 1PGA and 1UBQ it correlates with experiment at Pearson
r -0.00 (``benchmarks/stability.py``).

The estimate. A folding free-energy change needs the unfolded state too. Here the
unfolded state of each residue is taken as fully solvated and free of
non-local contacts, so every term below is a difference of *folded-state*
quantities of the changed residue that vanish in the unfolded reference; the
composition cancels by construction (the same residue type is in both states).
Per changed residue ``i`` (wild type ``w``, mutant ``m``), with ``b`` the burial
of the wild-type residue (1 - its relative solvent-accessible surface area in the
relaxed wild-type model), the features are (:func:`mutation_features`):

``burial``
    ``b``: changing a buried residue costs on average, whatever the change
    (the native core is optimised; a substitute rarely fits as well).
``hydrophobic``
    ``b * 1.364 * (pi[w] - pi[m])``, kcal/mol: the octanol/water transfer free
    energy of the side chains (Fauchère & Pliska 1983, ``pi`` = log P relative
    to Gly; 1.364 = RT ln 10 at 298 K), weighted by burial.
``cavity``
    ``b * max(0, V[w] - V[m])``, Å³: buried side-chain volume removed
    (residue volumes of Zamyatnin 1972).
``helix``
    ``helix_propensity[m] - helix_propensity[w]`` inside a helix of the wild type
    (Pace & Scholtz 1998, kcal/mol), which carries the cost of a proline in a helix.
``packing``
    The change of the residue's side-chain van der Waals (Lennard-Jones, Amber
    ff14SB) interaction energy with residues two or more apart, each side chain in
    its own relaxed model, clipped to ±5 kcal/mol: a large side chain forced into
    a small pocket keeps repulsive contacts after the relax
    (``StabilityTerms.side_chain_lj``).

ΔΔG is a weighted sum of the features plus a constant (:data:`WEIGHTS`), the
weights fitted by least squares to the 121 S2648 mutations of
``benchmarks/stability.py``. That benchmark reports only leave-one-protein-out
figures (weights fitted on the two other proteins, scored on the third).

Using it in the pipeline (two halves, so that the work on structures stays on the
workers and the comparison on the client):

1. on the worker, per item, after :func:`workbench.pipelines.tasks.compose_item`::

       terms = stability_terms(models.refinement.structure)   # or models.final
       numbers["stability_terms"] = terms.to_dict()            # JSON, a few kB

2. on the client, per variant, where ``energy_change`` is computed against the
   reference item (``pipelines/batch.py: _energy_change``)::

       estimate = estimate_ddg(StabilityTerms.from_dict(row_terms),
                               StabilityTerms.from_dict(reference_terms),
                               mutations)            # "L99A+T152S" or ["L99A", ...]
       estimate.ddg, estimate.method, estimate.to_dict()

``mutations`` is the summary row's ``mutations`` string (the template predictor's
labels: wild-type letter, template residue number with insertion code, mutant
letter, optionally ``A:`` chain-prefixed). Insertions and deletions have no
estimate (:class:`StabilityEstimate` ``ddg`` None with the reason).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from workbench.structure import Structure

__all__ = [
    "FEATURES",
    "HELIX_PROPENSITY",
    "METHOD",
    "SUMMARY_SENTENCE",
    "WEIGHTS",
    "StabilityEstimate",
    "StabilityTerms",
    "estimate_ddg",
    "fit_weights",
    "mutation_features",
    "parse_mutations",
    "stability_terms",
]

#: Name of the method, written beside every estimate.
METHOD = "burial-transfer-packing v1"

#: What the number means and how well it agrees with experiment, for the summary, report and UI.
SUMMARY_SENTENCE = (
    "Estimated folding-stability change ΔΔG in kcal/mol (positive = destabilising) from the relaxed "
    "wild-type and mutant models: side-chain burial, octanol/water transfer free energy, lost packing, "
    "side-chain van der Waals strain and helix propensity, with weights fitted to 121 S2648 mutations. "
    "Held out by protein (T4 lysozyme, protein G, ubiquitin) it agrees with experiment at Pearson r 0.56, "
    "Spearman 0.55, sign right for 72 %, mean absolute error 1.1 kcal/mol (the published PremPS: 0.50, "
    "0.54, 67 %, 1.0); a ranking aid, not a measurement. It replaces the vacuum energy change, which "
    "compares two chemical compositions (r 0.06 on the same mutations)."
)

#: Fauchère-Pliska side-chain hydrophobicity pi (log P octanol/water relative to Gly).
HYDROPHOBICITY: dict[str, float] = {
    "A": 0.31, "R": -1.01, "N": -0.60, "D": -0.77, "C": 1.54, "Q": -0.22, "E": -0.64, "G": 0.00, "H": 0.13,
    "I": 1.80, "L": 1.70, "K": -0.99, "M": 1.23, "F": 1.79, "P": 0.72, "S": -0.04, "T": 0.26, "W": 2.25,
    "Y": 0.96, "V": 1.22,
}  # fmt: skip

#: Residue volumes in water, Å³ (Zamyatnin 1972).
VOLUME: dict[str, float] = {
    "A": 88.6, "R": 173.4, "N": 114.1, "D": 111.1, "C": 108.5, "Q": 143.8, "E": 138.4, "G": 60.1, "H": 153.2,
    "I": 166.7, "L": 166.7, "K": 168.6, "M": 162.9, "F": 189.9, "P": 112.7, "S": 89.0, "T": 116.1, "W": 227.8,
    "Y": 193.6, "V": 140.0,
}  # fmt: skip

#: Helix propensity, kcal/mol relative to Ala (Pace & Scholtz, Biophys. J. 75, 422, 1998).
HELIX_PROPENSITY: dict[str, float] = {
    "A": 0.00, "L": 0.21, "R": 0.21, "M": 0.24, "K": 0.26, "Q": 0.39, "E": 0.40, "I": 0.41, "W": 0.49, "S": 0.50,
    "Y": 0.53, "F": 0.54, "H": 0.61, "V": 0.61, "N": 0.65, "T": 0.66, "C": 0.68, "D": 0.69, "G": 1.00, "P": 3.16,
}  # fmt: skip

#: RT ln 10 at 298.15 K, kcal/mol: converts log P to a free energy.
RT_LN10 = 1.364
#: Bound (kcal/mol) on the side-chain Lennard-Jones change: a clash the relax left is a sign, not a size.
PACKING_CLIP = 5.0

#: Names of the features, in the order of :data:`WEIGHTS` (the constant last).
FEATURES: tuple[str, ...] = ("burial", "hydrophobic", "cavity", "helix", "packing")

#: Weight of each feature (kcal/mol per unit) and the constant, fitted by :func:`fit_weights` to all 121
#: mutations of ``benchmarks/stability.py`` (``--fit`` prints them); its figures are held out by protein.
WEIGHTS: dict[str, float] = {
    "burial": 2.2355, "hydrophobic": 0.2924, "cavity": 0.0077, "helix": 1.6928, "packing": 0.0642,
    "constant": -1.0265,
}  # fmt: skip

_BACKBONE = frozenset({"N", "CA", "C", "O", "OXT", "H", "H1", "H2", "H3", "HA", "HA2", "HA3"})
_MUTATION = re.compile(r"^(?:(?P<chain>[^:]+):)?(?P<wt>[A-Z])(?P<number>-?\d+)(?P<ins>[A-Za-z]?)(?P<mut>[A-Z])$")


@dataclass(frozen=True)
class StabilityTerms:
    """The per-structure numbers a stability estimate needs, one entry per residue.

    Attributes
    ----------
    labels : tuple of str
        Residue labels ``chain:number[insertion]``, e.g. ``"A:99"``.
    sequence : str
        One letter per residue (``X`` for a non-standard one).
    relative_sasa : tuple of float
        Relative solvent-accessible surface area of each residue (heavy atoms,
        Tien et al. maxima), NaN where undefined.
    secondary : str
        DSSP, simplified (H, E, C), one letter per residue.
    side_chain_lj : tuple of float
        Lennard-Jones energy (kcal/mol, Amber ff14SB) between the residue's side
        chain (every atom but the backbone's) and every atom of residues at least
        two apart in sequence, within :data:`LJ_CUTOFF` Å.
    """

    labels: tuple[str, ...]
    sequence: str
    relative_sasa: tuple[float, ...]
    secondary: str
    side_chain_lj: tuple[float, ...]

    def __post_init__(self) -> None:
        n = len(self.labels)
        if not (len(self.sequence) == len(self.relative_sasa) == len(self.secondary) == len(self.side_chain_lj) == n):
            raise ValueError("every per-residue field of StabilityTerms needs one entry per label")

    def index(self, label: str) -> int:
        """Position of the residue ``label`` (``"A:99"``); KeyError names it when absent."""
        try:
            return self.labels.index(label)
        except ValueError:
            raise KeyError(f"no residue {label} in the structure's stability terms") from None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary (NaN written as None)."""
        return {"labels": list(self.labels), "sequence": self.sequence, "secondary": self.secondary,
                "relative_sasa": [None if np.isnan(v) else round(float(v), 4) for v in self.relative_sasa],
                "side_chain_lj": [round(float(v), 4) for v in self.side_chain_lj]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StabilityTerms:
        """The inverse of :meth:`to_dict`."""
        return cls(labels=tuple(data["labels"]), sequence=str(data["sequence"]), secondary=str(data["secondary"]),
                   relative_sasa=tuple(float("nan") if v is None else float(v) for v in data["relative_sasa"]),
                   side_chain_lj=tuple(float(v) for v in data["side_chain_lj"]))


@dataclass(frozen=True)
class StabilityEstimate:
    """A folding-stability change estimate for one variant.

    Attributes
    ----------
    ddg : float or None
        kcal/mol, positive = destabilising; None when there is no estimate (``reason``).
    method : str
    terms : dict of str to float
        The contribution of each term, kcal/mol, summed over the changed residues.
    per_mutation : dict of str to float
        The estimate of each point mutation (they are added: no coupling).
    reason : str or None
        Why there is no estimate.
    """

    ddg: float | None
    method: str = METHOD
    terms: dict[str, float] = field(default_factory=dict)
    per_mutation: dict[str, float] = field(default_factory=dict)
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary."""
        return {"ddg_kcal_mol": self.ddg, "method": self.method, "terms": dict(self.terms),
                "per_mutation": dict(self.per_mutation), "reason": self.reason}


#: Distance (Å) within which side-chain Lennard-Jones interactions are summed.
LJ_CUTOFF = 10.0


def stability_terms(structure: Structure) -> StabilityTerms:
    """The per-residue numbers of one relaxed model that :func:`estimate_ddg` compares.

    Run it on a worker, per item, on the relaxed model with hydrogens
    (``ItemModels.refinement.structure`` of :func:`workbench.pipelines.tasks.compose_item`).
    About 0.3 CPU s for a 164-residue protein (most of it building the Amber system
    that gives the Lennard-Jones parameters).

    Parameters
    ----------
    structure : Structure
        Complete residues with hydrogens, as the refinement writes them; only the
        first model and only amino-acid residues are used.

    Returns
    -------
    StabilityTerms

    Raises
    ------
    ValueError
        For a structure without hydrogens or one the force field cannot type.
    """
    from workbench.analysis import dssp, sasa

    protein = structure.model(0) if structure.n_models > 1 else structure
    protein = protein.select(protein.polymer)
    if not np.any(protein.element == "H"):
        raise ValueError("stability_terms needs the relaxed model with hydrogens (refinement.structure)")
    heavy = protein.select(protein.element != "H")
    residues = protein.residues
    labels = tuple(f"{c}:{n}{i}" for c, n, i in zip(residues.chain_id, residues.res_id, residues.ins_code, strict=True))
    sequence = "".join(_one_letter(str(name)) for name in residues.res_name)
    relative = sasa(heavy).relative
    secondary = "".join(dssp(heavy, simplified=True).tolist())
    lj = side_chain_lj(protein, *_lj_parameters(protein))
    return StabilityTerms(labels, sequence, tuple(float(v) for v in relative), secondary,
                          tuple(float(v) for v in lj))


def _one_letter(res_name: str) -> str:
    from workbench.residues import one_letter_code

    return one_letter_code(res_name) or "X"


def _lj_parameters(structure: Structure) -> tuple[np.ndarray, np.ndarray]:
    """Amber ff14SB Lennard-Jones sigma (Å) and epsilon (kcal/mol) of every atom, shape=(n_atoms,) each."""
    import openmm as mm

    from workbench.io.openmm import to_openmm
    from workbench.refine.forcefield import create_system

    topology, _ = to_openmm(_split_at_breaks(structure))
    system = create_system(topology, solvent="vacuum", cutoff=None)
    force = next(f for f in system.getForces() if isinstance(f, mm.NonbondedForce))
    sigma = np.empty(structure.n_atoms)
    epsilon = np.empty(structure.n_atoms)
    for atom in range(structure.n_atoms):
        _, s, e = force.getParticleParameters(atom)
        sigma[atom] = s.value_in_unit(mm.unit.angstrom)
        epsilon[atom] = e.value_in_unit(mm.unit.kilocalorie_per_mole)
    return sigma, epsilon


def _split_at_breaks(structure: Structure) -> Structure:
    """``structure`` with each chain segment between backbone breaks as its own chain (atom order kept).

    A chain with a gap (1BHL: residues 137 | 154) would otherwise get a peptide
    bond across it, which the force field cannot type; the refinement splits its
    chains the same way (:func:`workbench.refine.find_chain_breaks`).
    """
    import dataclasses

    from workbench.refine import find_chain_breaks

    breaks = np.asarray(find_chain_breaks(structure), dtype=np.int64)
    if breaks.size == 0:
        return structure
    segment = np.zeros(len(structure.residues), dtype=np.int64)
    segment[breaks] = 1
    segment = np.cumsum(segment)[structure.residue_index]
    chain_id = np.array([c if k == 0 else f"{c}{k}" for c, k in zip(structure.chain_id, segment, strict=True)])
    return dataclasses.replace(structure, chain_id=chain_id)


def side_chain_lj(structure: Structure, sigma: np.ndarray, epsilon: np.ndarray,
                  cutoff: float = LJ_CUTOFF) -> np.ndarray:
    """Lennard-Jones energy of each residue's side chain with residues two or more apart.

    Parameters
    ----------
    structure : Structure
    sigma : ndarray, shape=(n_atoms,), dtype=float64
        Å.
    epsilon : ndarray, shape=(n_atoms,), dtype=float64
        kcal/mol.
    cutoff : float
        Å; pairs farther apart are left out.

    Returns
    -------
    ndarray, shape=(n_residues,), dtype=float64
        kcal/mol (Lorentz-Berthelot combination, as Amber); 0 for a residue
        without side-chain atoms (Gly).
    """
    from workbench.kernels.neighbors import pairs_within

    coords = np.ascontiguousarray(structure.coords, dtype=np.float32)
    first, second, distance = pairs_within(coords, float(cutoff))
    residue = structure.residue_index
    side = ~np.isin(structure.atom_name, list(_BACKBONE))
    ri, rj = residue[first], residue[second]
    same_chain = structure.chain_id[first] == structure.chain_id[second]
    far = ~same_chain | (np.abs(ri - rj) >= 2)
    first, second, distance, ri, rj = first[far], second[far], distance[far], ri[far], rj[far]
    sig = 0.5 * (sigma[first] + sigma[second])
    eps = np.sqrt(epsilon[first] * epsilon[second])
    ratio6 = (sig / np.maximum(distance.astype(np.float64), 1e-3)) ** 6
    energy = 4.0 * eps * (ratio6 * ratio6 - ratio6)
    out = np.zeros(len(structure.residues))
    np.add.at(out, ri[side[first]], energy[side[first]])
    np.add.at(out, rj[side[second]], energy[side[second]])
    return out


def parse_mutations(mutations: str | Sequence[str] | None, chain: str = "A") -> list[tuple[str, str, str]]:
    """``[(wild_type, label, mutant)]`` from ``"L99A+T152S"``, ``"A:L99A"`` or a list of such labels.

    Parameters
    ----------
    mutations : str or sequence of str or None
        Point mutations joined by ``+`` (the summary row's ``mutations``), or a list.
    chain : str
        Chain of labels without one.

    Returns
    -------
    list of (str, str, str)
        Wild-type letter, residue label (``"A:99"``), mutant letter.

    Raises
    ------
    ValueError
        For a label that is not a point mutation (an insertion or deletion, for example).

    Examples
    --------
    >>> parse_mutations("L99A+B:T152S")
    [('L', 'A:99', 'A'), ('T', 'B:152', 'S')]
    """
    if mutations is None:
        return []
    items = [m for m in mutations.split("+")] if isinstance(mutations, str) else list(mutations)
    parsed = []
    for item in (i.strip() for i in items if i.strip()):
        match = _MUTATION.match(item)
        if match is None:
            raise ValueError(f"{item!r} is not a point mutation (wild-type letter, residue number, mutant letter)")
        label = f"{match['chain'] or chain}:{match['number']}{match['ins']}"
        parsed.append((match["wt"], label, match["mut"]))
    return parsed


def mutation_features(mutant: StabilityTerms, reference: StabilityTerms, label: str) -> dict[str, float]:
    """The features of one point mutation at residue ``label`` (see the module's description).

    Parameters
    ----------
    mutant, reference : StabilityTerms
        Of the relaxed mutant and wild-type models.
    label : str
        ``"A:99"``.

    Returns
    -------
    dict of str to float
        One value per name in :data:`FEATURES`.

    Raises
    ------
    KeyError
        When either structure lacks the residue.
    ValueError
        For a residue type outside the 20 standard ones.
    """
    i, j = reference.index(label), mutant.index(label)
    wild, new = reference.sequence[i], mutant.sequence[j]
    if wild not in HYDROPHOBICITY or new not in HYDROPHOBICITY:
        raise ValueError(f"residue {label}: no estimate for non-standard residues ({wild} -> {new})")
    relative = reference.relative_sasa[i]
    burial = 0.0 if np.isnan(relative) else 1.0 - min(1.0, max(0.0, relative))
    helix = HELIX_PROPENSITY[new] - HELIX_PROPENSITY[wild] if reference.secondary[i] == "H" else 0.0
    packing = float(np.clip(mutant.side_chain_lj[j] - reference.side_chain_lj[i], -PACKING_CLIP, PACKING_CLIP))
    return {
        "burial": burial,
        "hydrophobic": burial * RT_LN10 * (HYDROPHOBICITY[wild] - HYDROPHOBICITY[new]),
        "cavity": burial * max(0.0, VOLUME[wild] - VOLUME[new]),
        "helix": helix,
        "packing": packing,
    }


def estimate_ddg(mutant: StabilityTerms, reference: StabilityTerms, mutations: str | Sequence[str] | None, *,
                 weights: Mapping[str, float] | None = None) -> StabilityEstimate:
    """Estimated folding-stability change of a variant against its reference, kcal/mol.

    Run it on the client, per variant, with the terms of the variant's item and of
    the reference item (the template's own sequence). Several point mutations are
    added (no coupling); the constant counts once per mutation.

    Parameters
    ----------
    mutant, reference : StabilityTerms
        From :func:`stability_terms` on the relaxed models.
    mutations : str or sequence of str or None
        ``"L99A+T152S"`` (the summary row's ``mutations``) or a list of labels.
    weights : mapping of str to float, optional
        Feature weights and ``constant``; :data:`WEIGHTS` by default.

    Returns
    -------
    StabilityEstimate
        ``ddg`` None, with the reason, for no mutations, an insertion or deletion,
        or a residue missing from either structure.

    Examples
    --------
    >>> terms = StabilityTerms(("A:1", "A:2"), "LK", (0.0, 0.9), "HH", (-8.0, -2.0))
    >>> mutant = StabilityTerms(("A:1", "A:2"), "AK", (0.3, 0.9), "HH", (-3.0, -2.0))
    >>> round(estimate_ddg(mutant, terms, "L1A").ddg, 2)
    2.33
    """
    weights = WEIGHTS if weights is None else weights
    try:
        parsed = parse_mutations(mutations, chain=reference.labels[0].split(":")[0] if reference.labels else "A")
        if not parsed:
            return StabilityEstimate(None, reason="no point mutation against the reference")
        totals = dict.fromkeys(FEATURES, 0.0)
        per_mutation = {}
        for wild, label, new in parsed:
            features = mutation_features(mutant, reference, label)
            if reference.sequence[reference.index(label)] != wild:
                raise ValueError(f"residue {label} is {reference.sequence[reference.index(label)]} in the "
                                 f"reference, not {wild}")
            contributions = {name: weights[name] * value for name, value in features.items()}
            per_mutation[f"{wild}{label.split(':', 1)[1]}{new}"] = sum(contributions.values()) + weights["constant"]
            for name, value in contributions.items():
                totals[name] += value
    except (KeyError, ValueError) as exc:
        return StabilityEstimate(None, reason=str(exc).strip("'\""))
    totals["constant"] = weights["constant"] * len(parsed)
    return StabilityEstimate(float(sum(per_mutation.values())), terms=totals, per_mutation=per_mutation)


def fit_weights(features: np.ndarray, ddg: np.ndarray) -> dict[str, float]:
    """Least-squares weights of :data:`FEATURES` and the constant.

    Parameters
    ----------
    features : ndarray, shape=(n_mutations, len(FEATURES)), dtype=float64
        Rows of :func:`mutation_features` values in :data:`FEATURES` order.
    ddg : ndarray, shape=(n_mutations,), dtype=float64
        Experimental ΔΔG, kcal/mol, positive = destabilising.

    Returns
    -------
    dict of str to float
        A mapping like :data:`WEIGHTS`.
    """
    features = np.asarray(features, dtype=np.float64)
    ddg = np.asarray(ddg, dtype=np.float64)
    if features.ndim != 2 or features.shape != (len(ddg), len(FEATURES)):
        raise ValueError(f"features must have shape ({len(ddg)}, {len(FEATURES)}), got {features.shape}")
    design = np.c_[features, np.ones(len(ddg))]
    solution, *_ = np.linalg.lstsq(design, ddg, rcond=None)
    return dict(zip((*FEATURES, "constant"), (float(v) for v in solution), strict=True))
