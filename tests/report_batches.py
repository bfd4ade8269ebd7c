"""Real batch folders for the report tests: the template pipeline on 1BHL variants, and a tiny ESMFold batch."""

from __future__ import annotations

from pathlib import Path

from tests.ui.conftest import N155H, WT

#: A record id that is markup: the report must show it escaped, never as an element.
XSS_ID = "<img/src=x/onerror=alert(1)>"
#: An invalid record whose id is markup too (its error names it).
BAD_ID = "<b>bad</b>"

TEMPLATE_FASTA = (
    f">wt integrase core\n{WT}\n"
    f">N155H resistance mutant\n{N155H}\n"
    f">{XSS_ID} a variant named like markup\n{WT.replace('TTVKAA', 'TTIKAA')}\n"
    ">broken\nMKV1LLA\n"
    f">{BAD_ID}\nMKV1LL\n"
)
"""Three variants of the 1BHL core (one named like markup) and two invalid records."""

ESMFOLD_FASTA = ">monomer\nMKTAYIAKQRQISFVKSHFSRQ\n>dimer\nGSHMKLVVLGAAGVGKSALTVQ:MKTAYIAKQRQ\n"


def template_batch(out: Path) -> Path:
    """Run the template predictor with refinement on :data:`TEMPLATE_FASTA` in this process; ``out``."""
    from workbench.pipelines.batch import run_batch
    from workbench.request import BatchRequest

    run_batch(BatchRequest.create("template"), TEMPLATE_FASTA, out, cluster="inprocess")
    return out


def esmfold_batch(out: Path, weights_folder: Path) -> Path:
    """Run a tiny random-weight ESMFold (no refinement) on :data:`ESMFOLD_FASTA`: models with pLDDT and PAE."""
    from tests.predict.esmfold_tiny import save_tiny_model
    from workbench.pipelines.batch import run_batch
    from workbench.request import BatchRequest

    weights = str(save_tiny_model(weights_folder))
    run_batch(BatchRequest.create("esmfold", {"weights": weights}, refine=False), ESMFOLD_FASTA, out,
              cluster="inprocess")
    return out
