"""Fixture tests for the paper's 16 dataset loaders in `tecoa_nb.data`.

The real datasets cannot be downloaded here, so each test writes a few tiny images in torchvision's exact on-disk
layout for one dataset (the folders, annotation files, `.mat`, pickle, binary or HDF5 files its torchvision class
reads), loads them through the library's own `load_dataset`, and checks what evaluation relies on: the number of
images, labels in range and tied to the right file, the image tensors (dtype, shape, range; bit for bit where the
dataset is read at native resolution), and the class names.

Every fixture image is one solid colour that encodes a tag (red and green in steps of 8, so JPEG's rounding cannot
blur it), and the fixture remembers which label and class name each tag must come back with. A loader that shuffles
labels against files, drops or repeats an image, or names classes in the wrong order fails here.

torchvision compares some files' MD5 sums with the official release; the `no_md5` fixture patches those checks in
torchvision's modules for the duration of a test (never in the library) to a plain "the file exists" check.
"""
import itertools, json, os, pickle, re, sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from tecoa_nb import data
from tecoa_nb.core import TecoaError
from tecoa_nb.data import PAPER_SUITE, fixed_split, format_classname, get_dataset, load_dataset

# What each dataset's files must sit in, under the data root (torchvision's folder names).
FOLDERS = {"imagenet": "imagenet", "cifar10": "cifar-10-batches-py", "cifar100": "cifar-100-python",
           "stl10": "stl10_binary", "caltech101": "caltech101/101_ObjectCategories",
           "caltech256": "caltech256/256_ObjectCategories", "oxford_pets": "oxford-iiit-pet", "flowers102": "flowers-102",
           "food101": "food-101", "stanford_cars": "stanford_cars", "sun397": "SUN397", "country211": "country211",
           "fgvc_aircraft": "fgvc-aircraft-2013b", "pcam": "pcam", "dtd": "dtd/dtd", "eurosat": "eurosat/2750"}


# ---------------------------------------------------------------------------------------------------------------
# Tagged images
class Fixture:
    "Writes tagged images under `root` and remembers, per tag, the label and class name the loader must return."
    def __init__(self, root: Path):
        self.root, self.expect, self.counts, self.arrays = Path(root), {}, {}, {}

    def tag(self, label: int, name: str | None = None, split: str = "test") -> int:
        t = len(self.expect)
        assert t < 32 * 32, "the colour code holds 1024 tags"
        self.expect[t] = (label, name)
        self.counts[split] = self.counts.get(split, 0) + 1
        return t

    @staticmethod
    def colour(t: int) -> tuple[int, int, int]: return (4 + 8 * (t // 32), 4 + 8 * (t % 32), 128)

    def pixels(self, label: int, name: str | None = None, split: str = "test", size: int = 32, exact: bool = True) -> np.ndarray:
        "A uint8 [3,H,W] image for binary formats: red and green carry the tag, blue ramps left to right."
        t = self.tag(label, name, split); r, g, _ = self.colour(t)
        a = np.empty((3, size, size), np.uint8)
        a[0], a[1], a[2] = r, g, (np.arange(size) * (256 // size))[None, :]
        if exact: self.arrays[t] = a   # read at native resolution: must come back bit for bit
        return a

    def image(self, path, label: int, name: str | None = None, split: str = "test", size=(12, 10)) -> Path:
        "A tiny solid JPEG at `path` (`root`-relative) for file-per-image formats."
        path = self.root / path; path.parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", size, self.colour(self.tag(label, name, split))).save(path, format="JPEG", quality=100)
        return path


def tag_of(x: torch.Tensor) -> int:
    "The tag a loaded image [3,H,W] in [0,1] carries."
    r, g = (x[:2].mean((1, 2)) * 255).tolist()
    return round((r - 4) / 8) * 32 + round((g - 4) / 8)


def check_split(name: str, ds, fx: Fixture, n: int) -> set[int]:
    "Check a loaded split against the fixture; return the tags it holds."
    spec = get_dataset(name)
    assert len(ds) == n, f"{name}: {len(ds)} images, expected {n}"
    assert len(ds.classnames) == spec.n_classes
    tags = []
    for i in range(len(ds)):
        x, y = ds[i]
        assert x.dtype == torch.float32 and tuple(x.shape) == (3, spec.resolution, spec.resolution), (name, x.dtype, x.shape)
        assert 0 <= float(x.min()) and float(x.max()) <= 1
        assert type(y) is int and 0 <= y < spec.n_classes
        t = tag_of(x); tags.append(t)
        label, cname = fx.expect[t]
        assert y == label, f"{name}: image with tag {t} has label {y}, expected {label}"
        if cname is not None: assert ds.classnames[y] == cname, f"{name}: label {y} is named {ds.classnames[y]!r}, expected {cname!r}"
        if t in fx.arrays: assert torch.equal(x, torch.from_numpy(fx.arrays[t]).float().div(255)), f"{name}: pixels of tag {t} differ"
    assert len(set(tags)) == len(tags), f"{name}: an image came back twice"
    return set(tags)


# ---------------------------------------------------------------------------------------------------------------
# One writer per dataset, in torchvision's layout. Splits that have no official test split write split="all".
def _pickle(path: Path, obj):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f: pickle.dump(obj, f, protocol=2)


CIFAR10_RAW = "airplane automobile bird cat deer dog frog horse ship truck".split()

def write_cifar10(fx):
    base = fx.root / "cifar-10-batches-py"
    def batch(split, labels):
        a = np.stack([fx.pixels(l, format_classname(CIFAR10_RAW[l]), split) for l in labels])
        return {"batch_label": f"{split} batch", "labels": list(labels), "data": a.reshape(len(labels), -1),
                "filenames": [f"img_{i}.png" for i in range(len(labels))]}
    for i in range(1, 6): _pickle(base / f"data_batch_{i}", batch("train", [i - 1, i + 4]))
    _pickle(base / "test_batch", batch("test", [0, 3, 7, 9, 3]))
    _pickle(base / "batches.meta", {"label_names": CIFAR10_RAW, "num_cases_per_batch": 2, "num_vis": 3072})


def write_cifar100(fx):
    base, raw = fx.root / "cifar-100-python", [c.replace(" ", "_") for c in data.CIFAR100_CLASSES]
    def batch(split, labels):
        a = np.stack([fx.pixels(l, format_classname(raw[l]), split) for l in labels])
        return {"batch_label": split, "fine_labels": list(labels), "coarse_labels": [l // 5 for l in labels],
                "data": a.reshape(len(labels), -1), "filenames": [f"img_{i}.png" for i in range(len(labels))]}
    _pickle(base / "train", batch("train", [1, 2, 98]))
    _pickle(base / "test", batch("test", [0, 4, 55, 99]))
    _pickle(base / "meta", {"fine_label_names": raw, "coarse_label_names": [f"superclass_{i}" for i in range(20)]})


STL10_RAW = "airplane bird car cat deer dog horse monkey ship truck".split()

def write_stl10(fx):
    base = fx.root / "stl10_binary"; base.mkdir(parents=True)
    def write(stem, labels, split):
        a = np.stack([fx.pixels(l, format_classname(STL10_RAW[l]), split, size=96) for l in labels])
        (base / f"{stem}_X.bin").write_bytes(a.transpose(0, 1, 3, 2).tobytes())   # STL-10 stores images column-major
        if stem != "unlabeled": (base / f"{stem}_y.bin").write_bytes((np.array(labels, np.uint8) + 1).tobytes())  # 1-based
    write("train", [0, 5], "train"); write("unlabeled", [0], "unlabeled"); write("test", [9, 0, 4], "test")
    (base / "class_names.txt").write_text("\n".join(STL10_RAW) + "\n")
    (base / "fold_indices.txt").write_text("0 1\n" * 10)


# torchvision lists the folders sorted (upper case first) and drops BACKGROUND_Google
CALTECH101_FOLDERS = sorted(
    "Faces Faces_easy Leopards Motorbikes accordion airplanes anchor ant barrel bass beaver binocular bonsai brain "
    "brontosaurus buddha butterfly camera cannon car_side ceiling_fan cellphone chair chandelier cougar_body cougar_face "
    "crab crayfish crocodile crocodile_head cup dalmatian dollar_bill dolphin dragonfly electric_guitar elephant emu "
    "euphonium ewer ferry flamingo flamingo_head garfield gerenuk gramophone grand_piano hawksbill headphone hedgehog "
    "helicopter ibis inline_skate joshua_tree kangaroo ketch lamp laptop llama lobster lotus mandolin mayfly menorah "
    "metronome minaret nautilus octopus okapi pagoda panda pigeon pizza platypus pyramid revolver rhino rooster "
    "saxophone schooner scissors scorpion sea_horse snoopy soccer_ball stapler starfish stegosaurus stop_sign strawberry "
    "sunflower tick trilobite umbrella watch water_lilly wheelchair wild_cat windsor_chair wrench yin_yang".split())
CALTECH101_NAMES = {"Faces": "off-center face", "Faces_easy": "centered face", "Leopards": "leopard",
                    "accordion": "accordion", "car_side": "side of a car", "snoopy": "snoopy (cartoon beagle)",
                    "yin_yang": "yin and yang symbol"}

def write_caltech101(fx):
    base = fx.root / "caltech101" / "101_ObjectCategories"
    for c in CALTECH101_FOLDERS: (base / c).mkdir(parents=True)
    for c, name in CALTECH101_NAMES.items():
        for k in (1, 2): fx.image(base / c / f"image_{k:04d}.jpg", CALTECH101_FOLDERS.index(c), format_classname(name), "all")
    fx.image(base / "BACKGROUND_Google" / "image_0001.jpg", -1, None, "background")   # not a class: never loaded


CALTECH256_101 = {"motorbikes", "airplanes", "car-side", "faces-easy"}   # folders with a '-101' suffix, e.g. 253.faces-easy-101

def write_caltech256(fx):
    base = fx.root / "caltech256" / "256_ObjectCategories"
    folders = []
    for i, name in enumerate(data.CALTECH256_CLASSES):
        raw = name.replace(" ", "-"); folders.append(f"{i + 1:03d}.{raw}{'-101' if raw in CALTECH256_101 else ''}")
        (base / folders[-1]).mkdir(parents=True)
    for i in (0, 144, 252, 256):   # ak47, motorbikes-101, faces-easy-101, clutter
        for k in (1, 2, 3): fx.image(base / folders[i] / f"{i + 1:03d}_{k:04d}.jpg", i, data.CALTECH256_CLASSES[i], "all")


PET_CATS = {"abyssinian", "bengal", "birman", "bombay", "british shorthair", "egyptian mau", "maine coon", "persian",
            "ragdoll", "russian blue", "siamese", "sphynx"}

def write_oxford_pets(fx):
    base = fx.root / "oxford-iiit-pet"; (base / "annotations" / "trimaps").mkdir(parents=True)
    lines = {"trainval": [], "test": []}
    for k, name in enumerate(data.OXFORD_PETS_CLASSES):   # the class list comes from the split file: all 37 must appear
        cat = name in PET_CATS
        raw = "_".join(w.capitalize() for w in name.split()) if cat else name.replace(" ", "_")
        for split, j in (("test", 1), ("test", 2), ("trainval", 3)):
            if split == "test" and j == 2 and k % 9: continue
            fx.image(f"oxford-iiit-pet/images/{raw}_{j}.jpg", k, name, "train" if split == "trainval" else split)
            lines[split].append(f"{raw}_{j} {k + 1} {1 if cat else 2} {k + 1}")
    for split, ls in lines.items(): (base / "annotations" / f"{split}.txt").write_text("\n".join(ls) + "\n")


def write_flowers102(fx):
    from scipy.io import savemat
    base = fx.root / "flowers-102"
    labels = [1, 102, 50, 7, 1, 3, 102, 60, 77]            # 1-based, one per image id 1..9
    sets = {"trnid": [1, 2], "valid": [3, 4], "tstid": [5, 6, 7, 8, 9]}
    split_of = {i: s for s, ids in zip(("train", "val", "test"), sets.values()) for i in ids}
    for i, lab in enumerate(labels, 1): fx.image(f"flowers-102/jpg/image_{i:05d}.jpg", lab - 1, None, split_of[i])
    savemat(base / "imagelabels.mat", {"labels": np.array(labels, np.uint8)[None]})
    savemat(base / "setid.mat", {k: np.array(v, np.uint16)[None] for k, v in sets.items()})


def write_food101(fx):
    base, raw = fx.root / "food-101", sorted(c.replace(" ", "_") for c in data.FOOD101_CLASSES)
    (base / "meta").mkdir(parents=True)
    for split, picks in (("train", {"apple_pie": 2}), ("test", {"apple_pie": 1, "pizza": 2, raw[-1]: 2})):
        meta = {c: [] for c in raw}
        for c, n in picks.items():
            for k in range(n):
                stem = f"{c}/{1000 * (split == 'test') + k}"
                fx.image(f"food-101/images/{stem}.jpg", raw.index(c), format_classname(c), split); meta[c].append(stem)
        (base / "meta" / f"{split}.json").write_text(json.dumps(meta))
        (base / "meta" / f"{split}.txt").write_text("".join(s + "\n" for v in meta.values() for s in v))
    (base / "meta" / "classes.txt").write_text("\n".join(raw) + "\n")


def write_stanford_cars(fx):
    from scipy.io import savemat
    base, raw = fx.root / "stanford_cars", list(data.STANFORD_CARS_CLASSES)
    fields = ["bbox_x1", "bbox_y1", "bbox_x2", "bbox_y2", "class", "fname"]
    def annos(split, folder, classes):
        recs = np.zeros((1, len(classes)), dtype=[(f, "O") for f in fields])
        for j, c in enumerate(classes):
            fname = f"{j + 1:05d}.jpg"; fx.image(base / folder / fname, c - 1, format_classname(raw[c - 1]), split)
            recs[0, j] = (np.uint8(0), np.uint8(0), np.uint8(11), np.uint8(9), np.uint8(c), fname)
        return {"annotations": recs}
    (base / "devkit").mkdir(parents=True)
    savemat(base / "devkit" / "cars_meta.mat", {"class_names": np.array(raw, dtype=object)[None]})
    savemat(base / "devkit" / "cars_train_annos.mat", annos("train", "cars_train", [1, 196]))
    savemat(base / "cars_test_annos_withlabels.mat", annos("test", "cars_test", [1, 17, 196, 17]))


def write_sun397(fx):
    base, raw = fx.root / "SUN397", [c.replace(" ", "_") for c in data.SUN397_CLASSES]
    base.mkdir(parents=True)
    (base / "ClassName.txt").write_text("".join(f"/{c[0]}/{c}\n" for c in raw))
    for k in (0, 1, 200, 396):
        for j in range(3): fx.image(f"SUN397/{raw[k][0]}/{raw[k]}/sun_{k:03d}{j}abc.jpg", k, format_classname(raw[k]), "all")


def write_country211(fx):
    codes = ["".join(p) for p in itertools.product("ABCDEFGHIJ", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")][:211]
    for k, code in enumerate(codes):   # ImageFolder: every class folder needs an image
        for j in range(2 if k in (0, 210) else 1): fx.image(f"country211/test/{code}/{k}{j}.jpg", k, None, "test")
    for k, code in enumerate(codes): fx.image(f"country211/valid/{code}/v{k}.jpg", k, None, "val")   # 'val' is torchvision's 'valid'


def write_fgvc_aircraft(fx):
    base, variants = fx.root / "fgvc-aircraft-2013b" / "data", data._AIRCRAFT.split("|")
    base.mkdir(parents=True)
    (base / "variants.txt").write_text("\n".join(variants) + "\n")
    for split, ks in (("train", [0, 99]), ("val", [5]), ("test", [0, 50, 99, 50, variants.index("F/A-18")])):
        lines = []
        for j, k in enumerate(ks):
            iid = f"{1000000 + 100 * len(fx.expect)}"; fx.image(f"fgvc-aircraft-2013b/data/images/{iid}.jpg", k, None, split)
            lines.append(f"{iid} {variants[k]}")
        (base / f"images_variant_{split}.txt").write_text("\n".join(lines) + "\n")


def write_pcam(fx):
    h5py = pytest.importorskip("h5py", reason="PCAM's files are HDF5; writing them needs h5py")
    base = fx.root / "pcam"; base.mkdir(parents=True)
    for split, stem, labels in (("train", "train", [1, 0]), ("test", "test", [0, 1, 1, 0]), ("val", "valid", [1])):
        x = np.stack([fx.pixels(l, data.PCAM_CLASSES[l], split, size=96, exact=False).transpose(1, 2, 0) for l in labels])
        with h5py.File(base / f"camelyonpatch_level_2_split_{stem}_x.h5", "w") as f: f["x"] = x
        with h5py.File(base / f"camelyonpatch_level_2_split_{stem}_y.h5", "w") as f:
            f["y"] = np.array(labels, np.uint8).reshape(-1, 1, 1, 1)


def write_dtd(fx):
    base, raw = fx.root / "dtd" / "dtd", [c.replace(" ", "-") for c in data.DTD_CLASSES]
    (base / "labels").mkdir(parents=True)
    lines = {"train1": [], "val1": [], "test1": []}
    for k, c in enumerate(raw):   # the class list comes from the split file: all 47 must appear
        for j, split in ((1, "train"), (2, "val"), (3, "test"), (4, "test")):
            if j == 4 and k % 10: continue
            fx.image(base / "images" / c / f"{c}_{j:04d}.jpg", k, format_classname(c), split)
            lines[f"{split}1"].append(f"{c}/{c}_{j:04d}.jpg")
    for f, ls in lines.items(): (base / "labels" / f"{f}.txt").write_text("\n".join(ls) + "\n")


EUROSAT_FOLDERS = {"AnnualCrop": "annual crop land", "Forest": "forest", "HerbaceousVegetation": "brushland or shrubland",
                   "Highway": "highway or road", "Industrial": "industrial buildings or commercial buildings",
                   "Pasture": "pasture land", "PermanentCrop": "permanent crop land",
                   "Residential": "residential buildings or homes or apartments", "River": "river", "SeaLake": "lake or sea"}

def write_eurosat(fx):
    for k, (c, name) in enumerate(EUROSAT_FOLDERS.items()):
        for j in (1, 2): fx.image(f"eurosat/2750/{c}/{c}_{j}.jpg", k, name, "all", size=(64, 64))


def imagenet_wnids() -> list[str]: return [f"n{1440764 + 7 * i:08d}" for i in range(1000)]

def write_imagenet(fx):
    for k, w in enumerate(imagenet_wnids()):   # ImageFolder: every class folder needs an image
        fx.image(f"imagenet/val/{w}/ILSVRC2012_val_{k + 1:08d}.JPEG", k, None, "test", size=(10, 8))


WRITERS = {n: globals()[f"write_{n}"] for n in PAPER_SUITE}


@pytest.fixture
def no_md5(monkeypatch):
    "torchvision checks the official files' MD5 sums: patch those checks (in torchvision only) to 'the file exists'."
    import torchvision.datasets.cifar, torchvision.datasets.stl10, torchvision.datasets.flowers102, torchvision.datasets.imagenet
    exists = lambda fpath, md5=None: os.path.isfile(fpath)
    for m in (torchvision.datasets.cifar, torchvision.datasets.stl10, torchvision.datasets.flowers102, torchvision.datasets.imagenet):
        monkeypatch.setattr(m, "check_integrity", exists)


# ---------------------------------------------------------------------------------------------------------------
def test_every_paper_dataset_has_a_fixture():
    assert sorted(WRITERS) == sorted(PAPER_SUITE) and len(PAPER_SUITE) == 16
    assert set(FOLDERS) == set(PAPER_SUITE)


@pytest.mark.parametrize("name", PAPER_SUITE)
def test_loader_reads_torchvision_layout(name, tmp_path, no_md5):
    "Load every split the fixture wrote (train and test of the seeded partition where there is no official one) and check it image by image."
    fx = Fixture(tmp_path); WRITERS[name](fx)
    if "all" in fx.counts:   # no official test split: a seeded partition of every image
        n = fx.counts["all"]
        test, train = load_dataset(name, "test", root=tmp_path), load_dataset(name, "train", root=tmp_path)
        assert test.split_info["n_total"] == n and len(test) == len(fixed_split(n, "test")) == round(n * 0.2)
        t_test, t_train = check_split(name, test, fx, len(test)), check_split(name, train, fx, n - len(test))
        assert not t_test & t_train and len(t_test | t_train) == n
    else:   # every official split the fixture wrote (the library's split names map onto torchvision's)
        splits = [s for s in get_dataset(name).splits if s in fx.counts]
        assert "test" in splits
        for split in splits: check_split(name, load_dataset(name, split, root=tmp_path), fx, fx.counts[split])
        assert sum(fx.counts[s] for s in splits) == sum(n for s, n in fx.counts.items() if s != "unlabeled"), "a written split went unchecked"


def test_imagenet_with_torchvision_meta_file(tmp_path, no_md5):
    "ImageNet as torchvision's `ImageNet` class leaves it (meta.bin next to val/) loads through that class."
    fx = Fixture(tmp_path); write_imagenet(fx)
    wnids = imagenet_wnids()
    torch.save(({w: (f"class {k}",) for k, w in enumerate(wnids)}, wnids), tmp_path / "imagenet" / "meta.bin")
    ds = load_dataset("imagenet", "test", root=tmp_path)
    assert type(ds.base).__name__ == "ImageNet" and len(ds) == 1000 and len(ds.classnames) == 1000
    for i in (0, 1, 999):
        x, y = ds[i]; assert tuple(x.shape) == (3, 224, 224) and y == fx.expect[tag_of(x)][0] == i


def test_md5_check_refuses_fixture_files_without_the_patch(tmp_path):
    "Without the patch torchvision's MD5 check refuses the fixture files, and the library says where the real ones go."
    write_cifar10(Fixture(tmp_path))
    with pytest.raises(TecoaError, match=re.escape(str(tmp_path / "cifar-10-batches-py"))):
        load_dataset("cifar10", "test", root=tmp_path)


def _one_sentence(msg: str) -> bool: return "\n" not in msg and msg.endswith(".") and not re.search(r"\.\s+[A-Z]", msg)


@pytest.mark.parametrize("name", PAPER_SUITE)
def test_missing_folder_says_where_files_go(name, tmp_path):
    "No files at all: one sentence naming the folder they belong in and how to get them."
    with pytest.raises(TecoaError) as e: load_dataset(name, "test", root=tmp_path)
    msg = str(e.value)
    assert str(tmp_path / FOLDERS[name]) in msg and _one_sentence(msg), msg
    assert "download" in msg or "mirror" in msg or "lay" in msg


# An empty folder (an unpacking that stopped early) must fail the same way, not with torchvision's traceback.
@pytest.mark.parametrize("name", PAPER_SUITE)
def test_empty_folder_says_where_files_go(name, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "h5py", None)   # the same sentence whether or not h5py is installed
    (tmp_path / FOLDERS[name]).mkdir(parents=True)
    with pytest.raises(TecoaError) as e: load_dataset(name, "test", root=tmp_path)
    msg = str(e.value)
    assert _one_sentence(msg), msg
    if name == "pcam": assert "pip install h5py" in msg
    else: assert str(tmp_path / FOLDERS[name]) in msg, msg


def test_pcam_without_h5py_says_how_to_install(tmp_path, monkeypatch):
    "PCAM's files are HDF5: without h5py the loader says which package to install."
    monkeypatch.setitem(sys.modules, "h5py", None)
    base = tmp_path / "pcam"; base.mkdir()
    for f in ("camelyonpatch_level_2_split_test_x.h5", "camelyonpatch_level_2_split_test_y.h5"): (base / f).write_bytes(b"")
    with pytest.raises(TecoaError, match=r"PatchCamelyon needs the h5py package; install it with `pip install h5py`\."):
        load_dataset("pcam", "test", root=tmp_path)
