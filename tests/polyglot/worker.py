"""polylock polyglot hammer -- the Python worker (store.md says what every
worker does; driver.py starts and checks them). The lock through polylock.Lock,
from the installed wheel: Lock.open, acquire (owner_died), release,
fencing_token. The etcd store through urllib."""
import errno
import os
import random
import sys
import time

import polylock

# The driver runs this with `python -I`, which leaves the script's directory
# off sys.path: etcd_store.py (shared with driver.py) sits beside it.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from etcd_store import EtcdStore  # noqa: E402

FIELD = 32
MAX_SLOTS = 128
HEADER = ["count", "pending", "pending_count", "pending_slot", "pending_slot_value",
          "owner_dead", "repaired", "holder", "handoff", "stop", "fence"]


def fail(why):
    sys.stderr.write("FAIL: Python worker %d: %s\n" % (os.getpid(), why))
    sys.exit(1)


def field_index(field):
    if field.startswith("slot."):
        return 16 + int(field[5:])
    if field.startswith("dead."):
        return 16 + MAX_SLOTS + int(field[5:])
    return HEADER.index(field)


class FileStore:
    def __init__(self, path):
        self.fd = os.open(path, os.O_RDWR)

    def get(self, field):
        record = os.pread(self.fd, FIELD, FIELD * field_index(field))
        if len(record) != FIELD or record[-1:] != b"\n" or not record[:-1].isdigit():
            fail("torn field %s: %r" % (field, record))
        return int(record)

    def put(self, field, value):
        os.pwrite(self.fd, b"%031d\n" % value, FIELD * field_index(field))


def main(argv):
    if len(argv) < 5:
        return 2
    spec, name, role, slot, log_path = argv[:5]
    slot = int(slot)
    etcd = spec.startswith("etcd:")
    store = EtcdStore(*spec[5:].split("/", 1)) if etcd else FileStore(spec[5:])
    lock = polylock.Lock.open(name)
    if not etcd:  # a named lock has no fencing tokens
        try:
            lock.fencing_token()
            fail("fencing_token() on a named lock returned")
        except OSError as error:
            if error.errno != errno.ENOTSUP:
                raise
    log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    rng = random.Random()
    stats = {"increments": 0, "ownerdead": 0, "handoffs": 0, "released": 0}

    def nap_sometimes(victim):
        if victim:
            time.sleep(rng.uniform(0, 0.001))

    def enter(timed):
        while not lock.acquire(timeout=rng.uniform(0.001, 0.02) if timed else -1):
            pass
        if lock.owner_died:
            stats["ownerdead"] += 1
            store.put("owner_dead", store.get("owner_dead") + 1)
            holder = store.get("holder")
            if holder:
                store.put("dead.%d" % (holder - 1), 1)
            store.put("holder", 0)
            if store.get("pending"):
                store.put("count", store.get("pending_count"))
                store.put("slot.%d" % store.get("pending_slot"), store.get("pending_slot_value"))
                store.put("pending", 0)
                store.put("repaired", store.get("repaired") + 1)
        elif store.get("holder"):
            fail("acquired without owner_died, but another holder is inside "
                 "(or a dead one was not reported)")
        elif store.get("pending"):
            fail("acquired without owner_died, but a dead holder's increment was half-done")

    def increment(victim):
        store.put("holder", 1 + slot)
        nap_sometimes(victim)
        if etcd:  # the token of this hold grows
            token = lock.fencing_token()
            if token <= store.get("fence"):
                fail("fencing token %d did not grow" % token)
            store.put("fence", token)
        count, mine = store.get("count"), store.get("slot.%d" % slot)
        store.put("pending_count", count + 1)
        store.put("pending_slot", slot)
        store.put("pending_slot_value", mine + 1)
        store.put("pending", 1)
        nap_sometimes(victim)
        store.put("count", count + 1)
        nap_sometimes(victim)
        store.put("slot.%d" % slot, mine + 1)
        store.put("pending", 0)
        store.put("holder", 0)
        nap_sometimes(victim)
        os.write(log, b"+")
        stats["increments"] += 1

    if role == "hammer" and len(argv) == 9:
        n, timed, every = int(argv[5]), argv[6] == "timed", int(argv[7])
        releasers = [int(r) for r in argv[8].split(",") if r != "-"]
        for i in range(1, n + 1):
            enter(timed)
            increment(False)
            if every and releasers and i % every == 0 and i < n:
                store.put("handoff", 1 + releasers[(i // every - 1) % len(releasers)])
                stats["handoffs"] += 1  # the lock stays held, for the releaser
            else:
                lock.release()
    elif role == "victim" and len(argv) == 6:
        while True:
            enter(argv[5] == "both" and rng.randrange(2))
            increment(True)
            lock.release()
    elif role == "releaser":
        while True:
            if store.get("handoff") == 1 + slot:
                store.put("handoff", 0)
                lock.release()  # a hold another process took
                stats["released"] += 1
                continue
            if store.get("stop"):
                break
            time.sleep(0.001)
    elif role == "hold":
        enter(False)
        store.put("holder", 1 + slot)
        print("held", flush=True)
        while True:
            time.sleep(3600)  # until killed
    elif role == "wait-once":
        print("waiting", flush=True)
        enter(False)
        lock.release()
    else:
        return 2
    print("RESULT " + " ".join("%s=%d" % item for item in stats.items()), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
