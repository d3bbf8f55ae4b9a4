"""The Python peers of the flights benchmark (bench/flights.ts runs this in the same run and prints ratios).

The platform does this work in TypeScript (nodejs-polars, TensorFlow.js); this script does the same work
with the Python tools people would reach for, so the benchmark can say how far apart they are. It is a
benchmark tool only, never part of the platform at runtime. It runs in .tools/bench-venv (made by
`node scripts/bench-venv.mjs [--keras]`, which pins every version).

    python flights_peers.py --parquet PATH --what clean-feature
    python flights_peers.py --parquet PATH --what train --x X.f32 --y Y.f32 --rows N --cols C \
        --batch 256 --batch 1024 --epochs 3 --hidden 32 [--keras]

stdout gets exactly one JSON object (the report); progress goes to stderr.

clean-feature: the flights pipeline's clean and feature stages, once with Python Polars and once with
pandas, each in a subprocess of its own (this same script with --only), because the peak RSS a process
reports (getrusage ru_maxrss) only ever grows: measured in one process, pandas would inherit Polars' peak.
Seconds exclude interpreter start-up and imports and include the Parquet read.

train: scikit-learn's MLPClassifier (and with --keras, the same network in Keras) on the matrices the
TypeScript stages wrote, timed per batch size, as samples per second = rows x epochs / seconds.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import subprocess
import sys
import time
from dataclasses import dataclass

# What the flights spec (pipelines/flights.json) asks for.
LATE_ABOVE = 15  # delay > 15 minutes is "late"
CLASSES = ["late", "on-time"]  # sorted: the class index of a label is its place here
MIN_TEST_ROWS = 1000  # the held-out month is the latest one with at least this many rows
MAX_CATEGORIES = 30  # one-hot over the 30 most frequent training values, the rest in __other__
OTHER = "__other__"
DOW = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]  # ISO order, Monday first
TWO_PI = 2 * math.pi


def log(msg: str) -> None:
    print(f"[flights-peers] {msg}", file=sys.stderr, flush=True)


def peak_rss_mb() -> float:
    # ru_maxrss is in KiB on Linux (bytes on macOS); it is the peak of the whole process so far.
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if sys.platform == "darwin":
        kib /= 1024
    return round(kib / 1024, 1)


def nonzero_std(std: float) -> float:
    # A constant column (all training rows in 2001: the year) is only centred, as data/transform.ts does.
    return std if std > 1e-12 and math.isfinite(std) else 1.0


def output_names(origins: list[str], destinations: list[str]) -> list[str]:
    return [
        *[f"date__dow_{d}" for d in DOW],
        "date__time_sin", "date__time_cos",
        "distance",
        *[f"origin={v}" for v in origins], f"origin={OTHER}",
        *[f"destination={v}" for v in destinations], f"destination={OTHER}",
    ]


@dataclass
class Fitted:
    """What the feature stage fits on the training rows (the fields of the platform's FittedTransform)."""

    year_mean: float
    year_std: float
    distance_mean: float
    distance_std: float
    origins: list[str]
    destinations: list[str]


class Stopwatch:
    """Seconds and the peak RSS after each stage, in the order the stages ran."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.rss: dict[str, float] = {"after_imports": peak_rss_mb()}
        self._t = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.seconds[stage] = round(now - self._t, 4)
        self.rss[stage] = peak_rss_mb()
        log(f"  {stage}: {self.seconds[stage]:.3f} s, peak RSS {self.rss[stage]} MB")
        self._t = time.perf_counter()


def checksums(x_train, y_train, x_test, y_test) -> dict:
    """Sums in float64, so the two libraries (and the TypeScript side) can be checked to agree."""
    import numpy as np

    return {
        "train_x_column_sums": [float(v) for v in x_train.sum(axis=0, dtype=np.float64)],
        "test_x_column_sums": [float(v) for v in x_test.sum(axis=0, dtype=np.float64)],
        "train_y_sum": float(y_train.sum(dtype=np.float64)),
        "test_y_sum": float(y_test.sum(dtype=np.float64)),
    }


def matrices_report(lib, version, watch, rows, fitted, x_train, y_train, x_test, y_test, held) -> dict:
    for name, m in (("train", x_train), ("test", x_test)):
        assert m.dtype.name == "float32" and m.flags.c_contiguous, f"{lib}: {name} matrix is not row-major float32"
    return {
        "library": lib,
        "version": version,
        "seconds": {**watch.seconds, "total": round(sum(watch.seconds.values()), 4)},
        "peak_rss_mb": watch.rss,
        "rows": rows,
        "held_out_month": f"{held // 12:04d}-{held % 12 + 1:02d}",
        "shape": {"train": list(x_train.shape), "test": list(x_test.shape)},
        "fitted": {
            "year_mean": fitted.year_mean, "year_std": fitted.year_std,
            "distance_mean": fitted.distance_mean, "distance_std": fitted.distance_std,
        },
        "columns": output_names(fitted.origins, fitted.destinations),
        "checksums": checksums(x_train, y_train, x_test, y_test),
    }


# ---------------------------------------------------------------------------------------------- Polars


def run_polars(parquet: str) -> dict:
    import numpy as np  # noqa: F401  (to_numpy needs it; imported before the clock starts)
    import polars as pl

    log(f"polars {pl.__version__}, {pl.thread_pool_size()} threads")
    watch = Stopwatch()

    df = pl.read_parquet(parquet)
    rows = {"read": df.height}
    watch.lap("read")

    # One lazy query, so Polars plans the filter, label, de-duplication and sort together.
    df = (
        df.lazy()
        .filter(pl.col("delay").is_not_null())
        .with_columns(pl.when(pl.col("delay") > LATE_ABOVE).then(pl.lit("late")).otherwise(pl.lit("on-time")).alias("label"))
        .unique(keep="first", maintain_order=True)
        .sort("date", maintain_order=True)  # stable: rows of the same minute keep their order
        .collect()
    )
    rows["clean"] = df.height
    watch.lap("clean")

    # Split: calendar months; the held-out one is the latest with enough rows, later rows are dropped.
    date = pl.col("date")
    df = df.with_columns((date.dt.year().cast(pl.Int32) * 12 + date.dt.month().cast(pl.Int32) - 1).alias("period"))
    held = df.group_by("period").len().filter(pl.col("len") >= MIN_TEST_ROWS)["period"].max()
    if held is None:
        raise SystemExit(f"no calendar month has {MIN_TEST_ROWS} rows to hold out")
    train = df.filter(pl.col("period") < held)
    test = df.filter(pl.col("period") == held)
    rows.update(train=train.height, test=test.height, dropped_after_test=df.filter(pl.col("period") > held).height)

    # Fit on the training rows only. Population std (ddof=0), as the platform's transform.
    def top(column: str) -> list[str]:
        counts = train[column].value_counts()
        return counts.sort(["count", column], descending=[True, False]).head(MAX_CATEGORIES)[column].to_list()

    stats = train.select(
        year_mean=date.dt.year().cast(pl.Float64).mean(),
        year_std=date.dt.year().cast(pl.Float64).std(ddof=0),
        distance_mean=pl.col("distance").cast(pl.Float64).mean(),
        distance_std=pl.col("distance").cast(pl.Float64).std(ddof=0),
    ).row(0, named=True)
    fitted = Fitted(
        year_mean=stats["year_mean"], year_std=nonzero_std(stats["year_std"]),
        distance_mean=stats["distance_mean"], distance_std=nonzero_std(stats["distance_std"]),
        origins=top("origin"), destinations=top("destination"),
    )

    # Encode: one expression per matrix column, computed in float64 and stored as float32 (as the platform).
    def one_hot(column: str, kept: list[str]) -> list[pl.Expr]:
        col = pl.col(column)
        return [*[(col == v).alias(f"{column}={v}") for v in kept], (~col.is_in(kept)).alias(f"{column}={OTHER}")]

    # The flights spec's date parts: the weekday and the time of day (minutes since midnight on a circle).
    weekday = date.dt.weekday()  # ISO: Monday = 1
    minute_angle = (date.dt.hour().cast(pl.Float64) * 60 + date.dt.minute().cast(pl.Float64)) * TWO_PI / 1440
    exprs = [
        *[(weekday == k + 1).alias(f"date__dow_{d}") for k, d in enumerate(DOW)],
        minute_angle.sin().alias("date__time_sin"),
        minute_angle.cos().alias("date__time_cos"),
        ((pl.col("distance").cast(pl.Float64) - fitted.distance_mean) / fitted.distance_std).alias("distance"),
        *one_hot("origin", fitted.origins),
        *one_hot("destination", fitted.destinations),
    ]
    exprs = [e.cast(pl.Float32) for e in exprs]
    label_index = pl.col("label").replace_strict({c: i for i, c in enumerate(CLASSES)}, return_dtype=pl.Float32)

    def encode(part: pl.DataFrame):
        x = part.select(exprs).to_numpy(order="c")  # row-major, as the TypeScript side lays its matrix out
        y = part.select(label_index)["label"].to_numpy()
        return x, y

    x_train, y_train = encode(train)
    x_test, y_test = encode(test)
    watch.lap("feature")
    return matrices_report("polars", pl.__version__, watch, rows, fitted, x_train, y_train, x_test, y_test, held)


# ---------------------------------------------------------------------------------------------- pandas


def run_pandas(parquet: str) -> dict:
    import numpy as np
    import pandas as pd
    import pyarrow  # noqa: F401  (pandas' Parquet engine; imported before the clock starts)

    log(f"pandas {pd.__version__}")
    watch = Stopwatch()

    df = pd.read_parquet(parquet)
    rows = {"read": len(df)}
    watch.lap("read")

    df = df[df["delay"].notna()]
    df = df.assign(label=np.where(df["delay"] > LATE_ABOVE, "late", "on-time"))
    df = df.drop_duplicates(keep="first")
    df = df.sort_values("date", kind="stable", ignore_index=True)  # stable: same-minute rows keep their order
    rows["clean"] = len(df)
    watch.lap("clean")

    # Split: calendar months; the held-out one is the latest with enough rows, later rows are dropped.
    period = df["date"].dt.year * 12 + df["date"].dt.month - 1
    counts = period.value_counts()
    if not (counts >= MIN_TEST_ROWS).any():
        raise SystemExit(f"no calendar month has {MIN_TEST_ROWS} rows to hold out")
    held = int(counts.index[counts >= MIN_TEST_ROWS].max())
    train = df[period < held]
    test = df[period == held]
    rows.update(train=len(train), test=len(test), dropped_after_test=int((period > held).sum()))

    # Fit on the training rows only. Population std (ddof=0), as the platform's transform.
    def top(column: str) -> list[str]:
        counts = train[column].value_counts().rename_axis("value").reset_index(name="count")
        counts = counts.sort_values(["count", "value"], ascending=[False, True], kind="stable")
        return counts["value"].head(MAX_CATEGORIES).tolist()

    year = train["date"].dt.year.astype("float64")
    distance = train["distance"].astype("float64")
    fitted = Fitted(
        year_mean=float(year.mean()), year_std=nonzero_std(float(year.std(ddof=0))),
        distance_mean=float(distance.mean()), distance_std=nonzero_std(float(distance.std(ddof=0))),
        origins=top("origin"), destinations=top("destination"),
    )

    # Encode: whole columns at a time, computed in float64 and stored as float32 (as the platform).
    def one_hot(values: pd.Series, kept: list[str]) -> pd.DataFrame:
        folded = values.where(values.isin(kept), OTHER)
        codes = pd.Categorical(folded, categories=[*kept, OTHER])
        return pd.get_dummies(codes, prefix=values.name, prefix_sep="=", dtype=np.float32)

    def encode(part: pd.DataFrame):
        # `part` has a fresh RangeIndex, as get_dummies' frames do, so pd.concat lines their rows up.
        d = part["date"].dt
        # The flights spec's date parts: the weekday and the time of day (minutes since midnight on a circle).
        minute_angle = TWO_PI * (d.hour * 60 + d.minute).astype("float64") / 1440
        weekday = pd.get_dummies(pd.Categorical(d.day_of_week, categories=range(7)), dtype=np.float32)  # Monday = 0
        weekday.columns = [f"date__dow_{x}" for x in DOW]
        rest = pd.DataFrame({
            "date__time_sin": np.sin(minute_angle),
            "date__time_cos": np.cos(minute_angle),
            "distance": (part["distance"].astype("float64") - fitted.distance_mean) / fitted.distance_std,
        })
        frame = pd.concat(
            [weekday, rest, one_hot(part["origin"], fitted.origins), one_hot(part["destination"], fitted.destinations)],
            axis=1,
        )
        x = np.ascontiguousarray(frame.to_numpy(dtype=np.float32))  # row-major, as the TypeScript side
        y = pd.Categorical(part["label"], categories=CLASSES).codes.astype(np.float32)
        return x, y

    x_train, y_train = encode(train.reset_index(drop=True))
    x_test, y_test = encode(test.reset_index(drop=True))
    watch.lap("feature")
    return matrices_report("pandas", pd.__version__, watch, rows, fitted, x_train, y_train, x_test, y_test, held)


# ---------------------------------------------------------------------------------------------- clean-feature


def clean_feature(parquet: str) -> dict:
    """Each library in a fresh subprocess of this script, one after the other (never at the same time)."""
    results = {}
    for lib in ("polars", "pandas"):
        log(f"clean-feature with {lib} (subprocess)…")
        child = subprocess.run(
            [sys.executable, os.path.abspath(__file__), "--parquet", parquet, "--what", "clean-feature", "--only", lib],
            stdout=subprocess.PIPE, stderr=None, text=True, check=False,
        )
        if child.returncode != 0:
            raise SystemExit(f"the {lib} subprocess failed (exit {child.returncode})")
        results[lib] = json.loads(child.stdout)

    pl_r, pd_r = results["polars"], results["pandas"]
    # The two must have done the same work: same rows, same columns, the same sums to float32 rounding.
    diffs = [
        abs(a - b) / max(1.0, abs(a), abs(b))
        for key in ("train_x_column_sums", "test_x_column_sums")
        for a, b in zip(pl_r["checksums"][key], pd_r["checksums"][key])
    ] + [abs(pl_r["checksums"][k] - pd_r["checksums"][k]) for k in ("train_y_sum", "test_y_sum")]
    agree = pl_r["rows"] == pd_r["rows"] and pl_r["columns"] == pd_r["columns"] and max(diffs) < 1e-6
    return {
        "what": "clean-feature",
        "parquet": os.path.abspath(parquet),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "isolation": "one subprocess per library, run one after the other; peak RSS is each subprocess's own",
        "polars": pl_r,
        "pandas": pd_r,
        "agree": agree,
        "max_relative_checksum_difference": max(diffs),
    }


# ---------------------------------------------------------------------------------------------- train


def read_matrices(x_path: str, y_path: str, rows: int, cols: int):
    import numpy as np

    for path, need in ((x_path, rows * cols * 4), (y_path, rows * 4)):
        size = os.path.getsize(path)
        if size < need:
            raise SystemExit(f"{path} holds {size} bytes, fewer than the {need} that --rows {rows} --cols {cols} need")
    # Raw little-endian float32, row-major; only the first `rows` rows are read.
    x = np.fromfile(x_path, dtype="<f4", count=rows * cols).reshape(rows, cols)
    y = np.fromfile(y_path, dtype="<f4", count=rows)
    if not np.isfinite(x).all():
        raise SystemExit(f"{x_path} holds non-finite values")
    labels = np.unique(y)
    if not np.array_equal(labels, np.round(labels)) or labels.min() < 0:
        raise SystemExit(f"{y_path} does not hold class indices (values {labels[:10].tolist()})")
    return x, y.astype(np.int64)


def train_sklearn(x, y, batches: list[int], epochs: int, hidden: int) -> dict:
    import sklearn
    import warnings
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier
    from threadpoolctl import threadpool_info

    runs = []
    for batch in batches:
        clf = MLPClassifier(
            hidden_layer_sizes=(hidden,), activation="relu", solver="adam", batch_size=batch,
            learning_rate_init=0.003, alpha=0, max_iter=epochs, shuffle=True, random_state=1,
            # Exactly `epochs` passes: no early stop, and a patience longer than the run.
            early_stopping=False, n_iter_no_change=epochs + 1, tol=0,
        )
        with warnings.catch_warnings():
            # max_iter is reached on purpose: that is the "did not converge" warning, not a problem.
            warnings.simplefilter("ignore", ConvergenceWarning)
            start = time.perf_counter()
            clf.fit(x, y)
            seconds = time.perf_counter() - start
        runs.append({
            "batch": batch,
            "seconds": round(seconds, 4),
            "samples_per_s": round(len(x) * epochs / seconds, 1),
            "epochs_run": clf.n_iter_,
            "final_loss": round(float(clf.loss_), 6),
            "dtype": str(clf.coefs_[0].dtype),  # scikit-learn keeps float32 input in float32
        })
        log(f"  scikit-learn batch {batch}: {seconds:.2f} s, {runs[-1]['samples_per_s']:.0f} samples/s")
    blas = [{"library": i.get("internal_api"), "threads": i.get("num_threads")} for i in threadpool_info()]
    # A binary MLPClassifier ends in one logistic unit; Keras below ends in a 2-way softmax, as the spec says.
    return {"library": "scikit-learn", "version": sklearn.__version__, "threadpools": blas, "runs": runs}


def import_keras():
    """Keras on TensorFlow, or a clear exit before any work when the venv was made without --keras."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's start-up chatter, not our progress
    try:
        import keras
        import tensorflow as tf
    except ImportError as err:
        raise SystemExit(f"--keras needs TensorFlow in this venv ({err}); run `node scripts/bench-venv.mjs --keras`") from err
    return keras, tf


def train_keras(x, y, batches: list[int], epochs: int, hidden: int) -> dict:
    keras, tf = import_keras()
    runs = []
    for batch in batches:
        keras.utils.set_random_seed(1)  # same initial weights and shuffles for every batch size
        model = keras.Sequential([
            keras.Input(shape=(x.shape[1],)),
            keras.layers.Dense(hidden, activation="relu"),
            keras.layers.Dense(2, activation="softmax"),
        ])
        model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.003), loss="sparse_categorical_crossentropy")
        start = time.perf_counter()
        history = model.fit(x, y, batch_size=batch, epochs=epochs, shuffle=True, verbose=0)
        seconds = time.perf_counter() - start
        runs.append({
            "batch": batch,
            "seconds": round(seconds, 4),
            "samples_per_s": round(len(x) * epochs / seconds, 1),
            "epochs_run": len(history.history["loss"]),
            "final_loss": round(float(history.history["loss"][-1]), 6),
        })
        log(f"  keras batch {batch}: {seconds:.2f} s, {runs[-1]['samples_per_s']:.0f} samples/s")
    return {"library": "keras", "version": keras.__version__, "backend": f"tensorflow {tf.__version__}", "runs": runs}


def train(args) -> dict:
    if args.keras:
        import_keras()  # fail before the scikit-learn runs, and keep the import out of the timings
    x, y = read_matrices(args.x, args.y, args.rows, args.cols)
    log(f"train: {args.rows} x {args.cols}, batches {args.batch}, {args.epochs} epochs, hidden {args.hidden}")
    report = {
        "what": "train",
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "rows": args.rows,
        "cols": args.cols,
        "epochs": args.epochs,
        "hidden": args.hidden,
        "sklearn": train_sklearn(x, y, args.batch, args.epochs, args.hidden),
        "keras": train_keras(x, y, args.batch, args.epochs, args.hidden) if args.keras else None,
    }
    return report


# ---------------------------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--parquet", help="flights-3m.parquet (clean-feature reads it; train does not need it)")
    parser.add_argument("--what", required=True, choices=["clean-feature", "train"])
    parser.add_argument("--only", choices=["polars", "pandas"], help=argparse.SUPPRESS)  # the subprocess's own
    parser.add_argument("--x", help="train: raw little-endian float32 matrix, row-major")
    parser.add_argument("--y", help="train: raw little-endian float32 class indices")
    parser.add_argument("--rows", type=int, help="train: use the first ROWS rows")
    parser.add_argument("--cols", type=int, help="train: columns of the matrix")
    parser.add_argument("--batch", type=int, action="append", help="train: a batch size (repeatable)")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--hidden", type=int, default=32)
    parser.add_argument("--keras", action="store_true", help="train: Keras (TensorFlow) too")
    args = parser.parse_args()

    if args.what == "clean-feature":
        if not args.parquet:
            parser.error("--what clean-feature needs --parquet")
        if args.only == "polars":
            report = run_polars(args.parquet)
        elif args.only == "pandas":
            report = run_pandas(args.parquet)
        else:
            report = clean_feature(args.parquet)
    else:
        missing = [f"--{k}" for k in ("x", "y", "rows", "cols", "batch") if getattr(args, k) is None]
        if missing:
            parser.error(f"--what train needs {' '.join(missing)}")
        if args.rows <= 0 or args.cols <= 0 or args.epochs <= 0 or args.hidden <= 0 or min(args.batch) <= 0:
            parser.error("--rows, --cols, --batch, --epochs and --hidden must be positive")
        report = train(args)

    json.dump(report, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
