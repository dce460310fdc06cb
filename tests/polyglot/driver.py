#!/usr/bin/env python3
"""polylock's polyglot hammer: C, Python, Java and C# processes on one lock.

    driver.py --store named|etcd [--endpoints-file F] --work DIR
              [--c WORKER] [--python PYTHON WORKER_PY] [--java JAVA CLASSPATH]
              [--csharp DOTNET WORKER_DLL] [--hammers H] [--increments N]
              [--kills K] [--seed S]

First, for each language, a holder of another language is SIGKILLed while a
waiter of that language waits: the waiter must be told the owner died, its
language's way. Then every language given runs H hammers (N increments each, alternately blocking and
timed acquires), one releaser and one victim at a time; a language not given is
skipped, and the first line says which. store.md says what each worker does. The
driver SIGKILLs a victim K times, each time at a random point (half of the kills
wait until the victim holds the lock first), and starts another victim of that
language in a fresh slot. When every hammer is done it stops the releasers, runs a
finisher (one acquire that repairs what the last dead holder left) and checks:

  - the counter is exact: count == the sum of the slots, and each worker's slot
    equals the increments it logged itself -- for a killed worker, plus at most the
    one increment it had in flight;
  - every hammer finished all its increments (so every blocked waiter recovered
    from every kill), with no failed invariant (two holders at once, a death not
    reported, a torn field, a fencing token that did not grow);
  - a kill that left the victim named as holder was reported as owner-died, and no
    living worker was ever reported dead;
  - every hold handed off was released by a releaser of another language (of
    its own when one language runs alone), and each releaser released some.

The seed is random unless given; it is printed first, with the command that
repeats the run. Exit status 0 when every check passes.
"""
import argparse
import base64
import os
import random
import shlex
import signal
import subprocess
import sys
import time

import etcd_store

FIELD = 32
INDEX = {"count": 0, "pending": 1, "pending_count": 2, "pending_slot": 3,
         "pending_slot_value": 4, "owner_dead": 5, "repaired": 6, "holder": 7,
         "handoff": 8, "stop": 9, "fence": 10}
MAX_SLOTS = 128
RECORDS = 16 + 2 * MAX_SLOTS
# A whole run is bounded: a hang (a waiter that never recovers) fails it, and
# says which workers were still running.
DEADLINE_S = 420


def index(field):
    if field.startswith("slot."):
        return 16 + int(field[5:])
    if field.startswith("dead."):
        return 16 + MAX_SLOTS + int(field[5:])
    return INDEX[field]


class FileStore:
    def __init__(self, path):
        self.path = path
        self.spec = "file:" + path
        with open(path, "wb") as file:
            file.write(("%031d\n" % 0).encode() * RECORDS)

    def get(self, field):
        """The field's value, or None when it does not read as one (the driver
        reads without the lock, so a field being written may look torn)."""
        with open(self.path, "rb") as file:
            file.seek(FIELD * index(field))
            record = file.read(FIELD)
        if len(record) != FIELD or record[-1:] != b"\n" or not record[:-1].isdigit():
            return None
        return int(record[:-1])

    def put(self, field, value):
        fd = os.open(self.path, os.O_WRONLY)
        try:
            os.pwrite(fd, ("%031d\n" % value).encode(), FIELD * index(field))
        finally:
            os.close(fd)

    def close(self):
        pass


class EtcdStore(etcd_store.EtcdStore):
    def __init__(self, endpoint, prefix):
        super().__init__(endpoint, prefix)
        self.spec = "etcd:%s/%s" % (endpoint, prefix)

    def close(self):
        # Everything under the prefix: the counter's keys.
        start = ("%s/" % self.prefix).encode()
        end = start[:-1] + bytes([start[-1] + 1])
        self.call("/v3/kv/deleterange", {"key": base64.b64encode(start).decode(),
                                         "range_end": base64.b64encode(end).decode()})


class Worker:
    def __init__(self, language, role, slot, argv, log):
        self.language, self.role, self.slot, self.log = language, role, slot, log
        self.killed = False
        self.killed_holding = False
        self.out = open(log + ".out", "w+")
        self.err = open(log + ".err", "w+")
        self.process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self.out,
                                        stderr=self.err)
        self.argv = argv

    def name(self):
        return "%s %s (slot %d, pid %d)" % (self.language, self.role, self.slot, self.process.pid)

    def logged(self):
        """Increments the worker logged itself (one byte each)."""
        try:
            return os.path.getsize(self.log)
        except OSError:
            return 0

    def result(self):
        self.out.flush()
        self.out.seek(0)
        lines = [line for line in self.out.read().splitlines() if line.startswith("RESULT ")]
        if not lines:
            return None
        return dict(pair.split("=") for pair in lines[-1].split()[1:])

    def says(self, line, timeout_s):
        """Waits (at most timeout_s) until the worker printed `line`; False if it
        exited or did not say it in time."""
        until = time.monotonic() + timeout_s
        while time.monotonic() < until:
            self.out.flush()
            self.out.seek(0)
            if line in self.out.read().splitlines():
                return True
            if self.process.poll() is not None:
                return False
            time.sleep(0.01)
        return False

    def stderr(self):
        self.err.flush()
        self.err.seek(0)
        return self.err.read()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--store", choices=["named", "etcd"], required=True)
    parser.add_argument("--endpoints-file")
    parser.add_argument("--work", required=True)
    parser.add_argument("--c", metavar="WORKER")
    parser.add_argument("--python", nargs=2, metavar=("PYTHON", "WORKER_PY"))
    parser.add_argument("--java", nargs=2, metavar=("JAVA", "CLASSPATH"))
    parser.add_argument("--csharp", nargs=2, metavar=("DOTNET", "WORKER_DLL"))
    parser.add_argument("--hammers", type=int, default=2)
    parser.add_argument("--increments", type=int, default=200)
    parser.add_argument("--handoff-every", type=int, default=10)
    parser.add_argument("--kills", type=int, default=24)
    parser.add_argument("--ttl", type=int, default=2)
    parser.add_argument("--waits", choices=["both", "forever"], default="both",
                        help="both: half the hammers and the victims' acquires are timed")
    parser.add_argument("--seed", type=int)
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1 << 31)
    rng = random.Random(seed)
    print("polyglot: seed %d (repeat: %s --seed %d)" % (
        seed, " ".join(shlex.quote(a) for a in sys.argv if not a.startswith("--seed")), seed),
        flush=True)

    launchers = {}
    if args.c:
        launchers["C"] = [args.c]
    if args.python:
        launchers["Python"] = [args.python[0], "-I", args.python[1]]
    if args.java:
        launchers["Java"] = [args.java[0], "-Xmx64m", "-XX:TieredStopAtLevel=1", "-Xshare:auto",
                             "-cp", args.java[1], "PolyglotWorker"]
    if args.csharp:
        launchers["C#"] = [args.csharp[0], args.csharp[1]]
    skipped = [language for language in ("C", "Python", "Java", "C#") if language not in launchers]
    print("polyglot: languages: %s; skipped (not built): %s" % (
        ", ".join(launchers) or "none", ", ".join(skipped) or "none"), flush=True)
    if "C" not in launchers:
        print("polyglot: the C worker is required (it finishes the run)", file=sys.stderr)
        return 2

    os.makedirs(args.work, exist_ok=True)
    tag = "polyglot-%d-%d" % (os.getpid(), seed)
    if args.store == "named":
        store = FileStore(os.path.join(args.work, "counter"))
        lock = tag
    else:
        with open(args.endpoints_file) as file:
            endpoints = file.readline().strip()
        store = EtcdStore(endpoints.split(",")[0], "polylock-test/" + tag)
        lock = "etcd://%s/%s?ttl=%d" % (endpoints, tag, args.ttl)

    slots = iter(range(MAX_SLOTS))
    workers = []

    def start(language, role, extra=()):
        slot = next(slots)
        log = os.path.join(args.work, "%s-%s-%d.log" % (language.replace("#", "sharp"), role, slot))
        if os.path.exists(log):
            os.unlink(log)
        argv = launchers[language] + [store.spec, lock, role, str(slot), log] + list(extra)
        worker = Worker(language, role, slot, argv, log)
        workers.append(worker)
        return worker

    started = time.monotonic()
    failures = []

    # Owner death in every language: each in turn waits while a holder of another
    # language is killed; its acquire must take the lock with owner-died (its
    # language's way) and name the dead holder. The waiter is given a moment to
    # block first; one that arrives after the kill must be told just the same.
    languages = list(launchers)
    for turn, language in enumerate(languages):
        holder = start(languages[(turn + 1) % len(languages)], "hold")
        if not holder.says("held", 120):
            failures.append("%s never held the lock:\n%s" % (holder.name(), holder.stderr()))
            holder.process.kill()
            break
        waiter = start(language, "wait-once")
        if not waiter.says("waiting", 120):
            failures.append("%s never waited:\n%s" % (waiter.name(), waiter.stderr()))
        time.sleep(0.3)
        holder.process.send_signal(signal.SIGKILL)
        holder.process.wait()
        holder.killed = holder.killed_holding = True
        try:
            waiter.process.wait(timeout=120)
        except subprocess.TimeoutExpired:
            waiter.process.kill()
            waiter.process.wait()
        told = int((waiter.result() or {}).get("ownerdead", 0))
        if waiter.process.returncode != 0 or told != 1:
            failures.append("%s: exit status %s, %d owner-died answers after %s was killed "
                            "holding the lock (expected 1):\n%s" % (
                                waiter.name(), waiter.process.returncode, told, holder.name(),
                                waiter.stderr()))
        else:
            print("polyglot: %s killed holding; the %s waiter was told the owner died" % (
                holder.language, language), flush=True)
    deaths = len(workers) // 2

    releasers = {language: start(language, "releaser") for language in launchers}
    hammers = []
    for language in launchers:
        # Hand-offs go to the other languages' releasers (to its own language's
        # when it runs alone): always a release from another process.
        others = ([str(r.slot) for other, r in releasers.items() if other != language]
                  or [str(releasers[language].slot)])
        # Each hammer hands off round robin, starting where the previous one
        # of its language stopped: every releaser gets some.
        per_hammer = (args.increments - 1) // args.handoff_every if args.handoff_every else 0
        for h in range(args.hammers):
            turn = h * per_hammer % len(others)
            hammers.append(start(language, "hammer", [
                str(args.increments), "timed" if h % 2 and args.waits == "both" else "forever",
                str(args.handoff_every), ",".join(others[turn:] + others[:turn])]))
    victims = {language: start(language, "victim", [args.waits]) for language in launchers}

    def overdue():
        return time.monotonic() - started > DEADLINE_S

    def reap(worker):
        worker.process.wait()
        if worker.killed:
            return
        if worker.process.returncode != 0:
            failures.append("%s exited with status %s:\n%s" % (
                worker.name(), worker.process.returncode, worker.stderr()))

    # The kills: each one at a random point of a random victim's life. Every
    # other kill first waits (at most 10 s) until the victim holds the lock.
    kills = 0
    killed_holding = 0
    kills_by_language = {}
    while kills < args.kills and not overdue():
        language = rng.choice(sorted(victims))
        victim = victims[language]
        # A victim is killed once it is at work (a JVM takes a while to start).
        while victim.logged() == 0 and victim.process.poll() is None and not overdue():
            time.sleep(0.005)
        if victim.process.poll() is not None:
            reap(victim)
            break
        if kills % 2 == 0:
            wait_until = time.monotonic() + 10
            while store.get("holder") != 1 + victim.slot and time.monotonic() < wait_until:
                time.sleep(0.0005)
            time.sleep(rng.uniform(0, 0.002))
        else:
            time.sleep(rng.uniform(0.05, 0.5 if args.store == "named" else 1.5))
        victim.process.send_signal(signal.SIGKILL)
        victim.process.wait()
        victim.killed = True
        kills += 1
        kills_by_language[language] = kills_by_language.get(language, 0) + 1
        # Still named as the holder after its death: it died holding, so
        # whoever takes the lock next must be told the owner died.
        if store.get("holder") == 1 + victim.slot:
            victim.killed_holding = True
            killed_holding += 1
        victims[language] = start(language, "victim", [args.waits])

    # Hammers finish on their own; every one must, however many kills it saw.
    for worker in hammers:
        while worker.process.poll() is None and not overdue():
            time.sleep(0.05)
    for victim in victims.values():
        if victim.process.poll() is None:
            victim.process.send_signal(signal.SIGKILL)
        victim.process.wait()
        victim.killed = True
        if store.get("holder") == 1 + victim.slot:
            victim.killed_holding = True
            killed_holding += 1
    store.put("stop", 1)
    for worker in list(releasers.values()):
        while worker.process.poll() is None and not overdue():
            time.sleep(0.05)
    hung = [w for w in workers if w.process.poll() is None]
    for worker in hung:
        failures.append("%s still running after %d s (a waiter that never recovered?):\n%s" % (
            worker.name(), DEADLINE_S, worker.stderr()))
        worker.process.kill()
        worker.killed = True
    for worker in workers:
        reap(worker)
    # One more acquire: repairs what the last victims left half-done.
    finisher = Worker("C", "finish", MAX_SLOTS - 1,
                      launchers["C"] + [store.spec, lock, "finish", str(MAX_SLOTS - 1),
                                        os.path.join(args.work, "finish.log")],
                      os.path.join(args.work, "finish.log"))
    try:
        finisher.process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        finisher.process.kill()
        finisher.process.wait()
    if finisher.process.returncode != 0:
        failures.append("the finisher exited with status %s:\n%s" % (
            finisher.process.returncode, finisher.stderr()))

    # ---- the checks -------------------------------------------------------------
    def field(name):
        value = store.get(name)
        if value is None:
            failures.append("field %s is torn" % name)
            return 0
        return value

    count = field("count")
    slot_values = {w.slot: field("slot.%d" % w.slot) for w in workers}
    total = sum(slot_values.values())
    if count != total:
        failures.append("count %d != %d, the sum of the slots (a lost or double increment)"
                        % (count, total))
    if field("pending") or field("holder") or field("handoff"):
        failures.append("left half-done: pending %d, holder %d, handoff %d"
                        % (field("pending"), field("holder"), field("handoff")))
    in_flight = 0
    for worker in workers:
        value, logged = slot_values[worker.slot], worker.logged()
        if worker.killed and value == logged + 1:
            in_flight += 1  # finished by the next holder, or killed before it logged
        elif value != logged:
            failures.append("%s: slot %d but it logged %d increments" % (worker.name(), value, logged))
    for worker in hammers:
        result = worker.result() or {}
        if int(result.get("increments", -1)) != args.increments:
            failures.append("%s did not finish its %d increments: %s" % (
                worker.name(), args.increments, result or "no RESULT line"))
    dead_reported = {w.slot for w in workers if field("dead.%d" % w.slot)}
    for worker in workers:
        if worker.slot in dead_reported and not worker.killed:
            failures.append("%s was reported dead while it lived" % worker.name())
        if worker.killed_holding and worker.slot not in dead_reported:
            failures.append("%s was killed holding the lock, but nobody was told "
                            "the owner died" % worker.name())
    owner_dead = field("owner_dead")
    if owner_dead > kills + len(victims) + deaths:
        failures.append("%d owner-died answers for %d kills" % (
            owner_dead, kills + len(victims) + deaths))
    handoffs = sum(int((w.result() or {}).get("handoffs", 0)) for w in hammers)
    released = {language: int((r.result() or {}).get("released", 0))
                for language, r in releasers.items()}
    if handoffs != sum(released.values()):
        failures.append("%d holds handed off, %d released by releasers" % (
            handoffs, sum(released.values())))
    for language, count_released in released.items():
        if count_released == 0 and args.handoff_every:
            failures.append("the %s releaser released nothing" % language)

    by_language = {}
    for worker in workers:
        entry = by_language.setdefault(worker.language, [0, 0, 0])
        entry[0] += slot_values[worker.slot]
        entry[1] += int((worker.result() or {}).get("ownerdead", 0))
    summary = "; ".join(
        "%s: %d increments, %d owner-died answers to its workers, %d released for others, "
        "%d victims killed" % (
            language, by_language.get(language, [0])[0], by_language.get(language, [0, 0])[1],
            released.get(language, 0), kills_by_language.get(language, 0) + 1)
        for language in launchers)
    print("polyglot: %s store, lock %s" % (args.store, lock))
    print("polyglot: count %d = sum of %d slots; %s" % (count, len(workers), summary))
    print("polyglot: %d kills (%d while named as holder) and %d in the owner-death rounds, "
          "%d owner-died answers, "
          "%d half-done increments repaired, %d in flight at a kill; %d handed off"
          % (kills + len(victims), killed_holding, deaths, owner_dead, field("repaired"),
             in_flight, handoffs))
    store.close()
    if failures:
        for failure in failures:
            print("FAIL: " + failure, file=sys.stderr)
        return 1
    print("polyglot: passed in %.1f s" % (time.monotonic() - started))
    return 0


if __name__ == "__main__":
    sys.exit(main())
