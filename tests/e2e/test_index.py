#!/usr/bin/env python3
"""End-to-end tests of retrieval: `aepipe index`, `aepipe query`, `aepipe evaluate --neighbours`.

Fashion-MNIST's 10k test images split in two: the first 6000 are the database, the last 4000
the queries (two blocks of query.hpp's 2048 rows, and /images chunks that straddle them).
PCA-16 codes of both. Neighbours of a flat index must equal exact neighbours computed with
numpy; IVF recall must grow with nprobe and reach 0.95; index and neighbours files must not
depend on the rank count; image queries encoded on the fly must give what their codes give;
evaluate's figures are recomputed with numpy; damaged inputs fail with one clear line."""

import os
import shutil
import tempfile

import h5py
import numpy as np

from aepipe_e2e import (T10K_IMAGES, T10K_LABELS, E2ETestCase, json_lines, main, read_idx,
                        run_aepipe, write_idx)

DATABASE_ROWS = 6000
K = 10


def datasets(path):
    """{dataset name: array} and the root attributes of an HDF5 file."""
    with h5py.File(path, "r") as f:
        found = {}
        f.visititems(lambda name, obj: found.__setitem__(name, obj[()])
                     if isinstance(obj, h5py.Dataset) else None)
        attrs = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items()}
        return found, attrs


def exact_squared_l2(queries, database):
    """[Q, N] squared L2 distances in float64."""
    q = queries.astype(np.float64)
    x = database.astype(np.float64)
    return (q * q).sum(1)[:, None] - 2.0 * q @ x.T + (x * x).sum(1)[None, :]


def precision_and_map(ids, database_labels, query_labels, k):
    """precision@k and mean AP@k (index/evaluation.hpp's definitions) from scratch."""
    relevant = database_labels[ids[:, :k]] == query_labels[:, None]
    precision = relevant.mean()
    counts = np.bincount(database_labels, minlength=query_labels.max() + 1)
    hits = np.cumsum(relevant, axis=1)
    ranks = np.arange(1, k + 1)
    ap = (relevant * hits / ranks).sum(1) / np.minimum(k, counts[query_labels])
    return precision, ap.mean()


class IndexTests(E2ETestCase):
    """Shared fixtures: database and query data files, a PCA-16 model of the database, the
    codes of both (float32), an 8-d model for mismatches, a flat and an IVF index."""

    @classmethod
    def setUpClass(cls):
        cls.shared = tempfile.mkdtemp(prefix="aepipe-e2e-index-")
        s = lambda name: os.path.join(cls.shared, name)  # noqa: E731

        def ok(result):
            if result.returncode != 0:
                raise RuntimeError(result.describe())

        images, labels = read_idx(T10K_IMAGES), read_idx(T10K_LABELS)
        cls.db_labels = labels[:DATABASE_ROWS].astype(np.int32)
        cls.q_labels = labels[DATABASE_ROWS:].astype(np.int32)
        for name, rows in (("db", slice(0, DATABASE_ROWS)), ("q", slice(DATABASE_ROWS, None))):
            write_idx(s(name + "-images.idx"), images[rows])
            write_idx(s(name + "-labels.idx"), labels[rows])
        cls.db_data, cls.q_data = s("db.h5"), s("q.h5")
        cls.model, cls.model8 = s("pca16.h5"), s("pca8.h5")
        cls.db_codes, cls.q_codes, cls.q_codes8 = s("db-codes.h5"), s("q-codes.h5"), s("q8.h5")
        cls.flat, cls.ivf = s("flat.h5"), s("ivf.h5")
        ok(run_aepipe(["ingest", "-q", "--input", s("db-images.idx"), s("db-labels.idx"),
                       "--output", cls.db_data], ranks=1))
        ok(run_aepipe(["ingest", "-q", "--input", s("q-images.idx"), s("q-labels.idx"),
                       "--output", cls.q_data], ranks=1))
        ok(run_aepipe(["train", "-q", "--input", cls.db_data, "--output", cls.model, "--arch",
                       "pca:16"], ranks=2))
        ok(run_aepipe(["train", "-q", "--input", cls.q_data, "--output", cls.model8, "--arch",
                       "pca:8"], ranks=2))
        for data, model, codes in ((cls.db_data, cls.model, cls.db_codes),
                                   (cls.q_data, cls.model, cls.q_codes),
                                   (cls.q_data, cls.model8, cls.q_codes8)):
            ok(run_aepipe(["encode", "-q", "--input", data, "--model", model, "--output", codes],
                          ranks=2))
        for spec, output in (("flat", cls.flat), ("ivf:32", cls.ivf)):
            ok(run_aepipe(["index", "-q", "--input", cls.db_codes, "--output", output, "--type",
                           spec], ranks=2))
        with h5py.File(cls.db_codes, "r") as f:
            cls.database = f["codes"][()]
        with h5py.File(cls.q_codes, "r") as f:
            cls.queries = f["codes"][()]
        cls.distances = exact_squared_l2(cls.queries, cls.database)
        cls.exact_ids = np.argsort(cls.distances, axis=1, kind="stable")[:, :K]

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.shared, True)

    def query(self, output, index=None, extra=(), ranks=1, queries=None):
        result = self.aepipe(["query", "-q", "--index", index or self.flat, "--input",
                              queries or self.q_codes, "--output", output, "--force"] + list(extra),
                             ranks=ranks)
        self.assertSucceeded(result)
        self.assertNoLeftovers(os.path.dirname(output))
        return datasets(output)

    def evaluate(self, neighbours, extra=(), ranks=1):
        metrics = self.path("evaluate.jsonl")
        result = self.aepipe(["evaluate", "--neighbours", neighbours, "--metrics", metrics]
                             + list(extra), ranks=ranks)
        self.assertSucceeded(result)
        event = json_lines(metrics)[-1]
        os.remove(metrics)
        return event, result

    def test_flat_neighbours_equal_exact_numpy_neighbours(self):
        found, attrs = self.query(self.path("n.h5"), ranks=2)
        ids, distances = found["ids"], found["distances"]
        self.assertEqual(attrs["aepipe_format"], "neighbours")
        self.assertEqual(int(attrs["aepipe_version"]), 1)
        self.assertEqual((int(attrs["k"]), int(attrs["rows"])), (K, len(self.queries)))
        self.assertEqual((attrs["index"], attrs["queries"], attrs["model"]),
                         (self.flat, self.q_codes, ""))
        self.assertEqual((attrs["spec"], attrs["metric"]), ("flat:l2", "l2"))
        self.assertEqual((ids.dtype, distances.dtype), (np.int64, np.float32))
        self.assertEqual(ids.shape, (len(self.queries), K))
        self.assertArrayEqual(found["query_labels"], self.q_labels, "/query_labels")
        # Float32 distances ||q||² - 2 q·x + ||x||² are good to a few ulps of the norms.
        norms = (self.queries.astype(np.float64) ** 2).sum(1)
        tolerance = (1e-5 * (norms + (self.database.astype(np.float64) ** 2).sum(1).max()))
        tolerance = tolerance[:, None]
        # Reported distances are the true distances of the reported ids, best first ...
        mine = np.take_along_axis(self.distances, ids, axis=1)
        self.assertTrue(np.all(np.abs(distances - mine) <= tolerance))
        self.assertTrue(np.all(np.diff(distances, axis=1) >= 0))
        # ... and the k smallest ones: no closer vector was missed.
        near = np.sort(self.distances, axis=1)[:, :K + 1]
        self.assertTrue(np.all(np.abs(distances - near[:, :K]) <= tolerance))
        # Ids are numpy's wherever the k+1 smallest distances have no near-tie.
        clear = np.all(np.diff(near, axis=1) > 2 * tolerance, axis=1)
        self.assertGreater(clear.mean(), 0.5)
        self.assertArrayEqual(ids[clear], self.exact_ids[clear], "ids without ties")

    def test_ivf_recall_grows_with_nprobe_and_reaches_095(self):
        recalls = []
        for nprobe in (1, 2, 4, 8, 16):
            output = self.path("n%d.h5" % nprobe)
            found, attrs = self.query(output, self.ivf, ["--nprobe", nprobe], ranks=2)
            self.assertEqual(int(attrs["nprobe"]), nprobe)
            event, _ = self.evaluate(output)
            recalls.append(event["recall_at_10"])
            # recall against numpy's exact neighbours (ties may swap an id or two)
            hits = [len(set(a) & set(b)) for a, b in zip(found["ids"], self.exact_ids)]
            self.assertAlmostEqual(event["recall_at_10"], np.mean(hits) / K, delta=0.003)
        self.assertTrue(all(b >= a for a, b in zip(recalls, recalls[1:])), recalls)
        self.assertGreater(recalls[-1], recalls[0], recalls)
        self.assertGreaterEqual(max(recalls), 0.95, recalls)

    def test_index_files_do_not_depend_on_the_rank_count(self):
        for spec in ("flat", "ivf:32", "hash:32", "flat:cosine"):
            files = []
            for ranks in (1, 2, 3):
                output = self.path("i%d.h5" % ranks)
                result = self.aepipe(["index", "-q", "--input", self.db_codes, "--output",
                                      output, "--type", spec, "--force"], ranks=ranks)
                self.assertSucceeded(result)
                files.append(datasets(output))
            (one, attrs), others = files[0], files[1:]
            for found, other_attrs in others:
                self.assertEqual(sorted(found), sorted(one), spec)
                for name in one:
                    self.assertArrayEqual(found[name], one[name], "%s /%s" % (spec, name))
                self.assertEqual(other_attrs, attrs, spec)
            self.assertEqual(attrs["aepipe_format"], "index")
            self.assertEqual((int(attrs["dim"]), int(attrs["count"])), (16, DATABASE_ROWS))
            self.assertEqual(attrs["codes"], self.db_codes)
            self.assertArrayEqual(one["labels"], self.db_labels, spec + " /labels")
            self.assertEqual(attrs["type"], spec.split(":")[0])

    def test_neighbours_do_not_depend_on_the_rank_count(self):
        for index in (self.ivf, self.flat):
            one, attrs = self.query(self.path("n1.h5"), index, ranks=1)
            for ranks in (2, 3):
                other, other_attrs = self.query(self.path("n%d.h5" % ranks), index, ranks=ranks)
                self.assertEqual(sorted(other), ["distances", "ids", "query_labels"])
                for name in one:
                    self.assertArrayEqual(other[name], one[name], "%d ranks /%s" % (ranks, name))
                self.assertEqual(other_attrs, attrs)

    def test_image_queries_equal_their_codes(self):
        for index in (self.flat, self.ivf):
            leaf = os.path.basename(index)
            codes, _ = self.query(self.path("codes-" + leaf), index, ranks=1)
            images, attrs = self.query(self.path("images-" + leaf), index,
                                       ["--model", self.model], ranks=2, queries=self.q_data)
            self.assertEqual((attrs["queries"], attrs["model"]), (self.q_data, self.model))
            for name in codes:
                self.assertArrayEqual(images[name], codes[name], "%s /%s" % (index, name))
        # evaluate re-encodes image queries for its exact search: recall is exactly 1 for flat
        event, _ = self.evaluate(self.path("images-flat.h5"), ranks=2)
        self.assertEqual(event["recall_at_10"], 1.0)

    def test_precision_and_map_match_numpy(self):
        output = self.path("n.h5")
        found, _ = self.query(output, extra=["--k", "20"])
        event, result = self.evaluate(output, ["--k", "10"], ranks=2)
        precision, mean_ap = precision_and_map(found["ids"], self.db_labels, self.q_labels, 10)
        self.assertAlmostEqual(event["precision_at_10"], precision, places=9)
        self.assertAlmostEqual(event["mean_average_precision"], mean_ap, places=9)
        self.assertEqual(event["recall_at_10"], 1.0)
        self.assertEqual((event["stage"], event["k"], event["queries"]), ("evaluate", 10, 4000))
        self.assertIn("precision@10", result.stdout)
        self.assertGreater(precision, 0.7)

    def test_hash_recall_is_measured_against_an_exact_file(self):
        hash_index, flat_found, hash_found = (self.path(n) for n in ("h.h5", "f.h5", "hn.h5"))
        self.assertSucceeded(self.aepipe(["index", "-q", "--input", self.db_codes, "--output",
                                          hash_index, "--type", "hash:64"], ranks=2))
        flat, _ = self.query(flat_found)
        approx, attrs = self.query(hash_found, hash_index)
        self.assertEqual(attrs["metric"], "hamming")
        self.assertTrue(np.all(approx["distances"] == np.round(approx["distances"])))
        event, result = self.evaluate(hash_found)
        self.assertNotIn("recall_at_10", event)
        self.assertIn("n/a", result.stdout)
        event, _ = self.evaluate(hash_found, ["--exact", flat_found])
        hits = [len(set(a) & set(b)) for a, b in zip(approx["ids"], flat["ids"])]
        self.assertAlmostEqual(event["recall_at_10"], np.mean(hits) / K, places=9)

    def test_index_files_without_labels_still_work(self):
        old = self.path("old.h5")
        shutil.copy(self.flat, old)
        with h5py.File(old, "r+") as f:
            del f["labels"]
            del f.attrs["codes"]
        output = self.path("n.h5")
        self.query(output, old)
        event, result = self.evaluate(output)
        self.assertEqual(event["recall_at_10"], 1.0)
        self.assertNotIn("precision_at_10", event)
        self.assertIn("has no labels", result.stdout)

    def test_damaged_inputs_fail_with_one_clear_line(self):
        truncated = self.path("truncated.h5")
        shutil.copy(self.ivf, truncated)
        with open(truncated, "r+b") as f:
            f.truncate(os.path.getsize(self.ivf) // 2)
        out = self.path("out.h5")
        query = ["query", "--output", out]
        cases = [
            # (arguments, exit code, what the message names)
            (["index", "--input", self.db_data, "--output", out], 1, [self.db_data, "codes"]),
            (["index", "--input", self.db_codes, "--output", out, "--type", "ivf:7000"], 1,
             [self.db_codes, "7000"]),
            (["index", "--input", self.db_codes, "--output", out, "--type", "lsh:3"], 2,
             ["lsh:3"]),
            (query + ["--index", self.db_codes, "--input", self.q_codes], 1,
             [self.db_codes, "index"]),
            (query + ["--index", self.flat, "--input", self.model], 1, [self.model, "model"]),
            (query + ["--index", self.flat, "--input", self.q_codes8], 1,
             [self.q_codes8, self.flat, "8-d", "16-d"]),
            (query + ["--index", self.flat, "--input", self.q_data, "--model", self.model8], 1,
             [self.model8, self.flat, "8-d", "16-d"]),
            (query + ["--index", self.flat, "--input", self.q_data], 2, [self.q_data, "--model"]),
            (query + ["--index", self.flat, "--input", self.q_codes, "--k", "0"], 2, ["--k"]),
            (query + ["--index", self.ivf, "--input", self.q_codes, "--nprobe", "0"], 2,
             ["--nprobe"]),
            (query + ["--index", truncated, "--input", self.q_codes], 1, [truncated]),
            (["evaluate", "--neighbours", self.q_codes], 1, [self.q_codes, "neighbours"]),
        ]
        runs = [(args, ranks) for ranks in (1, 4) for args, _, _ in cases]
        results = self.aepipe_many(runs, workers=3)
        for (args, ranks), result, (_, code, mentions) in zip(runs, results, cases * 2):
            with self.subTest(args=args[:2] + args[-2:], ranks=ranks):
                self.assertFailed(result, code, mentions, output=out, max_seconds=60)
        self.assertEqual(sorted(os.listdir(self.tmp)), ["truncated.h5"])


if __name__ == "__main__":
    main()
