"""ESMFold predictor on a tiny random-weight model loaded through the users' path (save_pretrained folder)."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from tests.predict.esmfold_tiny import save_tiny_model  # noqa: E402
from workbench.io import read_fasta, read_structure  # noqa: E402
from workbench.io.fasta import SequenceRecord  # noqa: E402
from workbench.predict import get_predictor  # noqa: E402
from workbench.predict.esmfold import EsmFoldPredictor, EsmFoldWeightsError, is_out_of_memory  # noqa: E402
from workbench.predict.esmfold_complex import encode_chains  # noqa: E402
from workbench.predict.esmfold_model import clear_model_cache  # noqa: E402
from workbench.results import write_prediction  # noqa: E402

#: Batched (padded) and one-by-one inference on the CPU in fp32 agree to this (Å for coordinates and PAE,
#: pLDDT points, pTM units): padding only adds masked positions, so differences are float rounding.
BATCH_ATOL = 1e-3

FASTA = """>short
MKTAYIAKQRQISFVKSH
>medium
MSEQNNTEMTFQIQRIYTKDISFEAPNAPHVFQK
>dimer
MKTAYIAKQRQ:GSHMLEDPVDAFQ
>long
MADEEKLPPGWEKRMSRSSGRVYYFNHITNASQWERPSGNSSSG
"""


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    folder = save_tiny_model(tmp_path_factory.mktemp("esmfold_tiny"))
    yield folder
    clear_model_cache()


@pytest.fixture(scope="module")
def records():
    return read_fasta(FASTA)


@pytest.fixture(scope="module")
def batched(weights, records):
    """All four records in one padded batch (no padding limit)."""
    return EsmFoldPredictor(str(weights), device="cpu", max_padding=float("inf")).predict(records)


def test_registered_and_loaded_through_the_registry(weights):
    predictor = get_predictor("esmfold", weights=str(weights), device="cpu")
    assert isinstance(predictor, EsmFoldPredictor)
    assert predictor.load() is EsmFoldPredictor(str(weights), device="cpu").load(), "model loads once per process"


def test_shapes_scales_and_provenance(weights, records, batched):
    assert [o.ok for o in batched] == [True] * 4
    for record, outcome in zip(records, batched, strict=True):
        prediction = outcome.prediction
        n = record.length
        assert prediction.name == record.name
        assert prediction.plddt.shape == (n,)
        assert prediction.pae.shape == (n, n)
        assert len(prediction.structure.residues) == n
        assert prediction.plddt.min() >= 0 and prediction.plddt.max() <= 100
        assert 0 <= prediction.ptm <= 1
        assert (prediction.pae >= 0).all()
        # pLDDT is in the B-factor column of every atom of its residue
        residue_of_atom = prediction.structure.residue_index
        np.testing.assert_allclose(prediction.structure.b_factor, prediction.plddt[residue_of_atom])
        provenance = prediction.provenance
        assert provenance.method == "esmfold" and provenance.model == str(weights)
        assert provenance.weights_hash == hashlib.sha256((weights / "model.safetensors").read_bytes()).hexdigest()
        assert provenance.device == "cpu"
        assert provenance.parameters["trunk_dtype"] == "fp32" and provenance.parameters["lm_dtype"] == "fp32"
        assert provenance.parameters["num_recycles"] == 0  # max_recycles = 1 trunk pass in all, as infer
        assert "chunk_size" in provenance.parameters
        assert provenance.timings["fold"] > 0 and "load" in provenance.timings
    # sorted by length and packed: all four fit the CPU token budget in one batch
    assert {o.prediction.provenance.parameters["batch_size"] for o in batched} == {4}


def test_defaults_reproduce_transformers_infer(weights, records):
    """The reference path: ``model.infer(sequence)`` with its defaults (it runs ``max_recycles`` trunk passes)."""
    predictor = EsmFoldPredictor(str(weights), device="cpu")
    outcome = predictor.predict([records[1]])[0]
    model = predictor.load().model
    assert len(records[1].chains) == 1
    with torch.inference_mode():
        raw = model.infer(records[1].chains[0])
    np.testing.assert_allclose(outcome.prediction.plddt, raw.plddt[0, :, 1].numpy() * 100, atol=1e-4)
    assert raw.plddt.max() <= 1.0  # transformers reports 0-1
    assert outcome.prediction.plddt.max() > 1.0
    assert outcome.prediction.ptm == pytest.approx(float(raw.ptm), abs=1e-5)
    np.testing.assert_allclose(outcome.prediction.pae, raw.predicted_aligned_error[0].numpy(), atol=1e-4)
    ca = outcome.prediction.structure.coords[outcome.prediction.structure.atom_name == "CA"]
    np.testing.assert_allclose(ca, raw.positions[-1, 0, :, 1].numpy(), atol=1e-4)


def test_complex_split_into_chains_without_linker(batched, records):
    prediction = batched[2].prediction
    chains = records[2].chains
    structure = prediction.structure
    assert structure.chains == ("A", "B")
    assert structure.sequences == {"A": chains[0], "B": chains[1]}
    for chain_id, chain in zip("AB", chains, strict=True):
        res_ids = structure.residues.res_id[structure.residues.chain_id == chain_id]
        np.testing.assert_array_equal(res_ids, np.arange(1, len(chain) + 1))
    assert prediction.plddt.shape == (sum(map(len, chains)),)
    assert prediction.iptm is not None and 0 <= prediction.iptm <= 1
    parameters = prediction.provenance.parameters
    assert parameters["linker_length"] == 25 and parameters["chain_gap"] == 512

    fold = encode_chains(chains)
    assert fold.n_tokens == len(chains[0]) + 25 + len(chains[1])
    assert not fold.keep[len(chains[0]) : len(chains[0]) + 25].any()
    assert fold.residue_index[len(chains[0]) + 25] - fold.residue_index[len(chains[0]) - 1] == 25 + 512 + 1


def test_batched_and_one_by_one_agree_on_cpu_fp32(weights, records, batched):
    single = EsmFoldPredictor(str(weights), device="cpu", max_batch=1).predict(records)
    assert {o.prediction.provenance.parameters["batch_size"] for o in batched} == {len(records)}
    for many, one in zip(batched, single, strict=True):
        assert one.prediction.provenance.parameters["batch_size"] == 1
        a, b = many.prediction, one.prediction
        np.testing.assert_allclose(a.structure.coords, b.structure.coords, atol=BATCH_ATOL)
        np.testing.assert_allclose(a.plddt, b.plddt, atol=BATCH_ATOL)
        np.testing.assert_allclose(a.pae, b.pae, atol=BATCH_ATOL)
        assert a.ptm == pytest.approx(b.ptm, abs=BATCH_ATOL)


def test_num_recycles_reach_forward(weights, records):
    predictor = EsmFoldPredictor(str(weights), device="cpu", num_recycles=0)
    block = predictor.load().model.trunk.blocks[0]
    calls = []
    handle = block.register_forward_hook(lambda *_: calls.append(1))
    try:
        zero = predictor.predict([records[0]])[0].prediction
        n_zero = len(calls)
        two = EsmFoldPredictor(str(weights), device="cpu", num_recycles=2).predict([records[0]])[0].prediction
    finally:
        handle.remove()
    assert n_zero == 1 and len(calls) - n_zero == 3, "recycles + 1 trunk passes"
    assert zero.provenance.parameters["num_recycles"] == 0 and two.provenance.parameters["num_recycles"] == 2
    assert not np.allclose(zero.structure.coords, two.structure.coords)


def test_explicit_chunk_size_recorded_and_close(weights, records, batched):
    chunked = EsmFoldPredictor(str(weights), device="cpu", chunk_size=4).predict([records[3]])[0].prediction
    assert chunked.provenance.parameters["chunk_size"] == 4
    assert batched[3].prediction.provenance.parameters["chunk_size"] is None  # "auto" on a short sequence
    np.testing.assert_allclose(chunked.structure.coords, batched[3].prediction.structure.coords, atol=BATCH_ATOL)


def _fail_forward(model, should_fail):
    """Make the real model's forward raise CUDA out-of-memory whenever ``should_fail(call, lengths)``."""
    original = model.forward
    calls = []

    def forward(input_ids, *args, **kwargs):
        calls.append((tuple(input_ids.shape), model.trunk.chunk_size))
        if should_fail(len(calls), kwargs["attention_mask"].sum(1).tolist()):
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB (injected)")
        return original(input_ids, *args, **kwargs)

    model.forward = forward
    return calls


def test_out_of_memory_splits_the_batch_then_shrinks_the_chunk(weights, records, batched):
    clear_model_cache()
    try:
        predictor = EsmFoldPredictor(str(weights), device="cpu", max_padding=float("inf"))
        calls = _fail_forward(predictor.load().model, lambda call, _: call <= 3)
        outcomes = predictor.predict([records[0], records[1]])
    finally:
        clear_model_cache()
    assert [o.ok for o in outcomes] == [True, True]
    # batch of 2 fails -> first alone, unchunked, fails -> chunk 128 fails -> chunk 64 works -> second alone
    assert calls == [((2, 34), None), ((1, 18), None), ((1, 18), 128), ((1, 18), 64), ((1, 34), None)]
    first = outcomes[0].prediction.provenance.parameters
    assert first["chunk_size"] == 64 and first["batch_size"] == 1
    assert first["fallbacks"][0].startswith("out of memory with 2 sequences")
    assert any("chunk" in note for note in first["fallbacks"])
    for outcome, reference in zip(outcomes, batched[:2], strict=True):
        np.testing.assert_allclose(
            outcome.prediction.structure.coords, reference.prediction.structure.coords, atol=BATCH_ATOL
        )


def test_out_of_memory_falls_back_to_the_cpu_fp32_model(weights, records):
    clear_model_cache()
    try:
        predictor = EsmFoldPredictor(str(weights), device="cpu", lm_dtype="bf16")  # not the fp32 fallback model
        calls = _fail_forward(predictor.load().model, lambda *_: True)
        outcome = predictor.predict([records[0]])[0]
    finally:
        clear_model_cache()
    assert outcome.ok, outcome.error
    assert len(calls) == 1 + 4  # unchunked, then chunks 128, 64, 32, 16
    parameters = outcome.prediction.provenance.parameters
    assert parameters["lm_dtype"] == "fp32" and outcome.prediction.provenance.device == "cpu"
    assert "even alone at chunk size 16" in parameters["fallbacks"][-1]


def test_out_of_memory_with_no_fallback_left_fails_only_that_sequence(weights, records):
    clear_model_cache()
    try:
        predictor = EsmFoldPredictor(str(weights), device="cpu")
        long_tokens = records[3].length  # fails in any batch holding "long" (the dimer is longer: 11 + 25 + 14)
        _fail_forward(predictor.load().model, lambda _, lengths: long_tokens in lengths)
        outcomes = predictor.predict(records)
    finally:
        clear_model_cache()
    assert [o.ok for o in outcomes] == [True, True, True, False]
    assert outcomes[3].error.startswith("long: out of memory on cpu even alone")


def test_is_out_of_memory():
    assert is_out_of_memory(torch.cuda.OutOfMemoryError("CUDA out of memory"))
    assert is_out_of_memory(RuntimeError("CUDA error: out of memory"))
    assert is_out_of_memory(RuntimeError("[enforce fail] DefaultCPUAllocator: can't allocate memory"))
    assert not is_out_of_memory(RuntimeError("shape mismatch"))
    assert not is_out_of_memory(ValueError("out of memory"))


def test_empty_and_invalid_records_fail_alone(weights, records):
    bad = [
        SequenceRecord(id="empty", name="empty", chains=("",)),
        SequenceRecord(id="nochain", name="nochain", chains=()),
        SequenceRecord(id="digits", name="digits", chains=("MK1LV",)),
        SequenceRecord(id="emptychain", name="emptychain", chains=("MKV", "")),
    ]
    outcomes = EsmFoldPredictor(str(weights), device="cpu").predict([bad[0], records[0], *bad[1:]])
    assert [o.ok for o in outcomes] == [False, True, False, False, False]
    assert outcomes[0].error == "empty: chain 1 is empty"
    assert outcomes[2].error == "nochain: no sequence"
    assert "not amino acids: '1'" in outcomes[3].error
    assert outcomes[4].error == "emptychain: chain 2 is empty"


def test_nothing_to_fold_needs_no_weights(tmp_path):
    predictor = EsmFoldPredictor(str(tmp_path / "absent"), device="cpu")
    outcomes = predictor.predict([SequenceRecord(id="e", name="e", chains=("",))])
    assert outcomes[0].error == "e: chain 1 is empty"


def test_missing_weights_folder_says_how_to_get_them(tmp_path, records):
    predictor = EsmFoldPredictor(str(tmp_path / "esmfold_v1"), device="cpu")
    with pytest.raises(EsmFoldWeightsError) as info:
        predictor.predict(records[:1])
    message = str(info.value)
    assert "--weights" in message and "hf download facebook/esmfold_v1" in message
    assert str(tmp_path / "esmfold_v1") in message


def test_folder_without_config_is_refused(tmp_path):
    with pytest.raises(EsmFoldWeightsError, match=r"no config\.json"):
        EsmFoldPredictor(str(tmp_path), device="cpu").load()


def test_uncached_hub_id_offline_never_downloads(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    predictor = EsmFoldPredictor("workbench-tests/no-such-esmfold", device="cpu", allow_download=True)
    with pytest.raises(EsmFoldWeightsError, match="HF_HUB_OFFLINE is set") as info:
        predictor.load()
    assert "not in the Hugging Face cache" in str(info.value)


def test_uncached_hub_id_without_permission_is_not_fetched(monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    with pytest.raises(EsmFoldWeightsError, match="--weights PATH"):
        EsmFoldPredictor("workbench-tests/no-such-esmfold", device="cpu").load()


def test_gpu_precisions_are_refused_on_cpu(weights):
    with pytest.raises(ValueError, match="CPU runs the trunk in fp32"):
        EsmFoldPredictor(str(weights), device="cpu", trunk_dtype="bf16")
    with pytest.raises(ValueError, match="chunk_size"):
        EsmFoldPredictor(str(weights), device="cpu", chunk_size=0)
    with pytest.raises(ValueError, match="num_recycles"):
        EsmFoldPredictor(str(weights), device="cpu", num_recycles=-1)


def test_written_model_reads_back(batched, tmp_path):
    prediction = batched[2].prediction
    paths = write_prediction(prediction, tmp_path / "dimer")
    model = read_structure(paths["pdb"].read_text())
    assert model.sequences == prediction.structure.sequences
    np.testing.assert_allclose(model.coords, prediction.structure.coords, atol=1e-3)
    np.testing.assert_allclose(model.b_factor, prediction.structure.b_factor, atol=0.01)
