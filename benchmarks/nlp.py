"""`make bench` (nlp part): sentiment quality and analysis speed, each beside its baseline.

Prints one JSON document (also written to bench-results/nlp.json):

* quality of the shipped model and of SnowNLP's bundled one on the SMP2020 eval files (3-class
  macro-F1, negative recall; never used for training) and binary accuracy on a fixed held-out
  part of weibo_senti_train.jsonl with every [emoticon] removed;
* throughput of the whole `fengxiang analyze` path (parse, clean, tokenize, brands, keywords,
  sentiment, simhash, serialise) against plain ``jieba.lcut`` over the same posts, in one process,
  measured in the same run, each of our rounds with empty caches — on 5,000 synthetic posts and on
  5,000 real Weibo posts from the data set — and against a SnowNLP pipeline; wall time and peak
  memory of the analyze command itself.

FENGXIANG_SENTIMENT_DATA points at the labelled data set (default ../shared/data/sentiment).
"""

from __future__ import annotations

import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jieba
import orjson

from fengxiang.analysis import analyze_lines
from fengxiang.cli import ANALYZE_BATCH
from fengxiang.ingest import LineParser
from fengxiang.synthetic import demo_watchlist, generate_mentions
from fengxiang.textmatch import fold
from nlp.analyzer import Analyzer, AnalyzerSettings
from nlp.sentiment.engines import LinearEngine, SnowNLPEngine
from nlp.simhash import NearDuplicateIndex
from nlp.tokenizer import Tokenizer

SHANGHAI = ZoneInfo("Asia/Shanghai")
TARGETS = {
    "usual_macro_f1": 0.86,
    "virus_macro_f1": 0.80,
    "negative_recall": 0.90,
    "weibo_senti_binary_accuracy_no_emoticons": 0.78,
    "throughput_vs_jieba": 0.7,
}
SPEED_POSTS = 5_000
SNOWNLP_SPEED_POSTS = 300  # SnowNLP runs at ≈100 posts/s: a sample gives its rate
SNOWNLP_QUALITY_POSTS = 1_000  # per eval file, for the same reason
LABELS = ("negative", "neutral", "positive")
EMOTICON = re.compile(r"\[[^\[\]]{1,8}\]")


def data_dir() -> Path:
    return Path(os.environ.get("FENGXIANG_SENTIMENT_DATA", "../shared/data/sentiment"))


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def is_held_out(text: str) -> bool:
    """The fixed fifth of weibo_senti_train.jsonl that no shipped model may train on."""
    return zlib.crc32(text.encode("utf-8")) % 5 == 0


def macro_f1(gold: Sequence[str], predicted: Sequence[str]) -> tuple[float, dict[str, float]]:
    per_class = {}
    for label in LABELS:
        true_positive = sum(g == p == label for g, p in zip(gold, predicted, strict=True))
        predicted_n = sum(p == label for p in predicted)
        gold_n = sum(g == label for g in gold)
        precision = true_positive / predicted_n if predicted_n else 0.0
        recall = true_positive / gold_n if gold_n else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class[label] = {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4)}
    return round(sum(c["f1"] for c in per_class.values()) / len(LABELS), 4), per_class


def predict(engine: LinearEngine | SnowNLPEngine, tokenizer: Tokenizer, texts: Sequence[str]) -> list[dict[str, Any]]:
    folded = [fold(text) for text in texts]
    return engine.predict([(text, tokenizer.tokens(text)) for text in folded])


def three_class_quality(
    engine: LinearEngine | SnowNLPEngine, tokenizer: Tokenizer, rows: list[dict[str, Any]]
) -> dict[str, Any]:
    rows = [row for row in rows if row["sentiment"] in LABELS]
    predicted = [result["label"] for result in predict(engine, tokenizer, [row["text"] for row in rows])]
    score, per_class = macro_f1([row["sentiment"] for row in rows], predicted)
    return {
        "posts": len(rows),
        "macro_f1": score,
        "negative_recall": per_class["negative"]["recall"],
        "per_class": per_class,
    }


def binary_accuracy(
    engine: LinearEngine | SnowNLPEngine, tokenizer: Tokenizer, rows: list[dict[str, Any]]
) -> dict[str, Any]:
    texts = [" ".join(EMOTICON.sub(" ", row["text"]).split()) for row in rows]
    kept = [(text, row["sentiment"]) for text, row in zip(texts, rows, strict=True) if text]
    results = predict(engine, tokenizer, [text for text, _ in kept])
    right = sum(
        ("positive" if result["probs"]["positive"] >= result["probs"]["negative"] else "negative") == gold
        for result, (_, gold) in zip(results, kept, strict=True)
    )
    return {"posts": len(kept), "accuracy": round(right / len(kept), 4)}


def quality(tokenizer: Tokenizer) -> dict[str, Any]:
    folder = data_dir()
    usual = read_jsonl(folder / "smp2020_usual_eval.jsonl")
    virus = read_jsonl(folder / "smp2020_virus_eval.jsonl")
    held_out = [row for row in read_jsonl(folder / "weibo_senti_train.jsonl") if is_held_out(row["text"])]
    ours, snownlp = LinearEngine(), SnowNLPEngine()
    return {
        "ours": {
            "trained_on": ours.model.meta.get("trained_on"),
            "smp2020_usual_eval": three_class_quality(ours, tokenizer, usual),
            "smp2020_virus_eval": three_class_quality(ours, tokenizer, virus),
            "weibo_senti_held_out_no_emoticons": binary_accuracy(ours, tokenizer, held_out),
        },
        "ours_with_negative_bias_0.6": {
            "smp2020_usual_eval": three_class_quality(LinearEngine(negative_bias=0.6), tokenizer, usual),
            "smp2020_virus_eval": three_class_quality(LinearEngine(negative_bias=0.6), tokenizer, virus),
        },
        "baseline_snownlp": {
            "note": f"first {SNOWNLP_QUALITY_POSTS} posts of each file (SnowNLP is slow)",
            "smp2020_usual_eval": three_class_quality(snownlp, tokenizer, usual[:SNOWNLP_QUALITY_POSTS]),
            "smp2020_virus_eval": three_class_quality(snownlp, tokenizer, virus[:SNOWNLP_QUALITY_POSTS]),
            "weibo_senti_held_out_no_emoticons": binary_accuracy(snownlp, tokenizer, held_out[:SNOWNLP_QUALITY_POSTS]),
        },
    }


def per_second(count: int, action: Callable[[], Any]) -> float:
    started = time.perf_counter()
    action()
    return count / (time.perf_counter() - started)


def analyze_all(parser: LineParser, lines: list[bytes]) -> list[bytes]:
    """Exactly what `fengxiang analyze` does per batch, minus reading and writing the files."""
    clusters, errors, out = NearDuplicateIndex(), [], []
    for start in range(0, len(lines), ANALYZE_BATCH):
        out += analyze_lines(parser, lines[start : start + ANALYZE_BATCH], start + 1, clusters, errors)
    assert not errors, errors
    return out


def snownlp_pipeline(texts: Sequence[str]) -> None:
    """A SnowNLP-based tagger: its words, keywords and sentiment for each post."""
    from snownlp import SnowNLP

    for text in texts:
        post = SnowNLP(text)
        _ = post.words, post.keywords(5), post.sentiments


def real_posts(limit: int) -> list[dict[str, Any]]:
    """Real Weibo posts no model here trained on: the two eval files and the held-out fifth."""
    folder = data_dir()
    rows = read_jsonl(folder / "smp2020_usual_eval.jsonl") + read_jsonl(folder / "smp2020_virus_eval.jsonl")
    rows += [row for row in read_jsonl(folder / "weibo_senti_train.jsonl") if is_held_out(row["text"])]
    return [{"text": row["text"]} for row in rows[:limit]]


def fresh_parser() -> LineParser:
    """A parser whose analyzer has loaded jieba, the model and the IDF, but whose caches are empty:
    each timed round starts cold, as a new `fengxiang analyze` process does."""
    analyzer = Analyzer(AnalyzerSettings(brands=tuple((e["name"], e["query"]) for e in demo_watchlist())))
    parser = LineParser(timezone=SHANGHAI, analyzer=analyzer)
    analyze_all(parser, [orjson.dumps({"text": "预热"})])
    return parser


def speed_on(posts: list[dict[str, Any]]) -> dict[str, Any]:
    texts = [post["text"] for post in posts]
    lines = [orjson.dumps(post) for post in posts]
    # Interleaved rounds, best of three each: the machine's speed drifts during a run.
    jieba_rates, ours_rates = [], []
    for _ in range(3):
        jieba_rates.append(per_second(len(texts), lambda: [jieba.lcut(text) for text in texts]))
        ours_rates.append(per_second(len(lines), partial(analyze_all, fresh_parser(), lines)))
    return {
        "posts": len(texts),
        "mean_chars": round(sum(map(len, texts)) / len(texts), 1),
        "ours_analyze_posts_per_s": round(max(ours_rates)),
        "baseline_jieba_lcut_posts_per_s": round(max(jieba_rates)),
        "ratio_vs_jieba": round(max(ours_rates) / max(jieba_rates), 3),
    }


def speed(work: Path) -> dict[str, Any]:
    synthetic = list(generate_mentions(SPEED_POSTS, seed=5, analysed=False))
    jieba.setLogLevel(60)
    jieba.initialize()
    texts = [post["text"] for post in synthetic]
    return {
        "synthetic_posts": speed_on(synthetic),
        "real_weibo_posts": speed_on(real_posts(SPEED_POSTS)),
        "baseline_snownlp_pipeline_posts_per_s": round(
            per_second(SNOWNLP_SPEED_POSTS, lambda: snownlp_pipeline(texts[:SNOWNLP_SPEED_POSTS])), 1
        ),
        "analyze_command": analyze_command(work, [orjson.dumps(post) for post in synthetic]),
    }


# Runs the CLI and reports its own peak memory: VmHWM of its own address space. (ru_maxrss would
# include the copy of this large benchmark process the child was forked from: Linux keeps it
# across exec.)
_MEASURED_CLI = (
    "import re, sys\n"
    "from fengxiang.cli import main\n"
    "code = main(sys.argv[1:])\n"
    "status = open('/proc/self/status').read()\n"
    "print(re.search(r'VmHWM:\\s+(\\d+)', status).group(1), file=sys.stderr)\n"
    "sys.exit(code)\n"
)


def analyze_command(work: Path, lines: list[bytes]) -> dict[str, Any]:
    """The real command in its own process: wall time including start-up, and peak memory."""
    source = work / "posts.jsonl"
    source.write_bytes(b"\n".join(lines) + b"\n")
    started = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, "-c", _MEASURED_CLI, "analyze", str(source), "-o", str(work / "out.jsonl")],
        check=True,
        cwd=work,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - started
    peak_kib = int(completed.stderr.split()[-1])
    return {"posts": len(lines), "wall_s": round(seconds, 2), "peak_rss_mib": round(peak_kib / 1024, 1)}


def main() -> None:
    tokenizer = Tokenizer()
    with tempfile.TemporaryDirectory(prefix="fengxiang-bench-") as folder:
        result = {
            "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
            "targets": TARGETS,
            "speed": speed(Path(folder)),
            "sentiment": quality(tokenizer),
        }
    output = json.dumps(result, ensure_ascii=False, indent=2)
    Path("bench-results").mkdir(exist_ok=True)
    Path("bench-results/nlp.json").write_text(output + "\n", encoding="utf-8")
    print(output)


if __name__ == "__main__":
    main()
