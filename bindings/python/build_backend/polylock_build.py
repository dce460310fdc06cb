"""polylock's PEP 517 build backend: the project's CMake build makes the wheel.

pyproject.toml names this module (backend-path), so `pip install .` and
`python3 -m build` need nothing from PyPI. build_wheel configures the CMake
project for the interpreter that runs the hook, and only the Python binding,
builds that interpreter's wheel target -- the same wheel `cmake --build build`
makes -- and hands it over. build_sdist packs the checkout's tracked files.

Config settings (pip -C KEY=VALUE, build -C KEY=VALUE):
    build-dir   the CMake build folder to use and keep (default: a fresh
                temporary one, removed afterwards)
"""
import io
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))  # bindings/python/build_backend
sys.path.insert(0, os.path.dirname(HERE))
import make_wheel  # noqa: E402  (bindings/python/make_wheel.py: the metadata)

__all__ = ["get_requires_for_build_wheel", "get_requires_for_build_sdist", "build_wheel",
           "build_sdist"]


def version():
    """MAJOR.MINOR.PATCH from the C header, the one source of the version."""
    with open(os.path.join(ROOT, "capi", "include", "polylock", "lock.h")) as header:
        found = dict(re.findall(r"^#define LOCK_VERSION_(MAJOR|MINOR|PATCH) (\d+)",
                                header.read(), re.M))
    return "%s.%s.%s" % (found["MAJOR"], found["MINOR"], found["PATCH"])


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def run(command, env):
    print("polylock_build:", " ".join(command), file=sys.stderr, flush=True)
    subprocess.run(command, check=True, env=env, stdout=sys.stderr)


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    settings = config_settings or {}
    cmake = shutil.which("cmake")
    if not cmake:
        raise RuntimeError("polylock needs CMake >= 3.25 to build (Debian: apt install cmake)")
    build_dir = settings.get("build-dir")
    temporary = None
    if not build_dir:
        build_dir = temporary = tempfile.mkdtemp(prefix="polylock-build-")
    # The interpreters CMake starts (to learn about this one, to write the
    # wheel) must see their own site-packages, not the hook's isolated path.
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONNOUSERSITE",
                                                            "PYTHONHOME")}
    try:
        configure = [cmake, "-S", ROOT, "-B", build_dir, "-DCMAKE_BUILD_TYPE=Release",
                     "-DPOLYLOCK_BUILD_PYTHON=ON", "-DPOLYLOCK_BUILD_JAVA=OFF",
                     "-DPOLYLOCK_BUILD_CSHARP=OFF", "-DPOLYLOCK_BUILD_ETCD=OFF",
                     "-DPOLYLOCK_BUILD_TESTS=OFF", "-DPOLYLOCK_BUILD_BENCH=OFF",
                     "-DPOLYLOCK_BUILD_EXAMPLES=OFF", "-DPOLYLOCK_BUILD_WIN64=OFF",
                     "-DPOLYLOCK_PYTHON_INTERPRETERS=" + sys.executable]
        if shutil.which("ninja") and not os.path.exists(os.path.join(build_dir, "CMakeCache.txt")):
            configure += ["-G", "Ninja"]
        run(configure, env)
        wheels = os.path.join(build_dir, "bindings", "python", "wheels")
        shutil.rmtree(wheels, ignore_errors=True)
        tag = "cp%d%d" % sys.version_info[:2]
        run([cmake, "--build", build_dir, "--target", "polylock_python_wheel_" + tag], env)
        built = [name for name in os.listdir(wheels) if name.endswith(".whl")]
        if len(built) != 1:
            raise RuntimeError("expected one wheel in %s, found %s" % (wheels, built))
        shutil.copy(os.path.join(wheels, built[0]), wheel_directory)
        return built[0]
    finally:
        if temporary:
            shutil.rmtree(temporary, ignore_errors=True)


def source_files():
    """The checkout's files, relative to ROOT: what git tracks or would (not
    ignored), or, without git, every file outside build folders."""
    if os.path.exists(os.path.join(ROOT, ".git")) and shutil.which("git"):
        listed = subprocess.run(["git", "-C", ROOT, "ls-files", "-z", "--cached", "--others",
                                 "--exclude-standard"], check=True,
                                stdout=subprocess.PIPE).stdout.decode()
        return sorted(p for p in listed.split("\0") if p and os.path.isfile(os.path.join(ROOT, p)))
    files = []
    for directory, subdirs, names in os.walk(ROOT):
        relative = os.path.relpath(directory, ROOT)
        subdirs[:] = sorted(d for d in subdirs if not (
            d in (".git", "__pycache__") or (relative == "." and d.startswith("build"))))
        files += [os.path.normpath(os.path.join(relative, n)) for n in sorted(names)]
    return files


def build_sdist(sdist_directory, config_settings=None):
    name = "polylock-%s" % version()
    target = os.path.join(sdist_directory, name + ".tar.gz")
    metadata = make_wheel.metadata_text(make_wheel.read_project(
        os.path.join(ROOT, "pyproject.toml")), version(), ROOT).encode()

    def normalized(info):
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        info.mtime = 0
        return info

    with tarfile.open(target, "w:gz", format=tarfile.PAX_FORMAT) as archive:
        for path in source_files():
            archive.add(os.path.join(ROOT, path), arcname=name + "/" + path, filter=normalized)
        info = normalized(tarfile.TarInfo(name + "/PKG-INFO"))
        info.size = len(metadata)
        archive.addfile(info, io.BytesIO(metadata))
    return os.path.basename(target)
