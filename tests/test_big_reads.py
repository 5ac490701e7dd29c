#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Big reads stall nobody (doc/design.md, "Big reads"): with tens of
thousands of tasks, task.get_all_records and event.from with the token ""
take the store's lock only to count the records, so small calls made on
another connection meanwhile are answered during the read, not after it.
The answers themselves are whole: every task, each once."""

import http.client
import json
import os
import sys
import threading
import time
import unittest
import xmlrpc.client

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xbtd_fixture as fx  # noqa: E402

# Enough tasks that a big read takes a few hundred ms on the plain build.
NTASKS = 40000
CREATORS = 4


def post(conn, path, body, ctype):
    """The answer's bytes (read whole: the GIL is free while they come)."""
    conn.request("POST", path, body, {"Content-Type": ctype})
    r = conn.getresponse()
    data = r.read()
    if r.status != 200:
        raise AssertionError("%s: HTTP %d" % (path, r.status))
    return data


def jsonrpc_body(method, *params):
    return json.dumps({"jsonrpc": "2.0", "id": 1, "method": method,
                       "params": list(params)}).encode()


def jsonrpc_value(data):
    answer = json.loads(data)
    if "error" in answer:
        raise AssertionError("JSON-RPC error: %r" % (answer["error"],))
    return answer["result"]


def xmlrpc_value(data):
    v = xmlrpc.client.loads(data)[0][0]
    if v.get("Status") != "Success":
        raise AssertionError("XML-RPC failure: %r" % (v,))
    return v["Value"]


def jsonrpc(conn, method, *params):
    return jsonrpc_value(post(conn, "/jsonrpc", jsonrpc_body(method, *params),
                              "application/json"))


def xmlrpc_call(conn, method, *params):
    return xmlrpc_value(post(conn, "/", xmlrpc.client.dumps(
        tuple(params), method).encode(), "text/xml"))


class BigReads(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # Pending tasks are never collected; --task-max bounds finished ones.
        cls.x = fx.Xbtd(["--task-max", "1000000"]).start()
        cls.session = cls.x.session
        errors = []

        def create(i):
            try:
                conn = cls.x.connection(timeout=120)
                for k in range(i, NTASKS, CREATORS):
                    jsonrpc(conn, "task.create", cls.session, "big%d" % k,
                            "a task of the big-read tests")
                conn.close()
            except Exception as e:  # noqa: BLE001 (reported below)
                errors.append(e)
        threads = [threading.Thread(target=create, args=(i,))
                   for i in range(CREATORS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            cls.x.stop()
            raise errors[0]
        conn = cls.x.connection()
        cls.one_task = jsonrpc(conn, "task.get_by_name_label", cls.session,
                               "big0")[0]
        conn.close()

    @classmethod
    def tearDownClass(cls):
        cls.x.stop()

    def big_read(self, path, body, ctype):
        """(seconds to the last byte, the answer) of one call on a
        connection of its own."""
        conn = self.x.connection(timeout=300)
        t0 = time.monotonic()
        data = post(conn, path, body, ctype)
        took = time.monotonic() - t0
        conn.close()
        return took, data

    def probe_during(self, path, body, ctype):
        """Makes one call (a big read) in a thread and small calls on
        another connection until its answer is in: (the read's seconds,
        its answer, latencies of the small calls answered meanwhile). The
        answer is parsed afterwards: the reader holds no GIL meanwhile."""
        done = threading.Event()
        out = {}

        def reader():
            try:
                out["read"] = self.big_read(path, body, ctype)
            except Exception as e:  # noqa: BLE001 (re-raised below)
                out["error"] = e
            done.set()
        conn = self.x.connection()
        # The connection is open and a first call made before the read.
        jsonrpc(conn, "pool.get_all", self.session)
        t = threading.Thread(target=reader)
        lat = []
        t.start()
        while not done.is_set():
            t0 = time.monotonic()
            if len(lat) % 2:
                jsonrpc(conn, "pool.get_all", self.session)
            else:
                xmlrpc_call(conn, "task.get_status", self.session,
                            self.one_task)
            if not done.is_set():
                lat.append(time.monotonic() - t0)
        t.join()
        conn.close()
        if "error" in out:
            raise out["error"]
        return out["read"][0], out["read"][1], lat

    def assert_not_stalled(self, what, took, lat):
        lat.sort()
        print("%s: %.3f s; %d small calls meanwhile, median %.1f ms, "
              "max %.1f ms" % (what, took, len(lat),
                               1000 * lat[len(lat) // 2] if lat else 0,
                               1000 * lat[-1] if lat else 0),
              file=sys.stderr)
        # With the lock held throughout the read, a small call made
        # meanwhile waits for most of it.
        self.assertGreaterEqual(len(lat), 5, "%s took %.3f s and %d small "
                                "calls were answered meanwhile"
                                % (what, took, len(lat)))
        self.assertLess(lat[-1], took / 2,
                        "%s took %.3f s; the slowest small call meanwhile "
                        "%.3f s" % (what, took, lat[-1]))

    def test_get_all_records_stalls_nobody(self):
        read = ("/jsonrpc", jsonrpc_body("task.get_all_records",
                                         self.session), "application/json")
        took, data, lat = self.probe_during(*read)
        value = jsonrpc_value(data)
        self.assertEqual(len(value), NTASKS)
        self.assertEqual(sorted(r["name_label"] for r in value.values()),
                         sorted("big%d" % k for k in range(NTASKS)))
        self.assert_not_stalled("task.get_all_records (JSON-RPC)", took, lat)

    def test_get_all_records_over_xmlrpc_stalls_nobody(self):
        read = ("/", xmlrpc.client.dumps((self.session,),
                                         "task.get_all_records").encode(),
                "text/xml")
        took, data, lat = self.probe_during(*read)
        value = xmlrpc_value(data)
        self.assertEqual(len(value), NTASKS)
        self.assertEqual(value[self.one_task]["name_label"], "big0")
        self.assert_not_stalled("task.get_all_records (XML-RPC)", took, lat)

    def test_event_from_everything_stalls_nobody(self):
        read = ("/jsonrpc", jsonrpc_body("event.from", self.session,
                                         ["task"], "", 0.0),
                "application/json")
        took, data, lat = self.probe_during(*read)
        value = jsonrpc_value(data)
        events = value["events"]
        self.assertEqual(len(events), NTASKS)
        self.assertEqual({e["operation"] for e in events}, {"add"})
        self.assertEqual(len({e["ref"] for e in events}), NTASKS)
        self.assertEqual(value["valid_ref_counts"]["task"], NTASKS)
        self.assert_not_stalled("event.from \"\"", took, lat)

    def test_get_all_and_by_name_label_answer_every_task(self):
        # More refs than an event thread reads: they go to a call thread.
        conn = self.x.connection()
        refs = jsonrpc(conn, "task.get_all", self.session)
        self.assertEqual(len(refs), NTASKS)
        self.assertEqual(len(set(refs)), NTASKS)
        self.assertTrue(self.one_task in refs, self.one_task)
        named = jsonrpc(conn, "task.get_by_name_label", self.session,
                        "big1")
        self.assertEqual(len(named), 1)
        self.assertTrue(named[0] in refs, named)
        self.assertEqual(jsonrpc(conn, "task.get_name_label", self.session,
                                 named[0]), "big1")
        # A small class is still answered on the event thread.
        self.assertEqual(len(jsonrpc(conn, "pool.get_all", self.session)), 1)
        conn.close()


if __name__ == "__main__":
    fx.run()
