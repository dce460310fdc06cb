"""The installed wheel: it is what the tests import, it carries its C library,
its type stubs and docstrings, and SWIG's raw C ABI module works."""
import ast
import inspect
import os
import sys
import unittest

import polylock
import polylock.capi as capi


def package_dir():
    return os.path.dirname(os.path.abspath(polylock.__file__))


class InstalledWheel(unittest.TestCase):
    def test_imported_from_the_environment_not_the_build_tree(self):
        if os.environ.get("POLYLOCK_EXPECT_INSTALLED") != "1":
            self.skipTest("run from a build tree")
        self.assertTrue(package_dir().startswith(os.path.realpath(sys.prefix)) or
                        package_dir().startswith(sys.prefix), package_dir())
        self.assertNotEqual(sys.prefix, sys.base_prefix, "not in a virtual environment")

    def test_uses_the_c_library_inside_the_package(self):
        self.assertTrue(os.path.isfile(os.path.join(package_dir(), "libpolylock.so.1")))
        if os.path.exists("/proc/self/maps"):
            with open("/proc/self/maps") as maps:
                loaded = {line.split()[-1] for line in maps if "libpolylock.so" in line}
            self.assertEqual({os.path.realpath(path) for path in loaded},
                             {os.path.realpath(os.path.join(package_dir(), "libpolylock.so.1"))})

    def test_version_is_the_c_library_version(self):
        self.assertEqual(polylock.__version__, capi.lock_version())
        expected = "%d.%d.%d" % (capi.LOCK_VERSION_MAJOR, capi.LOCK_VERSION_MINOR,
                                 capi.LOCK_VERSION_PATCH)
        self.assertEqual(polylock.__version__, expected)

    def test_public_names(self):
        self.assertEqual(sorted(polylock.__all__), ["Lock", "TIMEOUT_MAX", "unlink"])
        self.assertEqual(polylock.Lock.__module__, "polylock")
        self.assertEqual(polylock.Lock.__name__, "Lock")

    def test_docstrings_on_every_public_name(self):
        self.assertTrue(polylock.__doc__)
        self.assertTrue(polylock.Lock.__doc__)
        for name, member in vars(polylock.Lock).items():
            if callable(member) and (not name.startswith("_") or name in
                                     ("__enter__", "__exit__", "_at_fork_reinit")):
                self.assertTrue(member.__doc__, name)
        for name in dir(capi):
            if name.startswith("lock_"):
                self.assertTrue(getattr(capi, name).__doc__, name)

    def test_signatures_are_introspectable(self):
        signature = inspect.signature(polylock.Lock.acquire)
        self.assertEqual(list(signature.parameters), ["self", "blocking", "timeout"])
        self.assertEqual(signature.parameters["blocking"].default, True)
        self.assertEqual(signature.parameters["timeout"].default, -1)

    def test_type_stubs_cover_the_module(self):
        self.assertTrue(os.path.isfile(os.path.join(package_dir(), "py.typed")))
        with open(os.path.join(package_dir(), "_polylock.pyi")) as stub:
            tree = ast.parse(stub.read())
        stubbed = set()
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                stubbed.add(node.name)
            elif isinstance(node, ast.AnnAssign):
                stubbed.add(node.target.id)
            elif isinstance(node, ast.Assign):
                stubbed.update(target.id for target in node.targets)
            if isinstance(node, ast.ClassDef) and node.name == "Lock":
                methods = {item.name for item in node.body if isinstance(item, ast.FunctionDef)}
        public = {name for name in dir(polylock._polylock) if not name.startswith("_")}
        self.assertEqual(public - stubbed, set())
        self.assertEqual({n for n in dir(polylock.Lock) if not n.startswith("__")} - methods,
                         set())

    def test_raw_c_abi(self):
        handle = capi.lock_new()
        try:
            self.assertEqual(capi.lock_locked(handle), 0)
            self.assertEqual(capi.lock_acquire(handle, capi.LOCK_WAIT_FOREVER), capi.LOCK_OK)
            self.assertEqual(capi.lock_acquire(handle, 0), capi.LOCK_TIMEOUT)
            self.assertEqual(capi.lock_acquire(handle, -2), capi.LOCK_EINVAL)
            self.assertEqual(capi.lock_release(handle), capi.LOCK_OK)
            self.assertEqual(capi.lock_release(handle), capi.LOCK_ENOTLOCKED)
            self.assertEqual(capi.lock_strerror(capi.LOCK_ENOTLOCKED), "release of an unlocked lock")
            self.assertEqual(capi.lock_locked(None), capi.LOCK_EINVAL)  # NULL is an error, not a crash
        finally:
            capi.lock_free(handle)
        self.assertEqual((capi.LOCK_OK, capi.LOCK_TIMEOUT, capi.LOCK_EINVAL, capi.LOCK_ENOTLOCKED,
                          capi.LOCK_EINTR, capi.LOCK_WAIT_FOREVER), (0, 1, -1, -2, -3, -1))


if __name__ == "__main__":
    unittest.main()
