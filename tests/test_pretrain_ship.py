"Shipped TinyCLIP weights: compact (the rows pretraining changed), rebuilt on the seeded initialisation and used without pretraining once their hashes check out, regenerated bitwise, refused when tampered with."
import json, shutil, warnings
from pathlib import Path
import pytest, torch
from tecoa_nb.core import TecoaError, read_json
from tecoa_nb import pretrain as P

@pytest.fixture
def home(tmp_path, monkeypatch):
    "A cache of its own, so no test sees another's copies."
    monkeypatch.setenv("TECOA_HOME", str(tmp_path/"home")); return tmp_path/"home"

def shipped_smoke():
    st = P.tinyclip_settings(profile="smoke")
    pt = P.WEIGHTS_DIR/f"{P.tinyclip_key(st)}.pt"
    assert pt.exists(), f"no shipped weights match the smoke settings (key {pt.stem}); regenerate them with ship_tinyclip(profile='smoke', force=True)"
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        if P.shipped_state(st) is None:              # a CPU whose kernels draw another seeded initialisation (e.g. no AVX2)
            pytest.skip(f"the shipped smoke weights cannot be rebuilt on this CPU: {w[0].message if w else 'no reason given'}")
    return st, pt, pt.with_suffix(".json")

def no_pretraining(monkeypatch):
    def fail(*a, **k): raise AssertionError("pretrained although shipped weights match")
    monkeypatch.setattr(P, "train_tinyclip", fail)

def copy_to(d:Path, *files) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    for f in files: shutil.copy(f, d/f.name)
    return d

def one_sentence(msg:str) -> bool: return "\n" not in msg and msg.endswith(".") and ". " not in msg

def test_load_uses_the_shipped_smoke_weights(home, monkeypatch):
    st, pt, js = shipped_smoke(); rec = read_json(js)
    assert rec["key"] == pt.stem and rec["settings"] == json.loads(json.dumps(st)) and rec["settings"]["threads"] == P.PRETRAIN_PROFILES["smoke"]["threads"]
    assert set(rec) >= {"sha256", "state_sha256", "state_sha256_recipe", "reproducible", "history", "seconds", "versions", "format", "sparse"}
    no_pretraining(monkeypatch)
    b = P.load_tinyclip(profile="smoke", progress=False)
    meta = read_json(Path(b.pretrained).parent/"meta.json")
    assert meta["source"] == "shipped" and P.state_sha256(b.model.state_dict()) == rec["state_sha256"]
    assert P.pretrain_tinyclip(profile="smoke", progress=False) == Path(b.pretrained)      # the checked copy is reused
    with pytest.raises(AssertionError, match="pretrained"):                               # shipped=False never takes the copy
        P.pretrain_tinyclip(profile="smoke", shipped=False, progress=False)

def test_force_regenerates_the_shipped_smoke_weights_bitwise(home, tmp_path):
    "Bitwise where the claim applies (this CPU's kernels are the record's); elsewhere a skip that names the differing kernel fields and the distance."
    st, pt, js = shipped_smoke(); rec = read_json(js)
    path = P.pretrain_tinyclip(profile="smoke", force=True, progress=False)     # from scratch, under this process's threads
    assert read_json(path.parent/"meta.json")["source"] == "trained"
    new = torch.load(path, weights_only=True)["state_dict"]
    c = P.shipped_comparison(new, st)
    if not c["claim_applies"]:
        pytest.skip(f"bitwise claim not applicable here, the kernels differ from the shipped record's in {'; '.join(c['kernels_differ'])}; "
                    f"regenerated bitwise: {c['bitwise']}, largest |difference| {c['max_abs_diff']}")
    assert c["bitwise"] and c["max_abs_diff"] == 0 and P.state_sha256(new) == rec["state_sha256"]
    wd = copy_to(tmp_path/"weights", pt, js)                                     # shipping them again changes no byte
    before = {f.name: f.read_bytes() for f in wd.iterdir()}
    assert P.ship_tinyclip(profile="smoke", weights_dir=wd, progress=False) == wd/pt.name
    assert {f.name: f.read_bytes() for f in wd.iterdir()} == before
    fresh = P.ship_tinyclip(profile="smoke", weights_dir=tmp_path/"fresh", progress=False)   # into an empty folder: a file that checks out
    assert P.shipped_tinyclip(st, tmp_path/"fresh") == fresh and read_json(fresh.with_suffix(".json"))["state_sha256"] == rec["state_sha256"]

def test_tampered_shipped_weights_stop_with_one_sentence(home, tmp_path, monkeypatch):
    st, pt, js = shipped_smoke()
    wd = copy_to(tmp_path/"weights", pt, js)
    no_pretraining(monkeypatch)
    assert P.shipped_tinyclip(st, wd) == wd/pt.name
    raw = bytearray((wd/pt.name).read_bytes()); raw[len(raw) // 2] ^= 0xFF; (wd/pt.name).write_bytes(bytes(raw))   # inside a tensor
    with pytest.raises(TecoaError) as e: P.load_tinyclip(profile="smoke", weights_dir=wd, progress=False)
    msg = str(e.value)
    assert "corrupt or stale" in msg and "SHA-256" in msg and str(wd/pt.name) in msg and "ship_tinyclip(profile='smoke', force=True)" in msg
    assert one_sentence(msg), msg
    rec = read_json(wd/js.name); rec["sha256"] = P.file_sha256(wd/pt.name); (wd/js.name).write_text(json.dumps(rec))
    with pytest.raises(TecoaError, match="tensors' SHA-256"): P.pretrain_tinyclip(profile="smoke", weights_dir=wd, progress=False)
    copy_to(wd, pt); rec = read_json(js); rec["settings"]["steps"] += 1; (wd/js.name).write_text(json.dumps(rec))   # stale record
    with pytest.raises(TecoaError, match="settings it records") as e: P.pretrain_tinyclip(profile="smoke", weights_dir=wd, progress=False)
    assert one_sentence(str(e.value))
    (wd/js.name).unlink()
    with pytest.raises(TecoaError, match="is missing"): P.pretrain_tinyclip(profile="smoke", weights_dir=wd, progress=False)

def test_the_shipped_file_is_compact(home):
    "Only the rows pretraining changed are stored: the unseen tokens' embeddings stay at the seeded initialisation."
    st, pt, js = shipped_smoke(); rec = read_json(js)
    assert pt.stat().st_size < 2 * 2**20 and rec["format"] == P.SHIP_FORMAT == "rows-changed-from-seeded-init/1"
    packed = torch.load(pt, weights_only=True)
    assert packed["format"] == P.SHIP_FORMAT and "token_embedding.weight" not in packed["tensors"]
    emb, n = packed["rows"]["token_embedding.weight"], rec["sparse"]["token_embedding.weight"]
    assert n["of"] == st["config"]["text_cfg"]["vocab_size"] and 0 < n["rows"] == len(emb["index"]) == len(emb["rows"]) < n["of"] // 100
    rng, det = torch.get_rng_state(), torch.are_deterministic_algorithms_enabled()
    sd = P.shipped_state(st)                                                 # rebuilt on a seeded init that leaves no trace
    assert P.state_sha256(sd) == rec["state_sha256"] and torch.equal(torch.get_rng_state(), rng) and torch.are_deterministic_algorithms_enabled() == det
    init = P.seeded_init_state(st)["token_embedding.weight"]                 # every row not stored is the seed's
    keep = torch.ones(len(init), dtype=torch.bool); keep[emb["index"]] = False
    assert torch.equal(sd["token_embedding.weight"][keep], init[keep]) and not torch.equal(sd["token_embedding.weight"][~keep], init[~keep])

def test_a_tampered_stored_row_or_a_different_init_stop_with_one_sentence(home, tmp_path, monkeypatch):
    st, pt, js = shipped_smoke(); rec = read_json(js)
    wd = copy_to(tmp_path/"weights", pt, js)
    packed = torch.load(pt, weights_only=True); packed["rows"]["token_embedding.weight"]["rows"][0, 0] += 1
    (wd/pt.name).write_bytes(P._torch_bytes(packed))
    (wd/js.name).write_text(json.dumps({**rec, "sha256": P.file_sha256(wd/pt.name)}))   # the file's hash recorded anew: the tensors give it away
    with pytest.raises(TecoaError, match="tensors' SHA-256") as e: P.load_tinyclip(profile="smoke", weights_dir=wd, progress=False)
    assert "corrupt or stale" in str(e.value) and one_sentence(str(e.value)), str(e.value)
    wd = copy_to(tmp_path/"weights2", pt, js)
    real = P.init_tinyclip
    def other_init(*a, **k):                                                  # a torch whose initialisation differs in one unseen row
        b = real(*a, **k)
        with torch.no_grad(): b.model.token_embedding.weight[-1, 0] += 1
        return b
    monkeypatch.setattr(P, "init_tinyclip", other_init); no_pretraining(monkeypatch)
    monkeypatch.setattr(P, "kernels_differ", lambda rec, here=None: [])           # on the record's kernels, another init is an error
    with pytest.raises(TecoaError, match="does not come back bitwise") as e: P.pretrain_tinyclip(profile="smoke", weights_dir=wd, progress=False)
    msg = str(e.value)
    assert "token_embedding.weight" in msg and str(wd/pt.name) in msg and "ship_tinyclip(profile='smoke', force=True)" in msg and one_sentence(msg), msg

def test_a_shipped_mini_file_is_used_for_the_mini_profile(home, tmp_path, monkeypatch):
    "A stand-in for the mini weights (the smoke tensors under the mini settings) in a throw-away folder: the study's call loads it."
    from tecoa_nb.study import study_config
    st, pt, js = shipped_smoke()
    mini = P.tinyclip_settings(profile="mini")
    sd = P.shipped_state(st)
    fake = P.write_shipped_tinyclip(sd, {**read_json(js), "settings": mini, "profile": "mini"}, tmp_path/"weights", progress=False)
    rec = read_json(fake.with_suffix(".json"))
    assert fake.stem == P.tinyclip_key(mini) == rec["key"] and rec["reproducible"]["regenerate"] == "ship_tinyclip(profile='mini', force=True)"
    no_pretraining(monkeypatch); monkeypatch.setattr(P, "WEIGHTS_DIR", tmp_path/"weights")
    b = P.load_tinyclip(**study_config("mini").pretrain)
    assert P.state_sha256(b.model.state_dict()) == rec["state_sha256"] and read_json(Path(b.pretrained).parent/"meta.json")["source"] == "shipped"

def test_the_records_say_where_the_bits_hold():
    "Every shipped record names the kernels it was made (or last regenerated bitwise) on."
    from tecoa_nb.core import KERNEL_KEYS
    for js in P.WEIGHTS_DIR.glob("*.json"):
        k = read_json(js)["reproducible"].get("kernels")
        assert k and set(KERNEL_KEYS) <= set(k), f"{js.name} does not record its kernels; regenerate it with its 'regenerate' call"

def test_other_kernels_skip_the_bitwise_claim_and_say_why(home, monkeypatch):
    "On a CPU whose kernels differ from the record's, the claim does not apply: the comparison names the fields, and is not bitwise-asserted."
    from tecoa_nb import core
    st, pt, js = shipped_smoke()
    real = core.kernel_env()
    monkeypatch.setattr(P, "kernels_differ", lambda rec, here=None: core.kernels_differ(rec, {**real, "cpu_vendor": "GenuineIntel", "isa": real["isa"] + ["amx_tile"]}))
    sd = P.shipped_state(st); sd = {k: v.clone() for k, v in sd.items()}; sd["logit_scale"] += 1e-3
    c = P.shipped_comparison(sd, st)
    assert not c["claim_applies"] and not c["bitwise"] and any(f.startswith("cpu_vendor") for f in c["kernels_differ"])
    assert abs(c["max_abs_diff"] - 1e-3) < 1e-6

def test_a_cpu_that_draws_another_init_pretrains_instead_of_failing(home, monkeypatch):
    "Where the seeded initialisation itself comes out other (another CPU's random-number kernels), the shipped file cannot be completed: a warning, then pretraining here."
    st, pt, js = shipped_smoke()
    real = P.init_tinyclip
    def other_init(*a, **k):
        b = real(*a, **k)
        with torch.no_grad(): b.model.token_embedding.weight[-1, 0] += 1
        return b
    monkeypatch.setattr(P, "init_tinyclip", other_init)
    monkeypatch.setattr(P, "kernels_differ", lambda rec, here=None: ["aten_capability: 'AVX512' -> 'DEFAULT'"])
    with pytest.warns(UserWarning, match="cannot be rebuilt on this CPU") as w:
        path = P.pretrain_tinyclip(profile="smoke", progress=False)
    assert "aten_capability" in str(w[0].message) and read_json(path.parent/"meta.json")["source"] == "trained"
