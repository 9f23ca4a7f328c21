"Shared test settings: a private cache directory and the smoke profile, so tests never touch the user's cache."
import os, tempfile
# Tiny models on 2 cores: one intra-op thread avoids thread contention (measured 2-10x faster under load).
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("TECOA_HOME", tempfile.mkdtemp(prefix="tecoa_test_home_"))
os.environ.setdefault("TECOA_PROFILE", "smoke")
os.environ.setdefault("MPLBACKEND", "Agg")
