"""Type stubs for polylock.capi: the C ABI as SWIG generates it."""
from ._polylock import *  # noqa: F401,F403
