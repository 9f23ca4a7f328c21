"Shared test settings: a private cache directory and the smoke profile, so tests never touch the user's cache."
import os, tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("TECOA_HOME", tempfile.mkdtemp(prefix="tecoa_test_home_"))
os.environ.setdefault("TECOA_PROFILE", "smoke")
os.environ.setdefault("MPLBACKEND", "Agg")
