/* polylock — a Promela model of the named lock's protocol (core/named_lock.cpp),
 * with a process that dies at any step, checked with Spin
 * (tests/named/CMakeLists.txt runs it: `ctest -L model`).
 * CHANGE THIS FILE WHEN THE PROTOCOL IN core/named_lock.cpp CHANGES.
 *
 * Each step is one atomic memory operation of the C++ code (a load, a store,
 * a CAS of the owner word) or a futex call. PROCS processes of one thread
 * each; process 1 (the victim) may die at any step (`unless`), and its state
 * in shared memory stays as it left it. The owner word's fields (owner,
 * reserved, want) change together, as its one 64-bit word does.
 *
 * What is abstracted, and why it is sound:
 * - Identities: process p is p; thread p is p (one thread each). A process
 *   identity is never reused, as {pid, start time} is not.
 * - Proof of death is the ghost `alive`: a dead process is proved dead at any
 *   later probe, a live one never (what /proc gives, by the rule in
 *   docs/named-locks.md). Probes may happen at any time: the real code probes
 *   only at some of those times, a subset of the behaviours checked here.
 * - The clock is nondeterminism: a waiter may ask for a hand-off whenever it
 *   has found the lock taken (it asks after 1 ms), and a timed waiter may
 *   give up (its deadline) at any time. Each acquire is a waiter forever or a
 *   timed one, chosen at random.
 * - Sleeps: a waiter forever sleeps until wake_seq moves, with no timeout
 *   (a lost wake-up leaves it asleep, and Spin reports the run as an invalid
 *   end state). Each process has a watcher (Watcher below), which lives and
 *   dies with it: while its process has a waiter, and the holder (or the
 *   thread a hand-off is reserved for) is dead, it may record a notice and
 *   move wake_seq; a waiter that sees a notice probes. It also moves
 *   wake_seq while the lock is free or reserved (a releaser may have died
 *   between its CAS and its wake). With -DNO_WATCHER the
 *   model is the fallback for a process whose watcher could not start: no
 *   watcher, and every sleep may also run out (a bounded sleep).
 * - Memory order is not modelled (Spin is sequentially consistent; the code
 *   uses sequentially consistent operations on every shared word).
 *
 * Properties:
 * - mutual exclusion among the living: a process entering the critical
 *   section finds it empty, or left by a dead process -- and then it was
 *   told LOCK_OWNERDEAD (a dead holder's half-done work is always reported);
 * - a holder is taken over only when dead, and LOCK_OWNERDEAD is returned
 *   only then; a hand-off is claimed only by the thread it was made to;
 * - no live holder is left at the end, and every survivor finishes.
 *
 * CTest checks 2 processes x 1 and x 2 rounds with the watchers, and 2 x 2
 * with -DNO_WATCHER. Larger, by hand (hours; run it on a big machine):
 *   spin -DPROCS=3 -DITERATIONS=1 -a named.pml && cc -O2 -DSAFETY -DMEMLIM=16384 \
 *     -o pan pan.c && ./pan -m300000
 */

#ifndef PROCS
#define PROCS 3
#endif
#ifndef ITERATIONS
#define ITERATIONS 2
#endif

#define OK 0
#define OWNERDEAD 2
#define TIMEDOUT 1

/* The owner word. */
byte owner = 0;        /* 0 free; p: held by process p, or reserved for thread p */
bool reserved = false; /* the lock is handed to thread `owner`, unclaimed */
bool want = false;     /* a starving waiter asked for a hand-off */
/* The other shared words. */
byte hand_off = 0;     /* 0, or the thread asking for a hand-off */
/* The futex word wake_seq: only "it moved since this waiter read it"
 * matters, so each process has a bit, cleared when it reads the word and set
 * by every move (a counter kept mod 2 would let two moves cancel out). */
bool moved[PROCS + 1];
inline move_wake_seq() {
  atomic {
    target = 1;
    do
    :: target <= PROCS -> moved[target] = true; target++
    :: target > PROCS -> break
    od;
    target = 0
  }
}
byte sleepers = 0;
/* Per process, in its own memory: a thread waiting (NamedLocal::sleepers) and
 * a notice from its watcher not yet seen (NamedLocal::deaths). */
bool sleeping[PROCS + 1];
bool notice[PROCS + 1];

/* Ghosts. */
bool alive[PROCS + 1];
byte in_cs = 0;        /* the process inside the critical section, 0 none */
byte finished = 0;      /* survivors (processes 2..PROCS) that finished */
bool victim_finished = false;

inline take_over_check(victim) {
  assert(!alive[victim])
}

proctype Process(byte p) {
  byte i = 0;
  byte status;
  byte seen_owner;
  bool seen_reserved, seen_want;
  byte target;
  bool requested;
  bool done;
  bool forever;
  bool probe;

  {
  do
  :: i < ITERATIONS ->
     requested = false;
     done = false;
     if :: forever = true :: forever = false fi;
     /* ---- acquire: the inline CAS 0 -> me ---- */
     atomic { if :: owner == 0 -> owner = p; status = OK; done = true :: else -> skip fi };
     if
     :: done -> goto critical
     :: else -> skip
     fi;
     sleepers++;
     sleeping[p] = true;
wait:
     target = 0;
     moved[p] = false;  /* seq = wake_seq */
     /* a probe when the watcher left a notice; otherwise maybe (every
      * poll_ns, at the deadline) */
     if
     :: notice[p] -> probe = true; notice[p] = false
     :: else -> if :: probe = true :: probe = false fi
     fi;
     /* attempt(): read the owner word, decide, CAS */
     atomic { seen_owner = owner; seen_reserved = reserved; seen_want = want };
     if
     :: seen_owner == 0 ->
        atomic { if :: owner == 0 -> owner = p; status = OK; done = true :: else -> skip fi }
     :: seen_owner != 0 && seen_reserved ->
        target = hand_off;
        if
        :: (requested && seen_owner == p) || target != seen_owner || !alive[seen_owner] ->
           /* mine, or abandoned (request withdrawn, or its thread proved gone) */
           atomic {
             if
             :: owner == seen_owner && reserved == seen_reserved && want == seen_want ->
                owner = p; reserved = false; want = false; status = OK; done = true
             :: else -> skip
             fi
           }
        :: else -> skip
        fi
     :: seen_owner != 0 && !seen_reserved ->
        if
        :: probe && !alive[seen_owner] ->  /* a probe: proof of death */
           atomic {
             if
             :: owner == seen_owner && reserved == seen_reserved && want == seen_want ->
                take_over_check(seen_owner);
                owner = p; want = false; status = OWNERDEAD; done = true
             :: else -> skip
             fi
           }
        :: else -> skip  /* no probe, or no proof */
        fi
     fi;
     if
     :: done ->
        sleepers--;
        sleeping[p] = false;
        if :: requested -> atomic { if :: hand_off == p -> hand_off = 0 :: else -> skip fi } :: else -> skip fi;
        goto critical
     :: else -> skip
     fi;
     /* ask for a hand-off (after ~1 ms), clearing a request whose thread is gone */
     if
     :: !requested ->
        atomic {
          if
          :: hand_off == 0 || !alive[hand_off] -> hand_off = p; requested = true
          :: else -> skip
          fi
        }
     :: true -> skip
     fi;
     if
     :: requested ->
        atomic { if :: owner != 0 && !reserved && !want -> want = true :: else -> skip fi }
     :: else -> skip
     fi;
     /* sleep until wake_seq moves; a timed waiter may give up instead */
     if
     :: moved[p] -> goto wait
#ifdef NO_WATCHER
     :: true -> goto wait                 /* a bounded sleep ran out */
#endif
     :: !forever ->                       /* the deadline: one last attempt was made; leave */
        sleepers--;
        sleeping[p] = false;
        if
        :: requested ->
           atomic { if :: hand_off == p -> hand_off = 0 :: else -> skip fi };
           atomic {
             if
             :: owner == p && reserved -> reserved = false; want = false; status = OK; done = true
             :: else -> skip
             fi
           }
        :: else -> skip
        fi;
        if
        :: done -> goto critical
        :: else -> i++; goto next  /* timed out: nothing taken */
        fi
     fi;
critical:
     target = 0; seen_owner = 0; seen_reserved = false; seen_want = false;
     /* Mutual exclusion among the living; a dead holder's critical section
      * is always reported. */
     assert(in_cs == 0 || (!alive[in_cs] && status == OWNERDEAD));
     assert(owner == p && !reserved);
     in_cs = p;
     in_cs = 0;
     /* ---- release ---- */
     atomic {
       if
       :: owner == p && !reserved && !want -> owner = 0; done = false
       :: else -> done = true   /* the inline CAS failed: the slow path */
       fi
     };
     if
     :: !done -> if :: sleepers != 0 -> move_wake_seq() :: else -> skip fi
     :: else ->
        /* release_contended: snapshot, maybe read the request, CAS */
retry:  atomic { seen_owner = owner; seen_reserved = reserved; seen_want = want };
        assert(seen_owner != 0);  /* nobody else may free a lock we hold */
        target = 0;
        if
        :: seen_want && !seen_reserved -> target = hand_off
        :: else -> skip
        fi;
        atomic {
          if
          :: owner == seen_owner && reserved == seen_reserved && want == seen_want ->
             if
             :: target != 0 -> owner = target; reserved = true; want = false
             :: else -> owner = 0; reserved = false; want = false
             fi
          :: else -> goto retry
          fi
        };
        move_wake_seq()   /* wake one, or all for a hand-off */
     fi;
     i++;
next:
     target = 0; seen_owner = 0; seen_reserved = false; seen_want = false;
     status = OK; requested = false; done = false; forever = false; probe = false
  :: i == ITERATIONS -> break
  od
  } unless { !alive[p] };
  /* (The victim that died gets here too, at once: it then counts as over.) */
  if
  :: p == 1 -> victim_finished = true
  :: else -> finished++
  fi
}

#ifndef NO_WATCHER
/* Process p's watcher thread: while p has a waiter, it notices a dead holder
 * (or a hand-off reserved for a dead thread), leaves a notice and wakes every
 * sleeper; and it wakes them when the lock is free or reserved, in case the
 * releaser died between its CAS and its wake. It dies with its process. */
proctype Watcher(byte p) {
  byte target;
end:
  do
  :: atomic {
       /* (!moved[p]: a move matters to p only after p has read wake_seq) */
       alive[p] && sleeping[p] && !moved[p] && (owner == 0 || reserved || !alive[owner]) ->
       if
       :: owner != 0 && !alive[owner] -> notice[p] = true
       :: else -> skip  /* a wake-up a releaser may have died before making */
       fi
     };
     move_wake_seq()
  od
}
#endif

/* Kills process 1 at any moment, or never. */
proctype Killer() {
  if
  :: alive[1] = false
  :: skip
  fi
}

init {
  byte p;
  atomic {
    p = 1;
    do
    :: p <= PROCS -> alive[p] = true; p++
    :: p > PROCS -> break
    od;
    p = 1;
    do
    :: p <= PROCS -> run Process(p); p++
    :: p > PROCS -> break
    od;
#ifndef NO_WATCHER
    p = 1;
    do
    :: p <= PROCS -> run Watcher(p); p++
    :: p > PROCS -> break
    od;
#endif
    run Killer()
  }
  /* Every survivor finishes, and none is left holding the lock. */
  (finished == PROCS - 1 && (victim_finished || !alive[1]));
  assert(owner == 0 || !alive[owner] || reserved)
}
