"""BibTeX for the methods a batch used, so a methods section cites what actually ran.

Each method name maps to one or more entries of :data:`ENTRIES`; PDBFixer asks
to be cited through OpenMM. Every entry's authors, year, journal, volume, pages
and DOI were checked against the publisher's record; entries whose details could
not be checked are left out rather than guessed.

Examples
--------
>>> text = citations_bib(["openmm", "pdbfixer", "amber-ff14sb"])
>>> [line for line in text.splitlines() if line.startswith("@")]
['@article{eastman2024openmm8,', '@article{maier2015ff14sb,']
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from workbench.request import BatchRequest

__all__ = ["ENTRIES", "METHODS", "batch_methods", "citations_bib"]

ENTRIES: dict[str, str] = {
    "eastman2024openmm8": """@article{eastman2024openmm8,
  author = {Eastman, Peter and Galvelis, Raimondas and Pel{\\'a}ez, Ra{\\'u}l P. and Abreu, Charlles R. A. and
            Farr, Stephen E. and Gallicchio, Emilio and Gorenko, Anton and Henry, Michael M. and Hu, Frank and
            Huang, Jing and Kr{\\"a}mer, Andreas and Michel, Julien and Mitchell, Joshua A. and Pande, Vijay S. and
            Rodrigues, Jo{\\~a}o PGLM and Rodriguez-Guerra, Jaime and Simmonett, Andrew C. and Singh, Sukrit and
            Swails, Jason and Turner, Philip and Wang, Yuanqing and Zhang, Ivy and Chodera, John D. and
            De Fabritiis, Gianni and Markland, Thomas E.},
  title = {{OpenMM} 8: Molecular Dynamics Simulation with Machine Learning Potentials},
  journal = {The Journal of Physical Chemistry B},
  year = {2024},
  volume = {128},
  number = {1},
  pages = {109--116},
  doi = {10.1021/acs.jpcb.3c06662}
}""",
    "maier2015ff14sb": """@article{maier2015ff14sb,
  author = {Maier, James A. and Martinez, Carmenza and Kasavajhala, Koushik and Wickstrom, Lauren and
            Hauser, Kevin E. and Simmerling, Carlos},
  title = {ff14{SB}: Improving the Accuracy of Protein Side Chain and Backbone Parameters from ff99{SB}},
  journal = {Journal of Chemical Theory and Computation},
  year = {2015},
  volume = {11},
  number = {8},
  pages = {3696--3713},
  doi = {10.1021/acs.jctc.5b00255}
}""",
    "onufriev2004obc": """@article{onufriev2004obc,
  author = {Onufriev, Alexey and Bashford, Donald and Case, David A.},
  title = {Exploring Protein Native States and Large-Scale Conformational Changes with a Modified Generalized
           {Born} Model},
  journal = {Proteins: Structure, Function, and Bioinformatics},
  year = {2004},
  volume = {55},
  number = {2},
  pages = {383--394},
  doi = {10.1002/prot.20033}
}""",
    "jumper2021alphafold": """@article{jumper2021alphafold,
  author = {Jumper, John and Evans, Richard and Pritzel, Alexander and others},
  title = {Highly Accurate Protein Structure Prediction with {AlphaFold}},
  journal = {Nature},
  year = {2021},
  volume = {596},
  number = {7873},
  pages = {583--589},
  doi = {10.1038/s41586-021-03819-2}
}""",
    "lin2023esmfold": """@article{lin2023esmfold,
  author = {Lin, Zeming and Akin, Halil and Rao, Roshan and Hie, Brian and Zhu, Zhongkai and Lu, Wenting and
            Smetanin, Nikita and Verkuil, Robert and Kabeli, Ori and Shmueli, Yaniv and dos Santos Costa, Allan and
            Fazel-Zarandi, Maryam and Sercu, Tom and Candido, Salvatore and Rives, Alexander},
  title = {Evolutionary-Scale Prediction of Atomic-Level Protein Structure with a Language Model},
  journal = {Science},
  year = {2023},
  volume = {379},
  number = {6637},
  pages = {1123--1130},
  doi = {10.1126/science.ade2574}
}""",
    "cock2009biopython": """@article{cock2009biopython,
  author = {Cock, Peter J. A. and Antao, Tiago and Chang, Jeffrey T. and Chapman, Brad A. and Cox, Cymon J. and
            Dalke, Andrew and Friedberg, Iddo and Hamelryck, Thomas and Kauff, Frank and Wilczynski, Bartek and
            de Hoon, Michiel J. L.},
  title = {Biopython: Freely Available {Python} Tools for Computational Molecular Biology and Bioinformatics},
  journal = {Bioinformatics},
  year = {2009},
  volume = {25},
  number = {11},
  pages = {1422--1423},
  doi = {10.1093/bioinformatics/btp163}
}""",
    "wojdyr2022gemmi": """@article{wojdyr2022gemmi,
  author = {Wojdyr, Marcin},
  title = {{GEMMI}: A Library for Structural Biology},
  journal = {Journal of Open Source Software},
  year = {2022},
  volume = {7},
  number = {73},
  pages = {4200},
  doi = {10.21105/joss.04200}
}""",
    "rocklin2015dask": """@inproceedings{rocklin2015dask,
  author = {Rocklin, Matthew},
  title = {Dask: Parallel Computation with Blocked Algorithms and Task Scheduling},
  booktitle = {Proceedings of the 14th {Python} in Science Conference},
  editor = {Huff, Kathryn and Bergstra, James},
  year = {2015},
  pages = {130--136},
  doi = {10.25080/Majora-7b98e3ed-013}
}""",
    "kabsch1983dssp": """@article{kabsch1983dssp,
  author = {Kabsch, Wolfgang and Sander, Christian},
  title = {Dictionary of Protein Secondary Structure: Pattern Recognition of Hydrogen-Bonded and Geometrical
           Features},
  journal = {Biopolymers},
  year = {1983},
  volume = {22},
  number = {12},
  pages = {2577--2637},
  doi = {10.1002/bip.360221211}
}""",
    "zhang2004tmscore": """@article{zhang2004tmscore,
  author = {Zhang, Yang and Skolnick, Jeffrey},
  title = {Scoring Function for Automated Assessment of Protein Structure Template Quality},
  journal = {Proteins: Structure, Function, and Bioinformatics},
  year = {2004},
  volume = {57},
  number = {4},
  pages = {702--710},
  doi = {10.1002/prot.20264}
}""",
    "mariani2013lddt": """@article{mariani2013lddt,
  author = {Mariani, Valerio and Biasini, Marco and Barbato, Alessandro and Schwede, Torsten},
  title = {{lDDT}: A Local Superposition-Free Score for Comparing Protein Structures and Models Using Distance
           Difference Tests},
  journal = {Bioinformatics},
  year = {2013},
  volume = {29},
  number = {21},
  pages = {2722--2728},
  doi = {10.1093/bioinformatics/btt473}
}""",
    "lam2015numba": """@inproceedings{lam2015numba,
  author = {Lam, Siu Kwan and Pitrou, Antoine and Seibert, Stanley},
  title = {Numba: A {LLVM}-Based {Python} {JIT} Compiler},
  booktitle = {Proceedings of the Second Workshop on the {LLVM} Compiler Infrastructure in {HPC}},
  series = {LLVM '15},
  publisher = {ACM},
  year = {2015},
  articleno = {7},
  pages = {1--6},
  doi = {10.1145/2833157.2833162}
}""",
}
"""BibTeX entries by key."""

METHODS: dict[str, tuple[str, ...]] = {
    "openmm": ("eastman2024openmm8",),
    "pdbfixer": ("eastman2024openmm8",),  # PDBFixer is part of OpenMM and asks to be cited through it
    "amber-ff14sb": ("maier2015ff14sb",),
    "obc2": ("onufriev2004obc",),
    "alphafold2-relax": ("jumper2021alphafold",),
    "esmfold": ("lin2023esmfold",),
    "biopython": ("cock2009biopython",),
    "gemmi": ("wojdyr2022gemmi",),
    "dask": ("rocklin2015dask",),
    "dssp": ("kabsch1983dssp",),
    "tm-score": ("zhang2004tmscore",),
    "lddt": ("mariani2013lddt",),
    "numba": ("lam2015numba",),
}
"""Method name to the keys of :data:`ENTRIES` it is cited with."""


def citations_bib(methods: Iterable[str]) -> str:
    """BibTeX entries for ``methods``, each entry once, in the order first needed.

    Parameters
    ----------
    methods : iterable of str
        Names from :data:`METHODS` (case-insensitive).

    Returns
    -------
    str
        BibTeX text ending in a newline (empty for no methods).

    Raises
    ------
    ValueError
        For a method name that is not in :data:`METHODS`, naming the known ones.
    """
    keys: list[str] = []
    for method in methods:
        found = METHODS.get(method.strip().lower())
        if found is None:
            raise ValueError(f"no citation for method {method!r}; known methods: {', '.join(METHODS)}")
        keys += [key for key in found if key not in keys]
    return "".join(ENTRIES[key] + "\n\n" for key in keys).rstrip("\n") + ("\n" if keys else "")


def batch_methods(request: BatchRequest | None, settings: Mapping[str, Any] | None = None) -> list[str]:
    """The methods (names of :data:`METHODS`) a batch run with ``request`` used.

    Every batch reads and writes structures with gemmi, runs on Dask and
    analyses models with numba kernels (DSSP secondary structure); the template
    predictor aligns with Biopython; ESMFold predicts with ESMFold; a refined
    batch uses PDBFixer, OpenMM, Amber ff14SB and AlphaFold2's restrained
    relax protocol, and OBC2 when that is its solvent.

    Parameters
    ----------
    request : BatchRequest or None
        None (a batch.json this version cannot load): only what every batch uses,
        plus what ``settings`` shows.
    settings : mapping, optional
        batch.json's ``settings`` (used when ``request`` is None).

    Returns
    -------
    list of str
    """
    methods = ["gemmi", "dask", "numba", "dssp"]
    settings = settings or {}
    predictor = request.predictor.name if request is not None else settings.get("predictor")
    if predictor == "template":
        methods.append("biopython")
    elif predictor == "esmfold":
        methods.append("esmfold")
    if request is not None:
        solvent = request.refine.resolved_solvent if request.refine is not None else None
        refined = request.refine is not None
    else:
        refine = settings.get("refine")
        refined = isinstance(refine, Mapping)
        solvent = None
        if isinstance(refine, Mapping):
            solvent = refine.get("solvent") or ("obc2" if (refine.get("md_ps") or 0) > 0 else "vacuum")
    if refined:
        methods += ["pdbfixer", "openmm", "amber-ff14sb", "alphafold2-relax"]
        if solvent == "obc2":
            methods.append("obc2")
    return methods
