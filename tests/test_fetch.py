"""`tecoa data fetch`, offline: the fixture layouts of the dataset tests count as present, torchvision's downloaders
are called (replaced here by stand-ins that record their arguments; nothing leaves the machine) for what is missing,
and the datasets torchvision cannot download get one sentence each."""
import contextlib, io
import pytest
import torchvision.datasets as D
from test_datasets import Fixture, write_cifar10, write_dtd, write_pcam

def _main(*args):
    from tecoa_nb.cli import main
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err): rc = main(list(args))
    return rc, out.getvalue(), err.getvalue()

@pytest.fixture
def downloads(monkeypatch):
    "Replace every torchvision class the command may call; record (class, args, kwargs); fail the ones named in `fail`."
    from tecoa_nb.fetch import DOWNLOADS
    calls, fail = [], set()
    def stand_in(cls):
        def make(*args, **kw):
            calls.append((cls, args, kw))
            if cls in fail: raise RuntimeError("Failed to download (no network)")
        return make
    for cls, _ in DOWNLOADS.values(): monkeypatch.setattr(D, cls, stand_in(cls))
    return calls, fail

def test_dry_run_counts_fixture_layouts_as_present(tmp_path, downloads):
    calls, _ = downloads
    write_cifar10(Fixture(tmp_path)); write_dtd(Fixture(tmp_path))
    (tmp_path/"cifar-100-python").mkdir()                                     # an empty folder (a download cut short) is missing
    rc, out, err = _main("data", "fetch", "--suite", "tecoa", "--root", str(tmp_path), "--dry-run")
    assert rc == 0, err
    assert calls == [] and "2 of 16 datasets of tecoa present" in out
    lines = {l[12:28].strip(): l[2:12].strip() for l in out.splitlines()[1:]}     # "  <status>  <dataset> ..."
    assert lines["cifar10"] == lines["dtd"] == "present" and lines["cifar100"] == "missing"
    assert lines["imagenet"] == lines["stanford_cars"] == "by hand" and out.count("by hand") == 2
    imagenet = next(l for l in out.splitlines() if " imagenet " in l)
    assert str(tmp_path/"imagenet") in imagenet and imagenet.rstrip().endswith(".") and "image-net.org" in imagenet

def test_fetch_calls_torchvision_for_what_is_missing(tmp_path, downloads):
    pytest.importorskip("h5py")
    calls, _ = downloads
    write_cifar10(Fixture(tmp_path)); write_pcam(Fixture(tmp_path))
    rc, out, err = _main("data", "fetch", "--suite", "robustvlm", "--root", str(tmp_path))
    assert rc == 0, err
    got = {c: (a, k) for c, a, k in calls}
    from tecoa_nb.evaluate_cli import get_protocol
    expected = {"STL10", "CIFAR100", "Caltech101", "OxfordIIITPet", "Flowers102", "DTD", "EuroSAT", "FGVCAircraft"}
    assert set(got) == expected and len(calls) == len(expected)                 # not cifar10 or pcam (present), not stanford_cars
    assert all(a == (str(tmp_path),) and k["download"] is True for a, k in got.values())
    assert got["DTD"][1] == {"split": "test", "partition": 1, "download": True}
    assert got["FGVCAircraft"][1] == {"split": "test", "annotation_level": "variant", "download": True}
    assert got["CIFAR100"][1] == {"train": False, "download": True} and got["STL10"][1] == {"split": "test", "download": True}
    assert out.count("by hand") == 3 and "ImageNet-R" in out and "ImageNet-Sketch" in out and "Stanford Cars" in out

def test_failed_download_is_one_sentence_and_the_rest_go_on(tmp_path, downloads):
    calls, fail = downloads
    fail.add("CIFAR10")
    rc, out, err = _main("data", "fetch", "--suite", "cifar10,dtd", "--root", str(tmp_path))
    assert rc == 2 and [c for c, _, _ in calls] == ["CIFAR10", "DTD"]
    assert err.startswith("tecoa: error: 1 download failed (cifar10: Failed to download (no network))") and err.count("\n") == 1, err

def test_unknown_suite_names_the_closest(tmp_path, downloads):
    rc, _, err = _main("data", "fetch", "--suite", "cifar11", "--root", str(tmp_path), "--dry-run")
    assert rc == 2 and "Unknown dataset 'cifar11'" in err and err.count("\n") == 1, err
    rc, _, err = _main("data", "fetch", "--suite", "noise", "--root", str(tmp_path), "--dry-run")
    assert rc == 2 and "not a dataset with files to fetch" in err, err
