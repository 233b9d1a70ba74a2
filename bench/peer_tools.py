"""What the side-by-side scripts share: finding a tool in a peer's build
directory and running a command with its command line echoed to stderr."""
import os
import shlex
import subprocess
import sys


def peer_tool(build_dir, name, caller):
    """The executable `name` under a llama.cpp-family build directory."""
    for rel in (os.path.join("bin", name), name):
        path = os.path.join(build_dir, rel)
        if os.access(path, os.X_OK):
            return path
    sys.exit(f"{caller}: no {name} under {build_dir} (looked in bin/ and the top)")


def run_stdout(cmd, quiet_stderr=False):
    print("+", " ".join(shlex.quote(c) for c in cmd), file=sys.stderr, flush=True)
    return subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True,
                          stderr=subprocess.DEVNULL if quiet_stderr else None).stdout
