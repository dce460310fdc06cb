"""`pip install .` in a checkout, offline, the way a Python user builds a
package: a fresh virtual environment, `pip install --no-index ROOT` (PEP 517:
pyproject.toml's in-tree backend drives CMake), then the installed metadata
is pyproject.toml's and the package works. Then the sdist through the same
backend, and a wheel from the unpacked sdist with the same pip, offline: what
`python3 -m build` does.

    python install_checkout.py VENV_DIR SOURCE_ROOT BUILD_DIR
"""
import os
import subprocess
import sys
import shutil
import tarfile
import venv

CHECK = r"""
import importlib.metadata as metadata, os, sys, polylock
md = metadata.metadata("polylock")
assert md["Name"] == "polylock", md["Name"]
assert md["Version"] == polylock.__version__, (md["Version"], polylock.__version__)
assert md["Requires-Python"] == ">=3.8", md["Requires-Python"]
assert md["Summary"].startswith("One lock with the semantics of threading.Lock"), md["Summary"]
assert md["Description-Content-Type"] == "text/markdown"
assert "drop-in for `threading.Lock`" in md.get_payload()
wanted = "Programming Language :: Python :: %d.%d" % sys.version_info[:2]
assert wanted in md.get_all("Classifier"), md.get_all("Classifier")
here = os.path.dirname(polylock.__file__)
assert os.path.isfile(os.path.join(here, "libpolylock.so.1"))
lock = polylock.Lock()
with lock:
    assert lock.locked()
print("installed", polylock.__version__, "from", here)
"""


def main():
    target, root, build_dir = sys.argv[1:4]
    venv.EnvBuilder(with_pip=True, clear=True).create(target)
    python = os.path.join(target, "bin", "python")
    env = dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1")
    env.pop("PYTHONPATH", None)
    subprocess.check_call([python, "-m", "pip", "install", "--no-index", "--no-cache-dir",
                           "--config-settings", "build-dir=" + build_dir, root], env=env)
    subprocess.check_call([python, "-I", "-c", CHECK], env=env, cwd=target)

    # The sdist, through the same backend: PKG-INFO, pyproject.toml and the
    # backend inside, so that a build from it (python3 -m build) can work.
    sys.path.insert(0, os.path.join(root, "bindings", "python", "build_backend"))
    import polylock_build
    # One place for the unpacked sdist, so that its kept CMake build folder
    # (bound to its source folder) serves the next run too.
    out = build_dir + "-sdist"
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    name = polylock_build.build_sdist(out)
    with tarfile.open(os.path.join(out, name)) as sdist:
        members = set(sdist.getnames())
        top = name[:-len(".tar.gz")]
        for needed in ("PKG-INFO", "pyproject.toml", "CMakeLists.txt",
                       "bindings/python/build_backend/polylock_build.py",
                       "capi/include/polylock/lock.h"):
            assert top + "/" + needed in members, needed
        pkg_info = sdist.extractfile(top + "/PKG-INFO").read().decode()
        sdist.extractall(out)
    assert "Requires-Python: >=3.8" in pkg_info, pkg_info
    print("sdist", name, "holds", len(members), "files")
    subprocess.check_call([python, "-m", "pip", "wheel", "--no-index", "--no-deps",
                           "--no-cache-dir", "-w", os.path.join(out, "wheels"),
                           "--config-settings", "build-dir=" + build_dir + "-sdist-build",
                           os.path.join(out, top)], env=env)
    wheels = os.listdir(os.path.join(out, "wheels"))
    assert len(wheels) == 1 and wheels[0].startswith(top + "-cp"), wheels
    print("wheel from the sdist:", wheels[0])


if __name__ == "__main__":
    main()
