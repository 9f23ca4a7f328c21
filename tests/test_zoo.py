"The zoo: every entry resolves offline from a fixture in its own format and place (a tiny architecture in place of the real one), loads completely, and is refused in one sentence when absent or corrupt; transformers' CLIPModel keys map onto open_clip's."
import io, contextlib, re
from dataclasses import replace
from pathlib import Path
import pytest
import torch
import tecoa_nb.zoo as zoo
from tecoa_nb.core import TecoaError
from tecoa_nb.models import load_clip

TINY = "tecoa-nano"          # 2 layers, width 48, 32 px: builds in well under a second

# ---------------------------------------------------------------- fixtures in each entry's format and place

@pytest.fixture
def place(tmp_path, monkeypatch):
    "Every zoo entry on the tiny architecture, a private TECOA_HOME and Hugging Face cache, and no network."
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TECOA_HOME", str(tmp_path/"home"))
    import huggingface_hub.constants as hfc
    monkeypatch.setattr(hfc, "HF_HUB_CACHE", str(tmp_path/"hf"))     # where try_to_load_from_cache looks when given no cache_dir
    monkeypatch.setattr(zoo, "ZOO", {n: replace(e, architecture=TINY) for n, e in zoo.ZOO.items()})
    return tmp_path

def tiny_model(seed:int):
    torch.manual_seed(seed)
    m = load_clip(TINY).model
    with torch.no_grad():              # every tensor random, so a tensor left out or swapped shows
        for p in m.parameters(): p.add_(torch.randn_like(p) * 0.02)
    return m

def hub_file(root:Path, repo:str, filename:str) -> Path:
    "Where huggingface_hub's cache keeps `filename` of `repo` (models--org--name/snapshots/<commit>/, refs/main naming the commit)."
    d = root/"hf"/f"models--{repo.replace('/', '--')}"
    (d/"refs").mkdir(parents=True, exist_ok=True); (d/"refs"/"main").write_text("0" * 40)
    p = d/"snapshots"/("0" * 40)/filename; p.parent.mkdir(parents=True, exist_ok=True)
    return p

def target(root:Path, e) -> Path:
    "The entry's file where it is looked for: the Hugging Face cache for a hub entry, else $TECOA_HOME/zoo/NAME/."
    if e.repo: return hub_file(root, e.repo, e.filename)
    p = root/"home"/"zoo"/e.name/e.filename; p.parent.mkdir(parents=True, exist_ok=True)
    return p

# transformers' CLIPModel key names (transformers/models/clip/modeling_clip.py: CLIPVisionEmbeddings, pre_layrnorm,
# CLIPEncoder.layers, CLIPEncoderLayer.self_attn/layer_norm1/mlp/layer_norm2, post_layernorm, final_layer_norm,
# visual_projection, text_projection), written out here independently of the mapping under test.
def to_transformers(sd:dict, text:bool=True) -> dict:
    out = {"vision_model.embeddings.class_embedding": sd["visual.class_embedding"],
           "vision_model.embeddings.patch_embedding.weight": sd["visual.conv1.weight"],
           "vision_model.embeddings.position_embedding.weight": sd["visual.positional_embedding"],
           "vision_model.embeddings.position_ids": torch.arange(sd["visual.positional_embedding"].shape[0])[None],
           "vision_model.pre_layrnorm.weight": sd["visual.ln_pre.weight"], "vision_model.pre_layrnorm.bias": sd["visual.ln_pre.bias"],
           "vision_model.post_layernorm.weight": sd["visual.ln_post.weight"], "vision_model.post_layernorm.bias": sd["visual.ln_post.bias"],
           "visual_projection.weight": sd["visual.proj"].t().contiguous()}
    towers = [("visual.transformer.resblocks.", "vision_model.encoder.layers.")]
    if text:
        out.update({"text_model.embeddings.token_embedding.weight": sd["token_embedding.weight"],
                    "text_model.embeddings.position_embedding.weight": sd["positional_embedding"],
                    "text_model.embeddings.position_ids": torch.arange(sd["positional_embedding"].shape[0])[None],
                    "text_model.final_layer_norm.weight": sd["ln_final.weight"], "text_model.final_layer_norm.bias": sd["ln_final.bias"],
                    "text_projection.weight": sd["text_projection"].t().contiguous(), "logit_scale": sd["logit_scale"]})
        towers.append(("transformer.resblocks.", "text_model.encoder.layers."))
    for oc, hf in towers:
        n = len({k[len(oc):].split(".")[0] for k in sd if k.startswith(oc)})
        for i in range(n):
            a, b = f"{oc}{i}.", f"{hf}{i}."
            for kind in ("weight", "bias"):
                q, k, v = sd[f"{a}attn.in_proj_{kind}"].chunk(3)
                out.update({f"{b}self_attn.q_proj.{kind}": q, f"{b}self_attn.k_proj.{kind}": k, f"{b}self_attn.v_proj.{kind}": v,
                            f"{b}self_attn.out_proj.{kind}": sd[f"{a}attn.out_proj.{kind}"],
                            f"{b}layer_norm1.{kind}": sd[f"{a}ln_1.{kind}"], f"{b}layer_norm2.{kind}": sd[f"{a}ln_2.{kind}"],
                            f"{b}mlp.fc1.{kind}": sd[f"{a}mlp.c_fc.{kind}"], f"{b}mlp.fc2.{kind}": sd[f"{a}mlp.c_proj.{kind}"]})
    return {k: v.clone().contiguous() for k, v in out.items()}

def write_entry(root:Path, e, model) -> Path:
    "Write `model`'s weights as entry `e` publishes them, where `e` is looked for."
    sd, p = model.state_dict(), target(root, e)
    vis = {k[len("visual."):]: v for k, v in sd.items() if k.startswith("visual.")}
    if e.format == "open_clip-hf-hub": torch.save(sd, p)
    elif e.format == "tecoa-official":   # finetuning.py: {'epoch', 'state_dict' (prompter), 'vision_encoder_state_dict', 'best_acc1', ...}
        torch.save({"epoch": 10, "state_dict": {}, "add_prompter": {}, "vision_encoder_state_dict": vis, "best_acc1": 0.0}, p)
    elif e.format == "state-dict": torch.save(vis, p)   # model.visual.state_dict()
    elif e.format == "hf-transformers":
        from safetensors.torch import save_file
        save_file(to_transformers(sd), str(p))
    else: raise AssertionError(f"no fixture for format {e.format}")
    return p

def same(a, b) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return set(sa) == set(sb) and all(torch.equal(sa[k], sb[k]) for k in sa)

# ---------------------------------------------------------------- every entry, offline, in its own format

@pytest.mark.parametrize("name", list(zoo.ZOO))
def test_entry_resolves_and_loads_offline(place, name):
    e = zoo.get_entry(name)
    src = tiny_model(1)
    p = write_entry(place, e, src)
    base = None
    if e.format in ("tecoa-official", "state-dict"):        # an image tower: the text tower comes from the base entry
        base = tiny_model(2); write_entry(place, zoo.get_entry(e.base), base)
    assert zoo.resolve_zoo(name) == p
    b = load_clip(f"zoo:{name}")
    assert b.name == f"zoo:{name}" and b.checkpoint["format"] == e.format
    got = b.model.state_dict()
    for k, v in src.state_dict().items():
        want = v if base is None or k.startswith("visual.") else base.state_dict()[k]
        assert torch.equal(got[k], want), k


@pytest.mark.parametrize("name", list(zoo.ZOO))
def test_absent_entry_is_refused_in_one_sentence(place, name):
    e = zoo.get_entry(name)
    with pytest.raises(TecoaError) as err:
        load_clip(f"zoo:{name}")
    msg = str(err.value)
    assert e.url in msg and str(place/"home"/"zoo"/name) in msg and e.filename in msg
    assert msg.endswith(".") and len(re.findall(r"\.\s+[A-Z]", msg)) == 0        # one sentence


@pytest.mark.parametrize("name", list(zoo.ZOO))
def test_corrupt_entry_is_refused_in_one_sentence(place, name):
    e = zoo.get_entry(name)
    p = target(place, e); p.write_bytes(b"not weights at all")
    with pytest.raises(TecoaError) as err:
        load_clip(f"zoo:{name}")
    msg = str(err.value)
    assert str(p) in msg and msg.endswith(".") and "\n" not in msg


def test_manual_download_in_the_zoo_folder(place):
    "An entry with a hub repository is also found where a manual download goes, $TECOA_HOME/zoo/NAME/."
    e = zoo.get_entry("robustvlm-fare4")
    p = place/"home"/"zoo"/e.name/e.filename; p.parent.mkdir(parents=True)
    src = tiny_model(3); torch.save(src.state_dict(), p)
    assert zoo.resolve_zoo("zoo:robustvlm-fare4") == p
    assert same(zoo.load_zoo("robustvlm-fare4").model, src)


def test_mismatched_checkpoint_names_what_did_not_match(place):
    e = zoo.get_entry("robustvlm-tecoa2")
    sd = tiny_model(4).state_dict(); sd.pop("visual.ln_post.bias"); sd["visual.extra"] = torch.zeros(1)
    torch.save(sd, target(place, e))
    with pytest.raises(TecoaError, match=r"1 missing \(visual.ln_post.bias\).*1 unexpected \(visual.extra\)"):
        load_clip("zoo:robustvlm-tecoa2")


def test_image_tower_without_its_base_says_where_to_get_the_base(place):
    e = zoo.get_entry("simclip4")
    write_entry(place, e, tiny_model(5))
    base = zoo.get_entry(e.base)
    with pytest.raises(TecoaError, match=re.escape(base.url)):
        load_clip("zoo:simclip4")

# ---------------------------------------------------------------- transformers' CLIPModel → open_clip

def test_transformers_keys_map_onto_open_clip_with_the_same_outputs():
    src = tiny_model(6)
    sd = zoo.hf_clip_to_open_clip(to_transformers(src.state_dict()))
    dst = tiny_model(7)
    assert set(sd) == set(dst.state_dict())
    dst.load_state_dict(sd, strict=True)
    x = torch.rand(2, 3, 32, 32); t = torch.randint(1, 400, (2, 32))
    with torch.no_grad():
        assert torch.allclose(dst.encode_image(x), src.encode_image(x), atol=1e-6)
        assert torch.allclose(dst.encode_text(t), src.encode_text(t), atol=1e-6)
    assert same(dst, src)


def test_transformers_vision_only_file_takes_the_base_text_tower(place):
    "A CLIPVisionModelWithProjection-style file (vision_model.* and visual_projection only) loads as an image tower onto the base."
    e = zoo.get_entry("leaf-vit-l-fare2")
    from safetensors.torch import save_file
    src, base = tiny_model(8), tiny_model(9)
    save_file(to_transformers(src.state_dict(), text=False), str(target(place, e)))
    write_entry(place, zoo.get_entry(e.base), base)
    m = load_clip("zoo:leaf-vit-l-fare2").model.state_dict()
    assert all(torch.equal(m[k], (src if k.startswith("visual.") else base).state_dict()[k]) for k in m)


def test_transformers_sharded_index(place):
    e = zoo.get_entry("leaf-vit-l-rho50-k1-constrained-fare2")
    from safetensors.torch import save_file
    import json
    src = tiny_model(10); hf = to_transformers(src.state_dict())
    keys = sorted(hf); half = {"model-00001-of-00002.safetensors": keys[:len(keys)//2], "model-00002-of-00002.safetensors": keys[len(keys)//2:]}
    idx = hub_file(place, e.repo, "model.safetensors.index.json")
    for f, ks in half.items(): save_file({k: hf[k] for k in ks}, str(idx.parent/f))
    idx.write_text(json.dumps({"metadata": {}, "weight_map": {k: f for f, ks in half.items() for k in ks}}))
    assert same(load_clip(f"zoo:{e.name}").model, src)
    (idx.parent/"model-00002-of-00002.safetensors").unlink()
    with pytest.raises(TecoaError, match=r"lists 1 shard\(s\) that are not beside it \(model-00002-of-00002.safetensors\); download them into"):
        load_clip(f"zoo:{e.name}")


def test_transformers_incomplete_attention_is_named():
    hf = to_transformers(tiny_model(11).state_dict()); hf.pop("vision_model.encoder.layers.1.self_attn.k_proj.weight")
    own = tiny_model(12).state_dict()
    from tecoa_nb.models import check_complete
    with pytest.raises(TecoaError, match=r"visual.transformer.resblocks.1.attn.in_proj_weight"):
        check_complete(own, zoo.hf_clip_to_open_clip(hf), "the model", "x")

# ---------------------------------------------------------------- names, commands, published numbers

def test_unknown_zoo_name_is_refused_with_the_closest():
    from tecoa_nb.models import check_model_name
    with pytest.raises(TecoaError, match="robustvlm-fare2"):
        check_model_name("zoo:fare2")
    assert check_model_name("zoo:robustvlm-fare2") == "zoo:robustvlm-fare2"


def test_pretrained_does_not_apply_to_a_zoo_model(place):
    with pytest.raises(TecoaError, match="does not apply"):
        load_clip("zoo:robustvlm-fare2", pretrained="openai")


def test_evaluate_and_train_load_zoo_models(place):
    e = zoo.get_entry("robustvlm-fare2")
    src = tiny_model(13); write_entry(place, e, src)
    from tecoa_nb.evaluate_cli import load_for_eval
    clf, info = load_for_eval("zoo:robustvlm-fare2", device="cpu")
    assert same(clf.clip, src) and info["identity"]["model"] == "zoo:robustvlm-fare2" and "model_sha1" in info["identity"]
    from tecoa_nb.train_cli import TrainSettings, _load_bundle
    b = _load_bundle(TrainSettings(model="zoo:robustvlm-fare2"), torch.device("cpu"))     # the 'openai' default does not apply
    assert same(b.model, src)


def test_zoo_command_lists_entries_and_presence(place):
    import subprocess, sys                        # a fresh process: `tecoa` itself must import the module that registers `zoo`
    r = subprocess.run([sys.executable, "-c", "import tecoa_nb.cli as c; c._load_commands(); print('zoo' in c._COMMANDS)"],
                       capture_output=True, text=True)
    assert r.stdout.strip() == "True", r.stderr
    from tecoa_nb.cli import main
    write_entry(place, zoo.get_entry("robustvlm-fare2"), tiny_model(14))
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf): assert main(["zoo"]) == 0
    lines = {l.split()[1]: l.split()[0] for l in buf.getvalue().splitlines() if l.startswith(("present", "absent"))}
    assert set(lines) == {f"zoo:{n}" for n in zoo.ZOO}
    assert lines["zoo:robustvlm-fare2"] == "present" and lines["zoo:simclip2"] == "absent"


def test_published_rows_have_the_leaderboard_keys():
    rows = zoo.published_rows()
    keys = {"model", "protocol", "dataset", "metric", "value", "eps", "attack", "source"}
    assert rows and all(set(r) == keys for r in rows)
    assert all(r["model"] in zoo.ZOO and r["metric"] in ("robust", "clean") and 0 <= r["value"] <= 100 for r in rows)
    assert all(r["source"].startswith("https://") for r in rows)
    # the numbers as their sources print them (RobustVLM README, TeCoA README)
    got = {(r["model"], r["metric"], r["eps"]): r["value"] for r in rows}
    assert got[("robustvlm-fare4", "robust", 4/255)] == 32.4 and got[("robustvlm-tecoa2", "clean", None)] == 60.0
    assert got[("tecoa-vit-b-32-official", "robust", None)] == 38.18


def test_every_entry_names_its_source_and_unverified_have_reasons():
    for e in zoo.ZOO.values():
        assert e.source.startswith("https://") and e.url.startswith("https://") and e.quote
        assert e.format in ("open_clip-hf-hub", "tecoa-official", "state-dict", "hf-transformers")
        assert e.base is None or e.base in zoo.ZOO
    assert all(u["reason"] and u["candidate"] for u in zoo.UNVERIFIED)
    assert not {u["candidate"] for u in zoo.UNVERIFIED} & set(zoo.ZOO)
