"""Writes polylock's wheel: a zip of the staged package plus its .dist-info.

A wheel is only a zip with METADATA, WHEEL and RECORD (PEP 427); writing it
here needs nothing from PyPI and gives the same bytes for the same inputs
(fixed timestamps, sorted entries).

    python make_wheel.py --root STAGE --version 1.2.0 --tag cp311-cp311-linux_x86_64 \
                         --pyproject pyproject.toml --out DIR

The metadata (METADATA, PEP 566) comes from pyproject.toml's [project] table,
the one place it is written; `pip install .` reaches this script through the
in-tree build backend (build_backend/polylock_build.py) and CMake.
"""
import argparse
import base64
import hashlib
import os
import sys
import zipfile

EPOCH = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip can hold


def digest(data):
    encoded = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return "sha256=" + encoded.decode("ascii")


def read_project(pyproject):
    """pyproject.toml's [project] table."""
    try:
        import tomllib  # 3.11+
    except ImportError:  # 3.8-3.10: the TOML reader pip itself carries
        try:
            from pip._vendor import tomli as tomllib
        except ImportError:
            sys.exit("reading %s needs Python 3.11+ (tomllib) or pip" % pyproject)
    with open(pyproject, "rb") as f:
        return tomllib.load(f)["project"]


def metadata_text(project, version, base):
    """METADATA for `project` at `version`; relative paths from `base`."""
    lines = ["Metadata-Version: 2.1", "Name: " + project["name"], "Version: " + version,
             "Summary: " + project["description"]]
    if "keywords" in project:
        lines.append("Keywords: " + ",".join(project["keywords"]))
    if "license" in project:
        license = project["license"]
        lines.append("License: " + (license.get("text") or open(
            os.path.join(base, license["file"]), encoding="utf-8").read().strip()))
    if "requires-python" in project:
        lines.append("Requires-Python: " + project["requires-python"])
    lines += ["Classifier: " + c for c in project.get("classifiers", [])]
    for label, url in project.get("urls", {}).items():
        lines.append("Project-URL: %s, %s" % (label, url))
    body = ""
    if "readme" in project:
        lines.append("Description-Content-Type: text/markdown")
        with open(os.path.join(base, project["readme"]), encoding="utf-8") as readme:
            body = readme.read()
    return "\n".join(lines) + "\n\n" + body


def package_files(root):
    """Every file under root/polylock, as (name in the wheel, path on disk)."""
    for directory, subdirs, files in os.walk(os.path.join(root, "polylock")):
        subdirs[:] = sorted(d for d in subdirs if d != "__pycache__")
        for name in sorted(files):
            if name.endswith(".pyc"):
                continue
            path = os.path.join(directory, name)
            yield os.path.relpath(path, root).replace(os.sep, "/"), path


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", required=True, help="folder that holds the polylock package")
    parser.add_argument("--version", required=True)
    parser.add_argument("--tag", required=True, help="python-abi-platform, e.g. cp311-cp311-linux_x86_64")
    parser.add_argument("--pyproject", required=True,
                        help="pyproject.toml, whose [project] table is the metadata")
    parser.add_argument("--out", required=True, help="folder to write the wheel to")
    args = parser.parse_args()

    dist_info = "polylock-%s.dist-info" % args.version
    metadata = metadata_text(read_project(args.pyproject), args.version,
                             os.path.dirname(os.path.abspath(args.pyproject)))
    wheel = (
        "Wheel-Version: 1.0\n"
        "Generator: polylock make_wheel.py\n"
        "Root-Is-Purelib: false\n"
        "Tag: %s\n"
    ) % args.tag

    entries = []  # (name, bytes, unix mode)
    for name, path in package_files(args.root):
        with open(path, "rb") as f:
            data = f.read()
        executable = name.endswith(".so") or ".so." in name
        entries.append((name, data, 0o755 if executable else 0o644))
    entries.append((dist_info + "/METADATA", metadata.encode(), 0o644))
    entries.append((dist_info + "/WHEEL", wheel.encode(), 0o644))
    record = "".join("%s,%s,%d\n" % (name, digest(data), len(data)) for name, data, _ in entries)
    record += dist_info + "/RECORD,,\n"
    entries.append((dist_info + "/RECORD", record.encode(), 0o644))

    os.makedirs(args.out, exist_ok=True)
    target = os.path.join(args.out, "polylock-%s-%s.whl" % (args.version, args.tag))
    partial = target + ".partial"
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data, mode in entries:
            info = zipfile.ZipInfo(name, date_time=EPOCH)
            info.external_attr = (0o100000 | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    os.replace(partial, target)
    print("wrote", target)


if __name__ == "__main__":
    sys.exit(main())
