"""Detecting a restore from the ready snapshot, and reseeding what the kernels hold.

The server and its kernels are checkpointed once and restored into many sandboxes, so every restored copy
starts with the same in-memory PRNG state. The runtime gives each sandbox its own boot id; a boot id that
differs from the one a context last saw means "restored": the context then reseeds its generators (and
re-reads the sandbox env vars) before the next user code runs.
"""

import os

# Overridable so the restore path can be exercised without a real checkpoint/restore.
BOOT_ID_PATH = os.environ.get("SANDBOXD_BOOT_ID_PATH", "/proc/sys/kernel/random/boot_id")


def boot_id():
    try:
        with open(BOOT_ID_PATH, encoding="ascii") as f:
            return f.read().strip()
    except OSError:
        return ""


# Python's `random` and numpy's legacy global generator, reseeded from the OS (fresh after a restore).
# numpy is only touched when the user already imported it.
PYTHON_RESEED = (
    "__import__('random').seed()\n"
    "(lambda m: m['numpy'].random.seed() if 'numpy' in m else None)(__import__('sys').modules)"
)

# bash: $RANDOM is seeded per shell; assigning it reseeds.
BASH_RESEED = "RANDOM=$(od -An -N2 -tu2 /dev/urandom)"

R_RESEED = "invisible(set.seed(NULL))"


def reseed_code(language):
    return {"python": PYTHON_RESEED, "bash": BASH_RESEED, "r": R_RESEED}.get(language)
