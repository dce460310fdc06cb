"""Creates a fresh virtual environment and installs a polylock wheel into it,
offline, the way a user would: `python -m venv` and `pip install --no-index`.

    python install_wheel.py VENV_DIR WHEEL

Run by the Python the wheel is for; the CTest fixture of tests/python.
"""
import os
import subprocess
import sys
import venv


def main():
    target, wheel = sys.argv[1], sys.argv[2]
    venv.EnvBuilder(with_pip=True, clear=True).create(target)
    python = os.path.join(target, "bin", "python")
    env = dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1")
    env.pop("PYTHONPATH", None)
    subprocess.check_call([python, "-m", "pip", "install", "--no-index", "--no-cache-dir",
                           "--quiet", wheel], env=env)
    # Nothing but pip and polylock: the wheel must need nothing else.
    subprocess.check_call([python, "-I", "-c", "import polylock; print(polylock.__file__, polylock.Lock())"],
                          env=env, cwd=target)


if __name__ == "__main__":
    main()
