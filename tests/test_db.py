#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""xbtd --db (doc/design.md, "Persistence"), end to end.

- Restart: the world seeds an empty database only; names, other_config
  and a started VM survive a clean stop and a kill -9, under the same refs
  and uuids; a different world file on restart changes nothing.
- Refusal: random bytes, a foreign SQLite database, one of ours with
  another application_id or schema version, or with a damaged page stop
  start-up with a clear message and are left byte for byte as they were;
  --check says 0 for a sound database and 1 for those.
- KillNine: a 1,000-operation run from several clients, xbtd SIGKILLed at
  random points, repeated: after each restart every acknowledged change
  is there, and of an operation in flight at the kill either all or
  nothing.
"""

import hashlib
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xbtd_fixture as fx  # noqa: E402

SEED = int(os.environ.get("XBT_DB_SEED", str(random.randrange(1 << 30))))
ROUNDS = int(os.environ.get("XBT_DB_ROUNDS", "8"))
OPS = 1000


class Dir:
    """A directory for one xbtd's database, state and opsd across runs."""

    def __init__(self):
        self.path = tempfile.mkdtemp(prefix="xbt-db-")
        self.db = os.path.join(self.path, "xbtd.db")

    def args(self, *more):
        return ["--db", self.db, "--hostname", "h1",
                "--state-dir", os.path.join(self.path, "state"),
                "--opsd-dir", os.path.join(self.path, "opsd")] + list(more)

    def xbtd(self, *more):
        return fx.Xbtd(self.args(*more)).start()

    def remove(self):
        # An opsd adopted after a kill -9 outlives a clean stop of xbtd
        # (doc/design.md, "Stopping"): it is ended here.
        fx.stop_opsd_of(os.path.join(self.path, "opsd"))
        shutil.rmtree(self.path, ignore_errors=True)


def digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def check(path):
    p = subprocess.run([fx.XBTD, "--db", path, "--check"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       env=fx.clean_env(), timeout=60)
    return p.returncode, p.stdout.decode() + p.stderr.decode()


def start_fails(d):
    p = subprocess.run([fx.XBTD, "--listen", "127.0.0.1:0"] + d.args(),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       env=fx.clean_env(), timeout=60)
    return p.returncode, p.stderr.decode()


def snapshot(api):
    """Every persisted object's record, by ref."""
    out = {}
    for cls in ("pool", "host", "SR", "PBD", "VDI", "VBD", "VM"):
        for ref, rec in api("%s.get_all_records" % cls).items():
            out[ref] = rec
    return out


class Restart(unittest.TestCase):
    def setUp(self):
        self.d = Dir()

    def tearDown(self):
        self.d.remove()

    def test_changes_survive(self):
        x = self.d.xbtd()
        api = x.api
        before = snapshot(api)
        vms = api("VM.get_all")
        vm = vms[0]
        api("VM.set_name_label", vm, "renamed \u00e9\U0001f600")
        api("VM.add_to_other_config", vm, "k", "v")
        sr = api("SR.get_all")[0]
        api("SR.set_name_description", sr, "described")
        x.stop()
        x = self.d.xbtd()
        try:
            self.assertEqual(x.api("VM.get_name_label", vm),
                             "renamed \u00e9\U0001f600")
            self.assertEqual(x.api("VM.get_other_config", vm), {"k": "v"})
            self.assertEqual(x.api("SR.get_name_description", sr),
                             "described")
            after = snapshot(x.api)
            self.assertEqual(sorted(after), sorted(before))
            for ref, rec in before.items():
                self.assertEqual(after[ref]["uuid"], rec["uuid"])
            # The same objects in the same order.
            self.assertEqual(x.api("VM.get_all"), vms)
            # Events agree: event.from "" gives every VM as it is.
            r = x.api("event.from", ["vm"], "", 1.0)
            got = {e["ref"]: e["snapshot"]["name_label"]
                   for e in r["events"] if e["class"] == "vm"}
            self.assertEqual(got, {v: after[v]["name_label"] for v in vms})
            x.api("VM.set_name_label", vm, "again")
            x.kill()
        finally:
            x.stop()
        rc, out = check(self.d.db)
        self.assertEqual(rc, 0, out)
        x = self.d.xbtd()
        try:
            self.assertEqual(x.api("VM.get_name_label", vm), "again")
        finally:
            x.stop()

    def test_world_seeds_only_an_empty_database(self):
        x = self.d.xbtd()
        n = len(x.api("VM.get_all"))
        x.stop()
        world = os.path.join(self.d.path, "world.xml")
        with open(world, "w") as f:
            f.write('<world><vm name="only"/></world>\n')
        x = self.d.xbtd("--world", world)
        try:
            names = [x.api("VM.get_name_label", v)
                     for v in x.api("VM.get_all")]
            self.assertEqual(len(names), n)
            self.assertNotIn("only", names)
        finally:
            x.stop()

    def test_many_objects_in_order(self):
        # Enough rows to be decoded on several threads (db_read_rows).
        world = os.path.join(self.d.path, "world.xml")
        with open(world, "w") as f:
            f.write("<world>%s</world>\n" % "".join(
                '<vm name="v%d" memory="%d"/>' % (i, i) for i in range(300)))
        x = self.d.xbtd("--world", world)
        vms = x.api("VM.get_all")
        x.api("VM.set_name_label", vms[150], "changed")
        before = x.api("VM.get_all_records")
        x.kill()
        x.stop()
        rc, out = check(self.d.db)
        self.assertEqual(rc, 0, out)
        # 300 VMs and their VM_metrics, the pool, the host, its metrics and
        # its 4 host_cpus
        self.assertIn("sound, 607 objects", out)
        x = self.d.xbtd("--world", world)
        try:
            self.assertEqual(x.api("VM.get_all"), vms)
            self.assertEqual(x.api("VM.get_all_records"), before)
        finally:
            x.stop()

    def test_started_vm_survives_kill(self):
        x = self.d.xbtd()
        try:
            vm = [v for v in x.api("VM.get_all")
                  if not x.api("VM.get_is_a_template", v)][0]
            x.api("VM.start", vm, False, False)
            self.assertEqual(x.api("VM.get_power_state", vm), "Running")
            x.kill()
        finally:
            x.stop()
        x = self.d.xbtd()
        try:
            self.assertEqual(x.api("VM.get_power_state", vm), "Running")
            self.assertEqual(x.api("VM.get_current_operations", vm), {})
            x.api("VM.hard_shutdown", vm)
        finally:
            x.stop()
        x = self.d.xbtd()
        try:
            self.assertEqual(x.api("VM.get_power_state", vm), "Halted")
        finally:
            x.stop()


class Pooled(unittest.TestCase):
    """A host with --db joins a pool (a slave empties its database: its
    objects are the master's) and, ejected, starts from its world again,
    which then persists."""

    def test_join_and_eject(self):
        import test_pools as tp
        pool = tp.Pool(["127.0.0.1", "127.0.0.2"])
        db = os.path.join(pool.dir, "h2.db")
        mdb = os.path.join(pool.dir, "h1.db")
        try:
            master, h2 = pool.start([("h1", "127.0.0.1", ("--db", mdb)),
                                     ("h2", "127.0.0.2", ("--db", db))])
            vm = h2.api("VM.get_by_name_label", "demo-ok")[0]
            h2.api("VM.set_name_label", vm, "mine")
            tp.join(h2, master)
            self.assertIn("a slave keeps no database: --db %s emptied" % db,
                          h2.stderr())
            c = sqlite3.connect(db)
            self.assertEqual(c.execute("SELECT count(*) FROM objects")
                             .fetchone()[0], 0)
            c.close()
            # The master's database holds its member, and members.json
            # names it too: a restarted master takes the one record.
            master = pool.restart(master)
            self.assertEqual(len(master.api("host.get_all")), 2)
            tp.wait_live(master, "h2")
            tp.eject(master, h2)
            self.assertEqual(h2.api("VM.get_name_label", vm), "demo-ok")
            h2.api("VM.set_name_label", vm, "again")
            h2 = pool.restart(h2)
            self.assertEqual(h2.api("VM.get_name_label", vm), "again")
        finally:
            pool.stop()


class Refusal(unittest.TestCase):
    def setUp(self):
        self.d = Dir()

    def tearDown(self):
        self.d.remove()

    def refused(self, why):
        h = digest(self.d.db)
        rc, err = start_fails(self.d)
        self.assertEqual(rc, 1, err)
        self.assertIn("xbtd: INTERNAL_ERROR [database %s: " % self.d.db, err)
        self.assertIn(why, err)
        self.assertEqual(digest(self.d.db), h)
        rc, out = check(self.d.db)
        self.assertEqual(rc, 1, out)
        self.assertIn(why, out)
        self.assertEqual(digest(self.d.db), h)

    def make(self):
        x = self.d.xbtd()
        x.stop()
        rc, out = check(self.d.db)
        self.assertEqual(rc, 0, out)
        self.assertIn("sound", out)

    def test_random_bytes(self):
        with open(self.d.db, "wb") as f:
            f.write(random.Random(SEED).randbytes(8192))
        self.refused("not an SQLite database")

    def test_foreign_sqlite(self):
        c = sqlite3.connect(self.d.db)
        c.execute("CREATE TABLE t (x)")
        c.execute("INSERT INTO t VALUES (1)")
        c.commit()
        c.close()
        self.refused("not an xbt database (application_id 0)")

    def test_foreign_wal_left_alone(self):
        # A foreign database with a WAL not yet checkpointed: refused
        # without a checkpoint (the main file and its WAL stay).
        src = os.path.join(self.d.path, "src.db")
        c = sqlite3.connect(src)
        c.execute("PRAGMA journal_mode = WAL")
        c.execute("PRAGMA wal_autocheckpoint = 0")
        c.execute("CREATE TABLE t (x)")
        c.execute("INSERT INTO t VALUES (1)")
        c.commit()
        shutil.copy(src, self.d.db)
        shutil.copy(src + "-wal", self.d.db + "-wal")
        c.close()
        wal = digest(self.d.db + "-wal")
        self.refused("not an xbt database")
        self.assertEqual(digest(self.d.db + "-wal"), wal)

    def test_other_version(self):
        self.make()
        c = sqlite3.connect(self.d.db)
        c.execute("PRAGMA user_version = 7")
        c.commit()
        c.close()
        self.refused("schema version 7, this xbtd knows 1")

    def test_damaged_page(self):
        self.make()
        c = sqlite3.connect(self.d.db)
        c.execute("PRAGMA journal_mode = DELETE")
        page = c.execute("PRAGMA page_size").fetchone()[0]
        root = c.execute("SELECT rootpage FROM sqlite_master "
                         "WHERE name = 'objects'").fetchone()[0]
        c.close()
        with open(self.d.db, "r+b") as f:
            f.seek((root - 1) * page)
            f.write(b"\xff" * 64)
        self.refused("damaged")

    def test_bad_record(self):
        self.make()
        c = sqlite3.connect(self.d.db)
        c.execute("UPDATE objects SET rec = '{\"uuid\": 5' "
                  "WHERE class = 'VM'")
        c.commit()
        c.close()
        self.refused("of class VM")

    def test_check_needs_db(self):
        p = subprocess.run([fx.XBTD, "--check"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, env=fx.clean_env())
        self.assertEqual(p.returncode, 2)
        self.assertIn(b"--check needs --db FILE", p.stderr)


class KillNine(unittest.TestCase):
    """Clients each own one VM: operation i sets its name to "c<k>-<i>"
    and adds other_config key "i<i>". Acknowledged: the call answered."""

    CLIENTS = 4

    def setUp(self):
        self.d = Dir()

    def tearDown(self):
        self.d.remove()

    def verify(self, api, vm, acked, inflight, k):
        name = api("VM.get_name_label", vm)
        oc = api("VM.get_other_config", vm)
        done = [int(key[1:]) for key in oc if key.startswith("i")]
        top = max(done, default=-1)
        # Every acknowledged operation is there ...
        self.assertGreaterEqual(top, acked, (k, acked, inflight, name))
        self.assertEqual(sorted(done), list(range(top + 1)))
        # ... and nothing past the one in flight.
        self.assertLessEqual(top, max(acked, inflight))
        if top >= 0:
            self.assertIn(name, ("c%d-%d" % (k, top), "c%d-%d" % (k, top + 1))
                          if top < inflight else ("c%d-%d" % (k, top),))

    def test_kill_at_random_points(self):
        rng = random.Random(SEED)
        x = self.d.xbtd()
        vms = [v for v in x.api("VM.get_all")][:self.CLIENTS]
        for v in vms:
            x.api("VM.set_other_config", v, {})
        state = {k: [-1, -1] for k in range(len(vms))}  # acked, in flight
        nxt = {k: 0 for k in range(len(vms))}
        total = 0
        try:
            rounds = 0
            while rounds < ROUNDS or total < OPS:
                rounds += 1
                stop = threading.Event()

                def client(k):
                    c = fx.XmlRpc(x.url, x.session)
                    while not stop.is_set():
                        i = nxt[k]
                        state[k][1] = i
                        try:
                            # One operation: two calls, in this order.
                            c("VM.set_name_label", vms[k], "c%d-%d" % (k, i))
                            c("VM.add_to_other_config", vms[k], "i%d" % i,
                              "x")
                        except Exception:
                            return
                        state[k][0] = i
                        nxt[k] = i + 1

                threads = [threading.Thread(target=client, args=(k,))
                           for k in range(len(vms))]
                for t in threads:
                    t.start()
                time.sleep(rng.uniform(0.02, 0.5))
                x.kill()
                stop.set()
                for t in threads:
                    t.join(30)
                x.stop()
                x = self.d.xbtd()
                for k, v in enumerate(vms):
                    self.verify(x.api, v, state[k][0], state[k][1], k)
                    # Go on after what is there.
                    oc = x.api("VM.get_other_config", v)
                    nxt[k] = 1 + max([int(key[1:]) for key in oc
                                      if key.startswith("i")], default=-1)
                    state[k] = [nxt[k] - 1, nxt[k] - 1]
                total = sum(nxt.values())
        finally:
            x.stop()
        print("  kill -9 rounds: %d, operations done: %d, seed %d"
              % (rounds, total, SEED))
        rc, out = check(self.d.db)
        self.assertEqual(rc, 0, out)


if __name__ == "__main__":
    fx.run()
