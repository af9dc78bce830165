"""What the notebooks need on Colab (or any fresh machine): the device, an output folder that survives a
runtime reset, and public data fetched safely.

- :func:`device_summary`: which accelerator TensorFlow sees (and what that means for the profiles);
- :func:`output_root`: ``/content/drive/MyDrive/nst-aug/NAME`` when Google Drive can be mounted (the drivers'
  caches resume from there after a reset), else ``repro/NAME``; ``$NST_AUG_OUT`` wins;
- :func:`fetch`: download once with a progress bar, verify a published checksum, never keep a mismatch;
- :func:`safe_extract`: unpack a zip or tar without letting a member escape the target folder (absolute paths,
  ``..``, links; tar's ``filter="data"`` where Python has it);
- :func:`caltech101`: the official Caltech-101 archive (CaltechDATA record 20086, md5 published there);
- :func:`upload_isic`, :func:`isic_from_zip`: ISIC data (its archive needs a login, so nothing downloads it) from a
  ``.zip`` uploaded in the browser, unpacked with :func:`safe_extract`.
"""
from __future__ import annotations

import hashlib
import os
import sys
import tarfile
import zipfile
from pathlib import Path

#: Caltech-101 (Fei-Fei, Fergus & Perona 2004), CaltechDATA doi:10.22002/D1.20086: the archive and its md5.
CALTECH101_URL = "https://data.caltech.edu/records/mzrjq-6wc02/files/caltech-101.zip?download=1"
CALTECH101_MD5 = "3138e1922a9193bfa496528edbbc45d0"
#: Kandinsky's *Composition VII* (1913, public domain) on Wikimedia Commons (no checksum is published: the
#: file's sha256 is printed and recorded by the driver with the style image's path).
KANDINSKY_URL = ("https://upload.wikimedia.org/wikipedia/commons/b/b4/"
                 "Vassily_Kandinsky%2C_1913_-_Composition_7.jpg")


def in_colab() -> bool:
    return "google.colab" in sys.modules


def device_summary() -> str:
    """One paragraph: the GPUs TensorFlow sees, or that it runs on the CPU, and which profile fits."""
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    cores = os.cpu_count()
    if gpus:
        names = ", ".join(tf.config.experimental.get_device_details(g).get("device_name", g.name) for g in gpus)
        return f"TensorFlow {tf.__version__}: GPU {names} ({cores} CPU cores): the 'paper' profiles are feasible."
    return (f"TensorFlow {tf.__version__}: no GPU, {cores} CPU cores. The 'smoke' profile runs in minutes (its "
            "numbers mean nothing); 'cpu' takes hours; for 'paper' choose a GPU runtime "
            "(Colab: Runtime > Change runtime type).")


def output_root(name: str, drive: bool = True) -> Path:
    """Where a notebook writes: ``$NST_AUG_OUT``; else on Colab the mounted Drive (``MyDrive/nst-aug/NAME``,
    mounted here when ``drive``), so that a runtime reset keeps the resumable caches; else ``repro/NAME``."""
    if os.environ.get("NST_AUG_OUT"):
        return Path(os.environ["NST_AUG_OUT"])
    if drive and in_colab():
        try:
            from google.colab import drive as gdrive

            gdrive.mount("/content/drive")
            return Path("/content/drive/MyDrive/nst-aug") / name
        except Exception as err:  # noqa: BLE001 - no Drive is not an error: say so and write locally
            print(f"Google Drive not mounted ({err}); writing to the runtime's disk, lost on a reset")
    return Path("repro") / name


def _digest(path: Path, algorithm: str) -> str:
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def fetch(url: str, dest: str | os.PathLike, md5: str | None = None, sha256: str | None = None) -> Path:
    """Download ``url`` to ``dest`` (skipped when ``dest`` exists and matches), verifying ``md5``/``sha256``.

    A mismatch deletes the file and raises ``ValueError``; the download goes to a temporary name first, so an
    interrupted one never looks finished.
    """
    import urllib.request

    from tqdm.auto import tqdm

    dest = Path(dest)
    checks = [(a, v) for a, v in (("md5", md5), ("sha256", sha256)) if v]

    def verified(path: Path) -> bool:
        return all(_digest(path, a) == v.lower() for a, v in checks)

    if dest.is_file() and verified(dest):
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    with urllib.request.urlopen(url, timeout=60) as response, open(part, "wb") as f:
        total = int(response.headers.get("Content-Length") or 0) or None
        with tqdm(total=total, unit="B", unit_scale=True, desc=dest.name) as bar:
            for block in iter(lambda: response.read(1 << 20), b""):
                f.write(block)
                bar.update(len(block))
    if not verified(part):
        got = {a: _digest(part, a) for a, _ in checks}
        part.unlink()
        raise ValueError(f"{url}: checksum mismatch ({got} expected {dict(checks)}); the download was deleted")
    os.replace(part, dest)
    return dest


def _inside(root: Path, name: str) -> bool:
    target = (root / name).resolve()
    return target == root or root in target.parents


def safe_extract(archive: str | os.PathLike, dest: str | os.PathLike) -> Path:
    """Unpack a ``.zip`` or tar archive into ``dest``, refusing (``ValueError``, nothing written) an archive
    with a member that would land outside ``dest``: absolute paths, ``..``, or (tar) links and devices."""
    archive, dest = Path(archive), Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    root = dest.resolve()
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as z:
            bad = [n for n in z.namelist() if n.startswith(("/", "\\")) or not _inside(root, n)]
            if bad:
                raise ValueError(f"{archive}: refusing to extract members outside {dest}: {bad[:3]}")
            z.extractall(dest)
        return dest
    with tarfile.open(archive) as t:
        members = t.getmembers()
        bad = [m.name for m in members if m.name.startswith("/") or not _inside(root, m.name)
               or m.islnk() or m.issym() or m.isdev()]
        if bad:
            raise ValueError(f"{archive}: refusing to extract members outside {dest} or links: {bad[:3]}")
        if hasattr(tarfile, "data_filter"):
            t.extractall(dest, filter="data")
        else:  # Python < 3.11.4: the members were checked above
            t.extractall(dest)
    return dest


def caltech101(dest: str | os.PathLike = "caltech101") -> Path:
    """Caltech-101's ``101_ObjectCategories`` folder under ``dest``: downloaded (137 MB, md5-verified) and
    unpacked safely the first time, found again afterwards."""
    dest = Path(dest)
    found = next(iter(sorted(dest.rglob("101_ObjectCategories"))), None) if dest.exists() else None
    if found is not None and found.is_dir():
        return found
    archive = fetch(CALTECH101_URL, dest / "caltech-101.zip", md5=CALTECH101_MD5)
    safe_extract(archive, dest)
    inner = next(iter(sorted(dest.rglob("101_ObjectCategories.tar.gz"))), None)
    if inner is None:
        raise ValueError(f"{archive}: no 101_ObjectCategories.tar.gz inside")
    safe_extract(inner, inner.parent)
    return inner.parent / "101_ObjectCategories"


def kandinsky(dest: str | os.PathLike = "styles") -> Path:
    """Kandinsky's *Composition VII* from Wikimedia Commons (its sha256 is printed: none is published)."""
    path = fetch(KANDINSKY_URL, Path(dest) / "kandinsky_composition_vii.jpg")
    print(f"{path}: sha256 {_digest(path, 'sha256')}")
    return path


#: The file that marks an ISIC 2019-style data folder (:func:`classify.data.read_isic_csv`).
ISIC_CSV = "ISIC_2019_Training_GroundTruth.csv"


def isic_from_zip(archive: str | os.PathLike, dest: str | os.PathLike) -> Path:
    """Unpack ``archive`` (a zip holding ``ISIC_2019_Training_GroundTruth.csv`` and its ``images/`` or
    ``ISIC_2019_Training_Input/`` folder, at any depth) into ``dest`` with :func:`safe_extract`, and return the
    folder that holds the CSV (what ``DATA``/``--data`` take). ``ValueError`` when there is none (or more than
    one)."""
    dest = Path(dest)
    safe_extract(archive, dest)
    found = sorted(p.parent for p in dest.rglob(ISIC_CSV) if "__MACOSX" not in p.parts)
    if len(found) != 1:
        raise ValueError(f"{archive}: expected one {ISIC_CSV} inside, found {len(found)}"
                         + (f" ({', '.join(map(str, found[:3]))})" if found else ""))
    return found[0]


def upload_isic(dest: str | os.PathLike = "data/isic_upload") -> Path:
    """Colab: ask for a ``.zip`` of ISIC data in the browser (``google.colab.files.upload``; the file passes
    through the runtime's memory, so keep it to a subset of a few hundred MB — the whole 9 GB archive belongs on
    Drive, with ``DATA`` set to its folder), save it under ``dest`` and unpack it safely
    (:func:`isic_from_zip`). Returns the folder holding the ISIC CSV."""
    if not in_colab():
        raise RuntimeError("upload_isic needs Colab's file upload; elsewhere set DATA to a folder holding "
                           f"{ISIC_CSV}, or unpack your zip with classify.colab.isic_from_zip")
    from google.colab import files

    from .files import atomic_open

    uploaded = files.upload()
    zips = [name for name in uploaded if name.lower().endswith(".zip")]
    if len(zips) != 1:
        raise ValueError(f"upload one .zip of ISIC data (got {', '.join(uploaded) or 'nothing'})")
    dest = Path(dest)
    archive = dest / Path(zips[0]).name
    with atomic_open(archive, "wb") as f:
        f.write(uploaded[zips[0]])
    return isic_from_zip(archive, dest)
