"""Prints what the build needs to know about the Python running this script.

One `key=value` per line; bindings/python/CMakeLists.txt reads them to build
a polylock wheel for this interpreter.
"""
import sys
import sysconfig

if sys.implementation.name != "cpython":
    sys.exit("polylock builds wheels for CPython only")
version = "%d%d" % sys.version_info[:2]
platform = sysconfig.get_platform().replace("-", "_").replace(".", "_")
print("version=%d.%d" % sys.version_info[:2])
print("tag=cp%s-cp%s%s-%s" % (version, version, sys.abiflags, platform))
print("short_tag=cp%s" % version)
print("include=%s" % sysconfig.get_paths()["include"])
print("ext_suffix=%s" % sysconfig.get_config_var("EXT_SUFFIX"))
