"What the library is given is what it uses: loaded datasets are not loaded again, a model name means the weights it says, and a download that cannot happen fails at once in one whole sentence."
import socket, time, warnings
from pathlib import Path
import pytest
import torch
from tecoa_nb.core import TecoaError
from tecoa_nb.data import TensorImageDataset, load_dataset

def _clf():
    from tecoa_nb.models import ZeroShotClassifier, load_clip
    torch.manual_seed(0); return ZeroShotClassifier(load_clip("tecoa-tiny"))

def _counting(monkeypatch, *modules):
    "Count `load_dataset` calls made through each of `modules`."
    calls = []
    def counted(name, split="test", root=None): calls.append(name); return load_dataset(name, split, root)
    for m in modules: monkeypatch.setattr(m, "load_dataset", counted)
    return calls

def test_evaluate_uses_the_datasets_it_is_given(monkeypatch):
    import tecoa_nb.evaluate as ev
    calls = _counting(monkeypatch, ev)
    g = torch.Generator().manual_seed(1)     # 10 images, where the registered `noise` has 64: which one ran shows in n_total
    given = TensorImageDataset(torch.randint(0, 256, (10, 3, 32, 32), generator=g, dtype=torch.uint8), torch.randint(0, 4, (10,), generator=g))
    t = ev.evaluate(_clf(), ["noise"], ["clean", "pgd2"], n_per_dataset=8, batch_size=8, progress=False, datasets={"noise": given})
    assert calls == [] and t.attrs["datasets"]["noise"]["n_total"] == 10
    assert t.attrs["subsets"]["noise"] == ev.balanced_subset(given, 8, 0)[1]

def test_run_evaluation_loads_each_dataset_once(tmp_path, monkeypatch):
    import tecoa_nb.data, tecoa_nb.evaluate
    from tecoa_nb.evaluate_cli import load_for_eval, run_evaluation
    calls = _counting(monkeypatch, tecoa_nb.data, tecoa_nb.evaluate)
    clf, info = load_for_eval("tecoa-tiny")
    run_evaluation(clf, info, ["noise"], ["clean", "pgd2"], [1/255, 4/255], tmp_path, n=4, batch_size=4, progress=False)
    assert calls == ["noise"]       # three jobs on one dataset, loaded once

def test_evaluate_fast_loads_each_dataset_once(monkeypatch):
    import tecoa_nb.evaluate as ev
    calls = _counting(monkeypatch, ev)
    t = ev.evaluate_fast(_clf(), ["noise"], ["clean", "pgd2"], check_n=4, n_per_dataset=8, batch_size=8, progress=False)
    assert calls == ["noise"] and t.attrs["evaluation"]["precision_check"]["rows"]

def test_leaderboard_keeps_two_checkpoints_of_one_name_apart(tmp_path):
    "Two models that print the same (a checkpoint file name in two folders) are two rows, not one row of their mean."
    from tecoa_nb.evaluate_cli import load_for_eval, run_evaluation, summarize_results, leaderboard
    for i in (0, 1):
        clf, info = load_for_eval("tecoa-tiny")
        ident = {**info["identity"], "checkpoint": "ckpt.pt", "checkpoint_sha1": f"{i}" * 40}
        info = {**info, "identity": ident, "key": f"{i}" * 10, "slug": f"tecoa-tiny__ckpt.pt_{i}"}
        run_evaluation(clf, info, ["noise"], ["clean"], [], tmp_path, n=16, batch_size=16, progress=False)
    long = summarize_results(tmp_path)
    assert len(long) == 2 and long.model.nunique() == 1 and long.model_key.nunique() == 2
    board = leaderboard(long)["clean"]
    assert len(board) == 2 and sorted(board["noise"]) == sorted(long.accuracy)

def test_tiny_config_without_weights_warns():
    from tecoa_nb.models import zero_shot_classifier
    with pytest.warns(UserWarning, match=r"random.*checkpoint=.*'tinyclip'") as rec:
        zero_shot_classifier("tecoa-tiny")
    msgs = [str(w.message) for w in rec if "random" in str(w.message)]
    assert len(msgs) == 1 and msgs[0].count(". ") == 0 and msgs[0].endswith(".")
    with warnings.catch_warnings():
        warnings.simplefilter("error")           # a model with its weights given says nothing
        zero_shot_classifier("tinyclip")

def test_zero_shot_classifier_takes_tinyclip():
    from tecoa_nb.models import zero_shot_classifier
    from tecoa_nb.evaluate_cli import load_for_eval
    clf = zero_shot_classifier("tinyclip", classnames=["cat", "dog"])
    ref, _ = load_for_eval("tinyclip")             # what `tecoa evaluate --model tinyclip` evaluates
    own, theirs = clf.clip.state_dict(), ref.clip.state_dict()
    assert own.keys() == theirs.keys() and all(torch.equal(own[k].cpu(), theirs[k].cpu()) for k in own)
    assert clf(torch.rand(2, 3, 32, 32)).shape == (2, 2)
    with pytest.raises(TecoaError, match="tinyclip"): zero_shot_classifier("tinyclip", pretrained="openai")

# --- offline: a pretrained tag whose weights are not cached ---------------------------------------------------

HUB_OFFLINE = ("An error happened while trying to locate the file on the Hub and we cannot find the requested files in the local "
               "cache. Please check your connection and try again or make sure your Internet connection is on.")

@pytest.fixture
def no_weights(tmp_path, monkeypatch):
    "An empty Hugging Face cache, and a hub download (as open_clip calls it) that fails as huggingface_hub does offline; returns its calls."
    import huggingface_hub.constants, open_clip.pretrained
    from huggingface_hub.errors import LocalEntryNotFoundError
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path/"hf"))
    monkeypatch.setenv("HOME", str(tmp_path))      # open_clip's own URL cache (~/.cache/clip) is empty too
    for k in ("TECOA_OFFLINE", "HF_HUB_OFFLINE", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"): monkeypatch.delenv(k, raising=False)
    calls = []
    def download(repo_id, filename, **kw): calls.append((repo_id, filename)); raise LocalEntryNotFoundError(HUB_OFFLINE)
    monkeypatch.setattr(open_clip.pretrained, "hf_hub_download", download)
    return calls

def _one_sentence(msg:str) -> bool: return msg.endswith(".") and ". " not in msg.replace("e.g. ", "") and "\n" not in msg

def test_offline_tag_fails_fast(no_weights, monkeypatch):
    "No network (the name lookup fails at once, as offline): one sentence, without trying the download and its minute of retries."
    def no_dns(*a, **k): raise socket.gaierror(-2, "Name or service not known")
    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    from tecoa_nb.models import zero_shot_classifier
    t0 = time.perf_counter()
    with pytest.raises(TecoaError) as e: zero_shot_classifier("ViT-B-32", pretrained="openai")
    assert time.perf_counter() - t0 < 10 and no_weights == []
    msg = str(e.value)
    assert _one_sentence(msg) and "not in the local cache" in msg and "pretrained=" in msg, msg

def test_failed_download_is_one_whole_sentence(no_weights, monkeypatch):
    "The hub answers (the connection check passes) but the download fails: the error is a whole sentence, never cut mid-word."
    class _Sock:
        def __enter__(self): return self
        def __exit__(self, *a): pass
        def close(self): pass
    monkeypatch.setattr(socket, "create_connection", lambda *a, **k: _Sock())
    from tecoa_nb.models import zero_shot_classifier
    with pytest.raises(TecoaError) as e: zero_shot_classifier("ViT-B-32", pretrained="openai")
    msg = str(e.value)
    assert no_weights and _one_sentence(msg) and "not in the local cache" in msg and "pretrained=" in msg, msg

def test_load_clip_looks_in_the_cache_dir_it_is_given(tmp_path, monkeypatch):
    "`cache_dir=` (`--cache-dir`) is where a pretrained tag's weights are looked for, not only an hf-hub: model's."
    import open_clip
    from tecoa_nb.models import load_clip
    snap = tmp_path/"models--timm--vit_base_patch32_clip_224.openai"
    (snap/"refs").mkdir(parents=True); (snap/"refs"/"main").write_text("abc")
    (snap/"snapshots"/"abc").mkdir(parents=True); (snap/"snapshots"/"abc"/"open_clip_model.safetensors").write_bytes(b"weights")
    seen = []
    def create_model(name, pretrained=None, **kw): seen.append((pretrained, kw.get("cache_dir"))); raise RuntimeError("stop here")
    monkeypatch.setattr(open_clip, "create_model", create_model)
    with pytest.raises(TecoaError): load_clip("ViT-B-32", "openai", offline=True, cache_dir=tmp_path)
    assert seen and Path(seen[0][0]).name == "open_clip_model.safetensors" and str(tmp_path) in seen[0][0]
