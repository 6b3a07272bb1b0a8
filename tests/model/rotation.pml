/*
 * A model of stek's rotation protocol, checked with Spin (tests/model/check.sh).
 *
 * Time is discrete: one step of the main loop is one tick of true time; an interval is I
 * ticks. One domain, NH hosts. Every choice the real system leaves open is a
 * nondeterministic choice here, so Spin tries all of them:
 *   - each host's clock offset from stekd's, fixed, in [-S, S] ticks;
 *   - how long each new ring takes to reach each agent, 0..D ticks (long-poll, network,
 *     stekd restart or outage);
 *   - how long each nginx reload takes, 0..R ticks; while it runs, connections reach old
 *     workers (old keys) or new ones (new keys);
 *   - when an agent crashes and for how long it stays down, 0..C ticks (nginx keeps serving
 *     what it loaded; the restarted agent continues from its tmpfs cache);
 *   - a step back of stekd's clock by up to J ticks, once;
 *   - a domain secret rotation (stekctl rotate-domain-secret), once, when ROT is 1;
 *   - when a client gets its ticket, from which host and worker generation; it then presents
 *     the ticket to every worker of every host at every later tick of its lifetime.
 *
 * What is checked (assertions; Spin reports the first trace that breaks one):
 *   P1 every ticket resumes on every host of its domain for its lifetime, H*I - M ticks
 *      after it was issued (tickets from before a domain secret rotation are excluded, by
 *      intent, and so are tickets issued while the rotation still propagates, D + R ticks);
 *   P2 no key outlives its erasure deadline anywhere: the key of epoch e is gone from every
 *      agent and every nginx worker S + R + C ticks after epoch e+H ends (true time);
 *   P3 stekd never makes two secrets for one epoch;
 *   P4 a running agent always holds a key for its current epoch (else its server stops
 *      issuing tickets).
 *
 * Parameters are macros: spin -DS=1 -DD=2 ... -a rotation.pml. Defaults are stek's design
 * scaled down: H and L as small as still meaningful.
 */

#ifndef I
#define I 4 /* ticks per interval */
#endif
#ifndef H
#define H 2 /* history: a key decrypts for H epochs after its own */
#endif
#ifndef L
#define L 2 /* look-ahead: stekd makes epochs up to c+L */
#endif
#ifndef S
#define S 0 /* largest clock offset of a host from stekd, ticks */
#endif
#ifndef D
#define D 1 /* largest delivery delay of a new ring, ticks */
#endif
#ifndef R
#define R 1 /* longest nginx reload, ticks */
#endif
#ifndef M
#define M 0 /* a ticket is presented up to H*I - M ticks after it was issued */
#endif
#ifndef C
#define C 0 /* longest agent downtime, ticks */
#endif
#ifndef J
#define J 0 /* largest backward step of stekd's clock, ticks */
#endif
#ifndef ROT
#define ROT 0 /* 1: a domain secret rotation happens once, at any time */
#endif

#define NH 2
#define T0 (I * (H + 2))            /* first tick: keeps every epoch and time positive */
#define TEND (T0 + I * (H + 3))     /* last tick: long enough for a ticket's whole life */
#define NE ((TEND + S) / I + L + 2) /* epochs the model can name */
#define NONE 255

/* -------- stekd -------- */
int t;                 /* true time */
int sclock;            /* stekd's clock */
bool stepped;          /* the one clock step back has happened */
byte made_hi;          /* newest epoch secret made */
byte erased_below;     /* epochs below this are erased and must never be made again */
byte made_count[NE];   /* how many secrets stekd made per epoch (P3: at most one) */
byte version;          /* domain secret version */
bool rotated;
int rotated_at;

/* -------- hosts: agent memory, nginx config, ring in flight -------- */
int offset[NH];
byte held_lo[NH]; byte held_hi[NH]; byte held_v[NH];     /* agent's ring */
byte fl_lo[NH]; byte fl_hi[NH]; byte fl_v[NH];           /* ring in flight to the agent */
int fl_wait[NH];                                         /* ticks until it arrives; -1 none */
byte cfg_enc[NH]; byte cfg_lo[NH]; byte cfg_hi[NH]; byte cfg_v[NH];  /* new workers */
byte old_enc[NH]; byte old_lo[NH]; byte old_hi[NH]; byte old_v[NH];  /* old workers */
int reload_left[NH];   /* > 0: a reload is in progress, old workers still serve */
int down_left[NH];     /* > 0: the agent is down */
bool crashed;

/* -------- the client's ticket -------- */
bool have_ticket;
byte tk_e; byte tk_v; int tk_t;

/* stekd's current epoch */
#define SEPOCH (sclock / I)
#define RING_LO (SEPOCH >= H + erased_below -> SEPOCH - H : erased_below)

inline stekd_step() {
  /* erase what has expired, and remember it forever (the watermark is in the state file) */
  if
  :: SEPOCH - H > erased_below -> erased_below = SEPOCH - H
  :: else -> skip
  fi;
  /* make what is missing up to c+L, never below the watermark */
  do
  :: made_hi < SEPOCH + L ->
     made_hi++;
     if
     :: made_hi >= erased_below -> made_count[made_hi]++
     :: else -> skip
     fi;
     assert(made_count[made_hi] <= 1)  /* P3 */
  :: else -> break
  od
}

/* a new ring is served; each agent gets it 0..D ticks later (a newer ring replaces one
   still in flight, and arrives no later than the one it replaces would have) */
inline publish(h) {
  fl_lo[h] = RING_LO; fl_hi[h] = made_hi; fl_v[h] = version;
  if
  :: fl_wait[h] < 0 || fl_wait[h] > D -> fl_wait[h] = D
  :: else -> skip
  fi;
  do
  :: fl_wait[h] > 0 -> fl_wait[h]--
  :: break
  od
}

byte desired_enc; byte desired_lo; byte desired_hi;
int hepoch;

inline agent_step(h) {
  hepoch = (t + offset[h]) / I;
  /* nginx finishes a reload whether or not the agent runs */
  if
  :: reload_left[h] > 0 -> reload_left[h]--
  :: else -> skip
  fi;
  if
  :: down_left[h] > 0 -> down_left[h]--
  :: else ->
     /* a ring arrives */
     if
     :: fl_wait[h] == 0 ->
        held_lo[h] = fl_lo[h]; held_hi[h] = fl_hi[h]; held_v[h] = fl_v[h]; fl_wait[h] = -1
     :: else -> skip
     fi;
     /* erase expired keys from memory */
     if
     :: hepoch >= H && held_lo[h] < hepoch - H -> held_lo[h] = hepoch - H
     :: else -> skip
     fi;
     /* what nginx should serve: encrypt c, accept c-H .. c+1 of what is held */
     if
     :: held_lo[h] <= hepoch && hepoch <= held_hi[h] -> desired_enc = hepoch
     :: else -> desired_enc = NONE
     fi;
     assert(desired_enc != NONE); /* P4 */
     desired_lo = held_lo[h];
     if
     :: held_hi[h] > hepoch + 1 -> desired_hi = hepoch + 1
     :: else -> desired_hi = held_hi[h]
     fi;
     if
     :: desired_enc != cfg_enc[h] || desired_lo != cfg_lo[h] || desired_hi != cfg_hi[h] ||
        held_v[h] != cfg_v[h] ->
        /* write files, reload: the current workers become old workers */
        if
        :: reload_left[h] == 0 ->
           old_enc[h] = cfg_enc[h]; old_lo[h] = cfg_lo[h]; old_hi[h] = cfg_hi[h]; old_v[h] = cfg_v[h]
        :: else -> skip /* a reload in progress: its old workers are still the oldest */
        fi;
        cfg_enc[h] = desired_enc; cfg_lo[h] = desired_lo; cfg_hi[h] = desired_hi; cfg_v[h] = held_v[h];
        reload_left[h] = R;
        do
        :: reload_left[h] > 0 -> reload_left[h]--
        :: break
        od
     :: else -> skip
     fi
  fi;
  /* the ring in flight comes one tick closer, whether or not the agent runs */
  if
  :: fl_wait[h] > 0 -> fl_wait[h]--
  :: else -> skip
  fi
}

/* P1: the ticket opens on every worker (old and new) of every host */
inline check_ticket(h) {
  if
  :: have_ticket && t <= tk_t + H * I - M &&
     !(rotated && (tk_t < rotated_at + D + R + 1)) ->
     assert(cfg_v[h] == tk_v && cfg_lo[h] <= tk_e && tk_e <= cfg_hi[h]);
     if
     :: reload_left[h] > 0 ->
        assert(old_v[h] == tk_v && old_lo[h] <= tk_e && tk_e <= old_hi[h])
     :: else -> skip
     fi
  :: else -> skip
  fi
}

/* P2: the key of epoch e is gone everywhere S+R+C ticks after epoch e+H ends (true time) */
#define PAST_DEADLINE ((t - S - R - C - 1) / I)
inline check_erasure(h) {
  assert(held_lo[h] + H + 1 > PAST_DEADLINE);
  assert(cfg_lo[h] + H + 1 > PAST_DEADLINE);
  if
  :: reload_left[h] > 0 -> assert(old_lo[h] + H + 1 > PAST_DEADLINE)
  :: else -> skip
  fi
}

init {
  byte h;
  int o;
  byte before_lo;
  byte before_hi;
  t = T0; sclock = T0;
  made_hi = SEPOCH + L; erased_below = SEPOCH - H;
  h = erased_below;
  do
  :: h <= made_hi -> made_count[h] = 1; h++
  :: else -> break
  od;
  /* every host starts in step, with the current ring loaded and no reload running */
  h = 0;
  do
  :: h < NH ->
     o = -S;
     do
     :: o < S -> o++
     :: break
     od;
     offset[h] = o;
     held_lo[h] = RING_LO; held_hi[h] = made_hi; held_v[h] = 0;
     fl_wait[h] = -1;
     hepoch = (t + offset[h]) / I;
     cfg_enc[h] = hepoch; cfg_lo[h] = held_lo[h]; cfg_hi[h] = hepoch + 1; cfg_v[h] = 0;
     h++
  :: else -> break
  od;

  do
  :: t < TEND ->
     atomic {
       t++;
       /* stekd's clock: in step, or one step back by 1..J ticks */
       if
       :: true -> sclock++
       :: J > 0 && !stepped -> stepped = true; sclock = sclock + 1 - J
       fi;
       if
       :: ROT && !rotated -> rotated = true; rotated_at = t; version++
       :: true -> skip
       fi;
       before_lo = RING_LO; before_hi = made_hi;
       stekd_step();
       h = 0;
       do
       :: h < NH ->
          if
          :: made_hi != before_hi || RING_LO != before_lo || (rotated && rotated_at == t) ->
             publish(h)
          :: else -> skip
          fi;
          if
          :: C > 0 && !crashed -> crashed = true; down_left[h] = C
          :: true -> skip
          fi;
          agent_step(h);
          h++
       :: else -> break
       od;
       /* a client may get its one ticket now, from any host, old or new workers */
       if
       :: !have_ticket ->
          if
          :: h = 0
          :: h = 1
          fi;
          if
          :: cfg_enc[h] != NONE -> have_ticket = true; tk_e = cfg_enc[h]; tk_v = cfg_v[h]; tk_t = t
          :: reload_left[h] > 0 && old_enc[h] != NONE ->
             have_ticket = true; tk_e = old_enc[h]; tk_v = old_v[h]; tk_t = t
          :: true -> skip
          fi
       :: else -> skip
       fi;
       h = 0;
       do
       :: h < NH -> check_ticket(h); check_erasure(h); h++
       :: else -> break
       od
     }
  :: else -> break
  od
}
