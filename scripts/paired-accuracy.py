#!/usr/bin/env python3
"""Paired comparison of policies on the same questions, from `anatomy-r1 score --greedy-tokens N` outputs.

Usage: scripts/paired-accuracy.py DATA.json NAME=SCORED.jsonl [NAME=SCORED.jsonl ...]

For each policy: accuracy (the letter in <answer>…</answer> equals the record's `solution`), format (both tags
present), perception (the think part names the correct option's text, lower-cased). For every policy after the first:
the paired difference in accuracy against the first, with a 95% confidence interval from the per-question
differences (normal approximation) and from 10,000 bootstrap resamples of the questions (seed 0).
Standard library only.
"""
import json
import math
import random
import re
import sys

ANSWER = re.compile(r"<answer>\s*([A-Za-z])\s*</answer>")
THINK = re.compile(r"<think>(.*?)</think>", re.S)


def judge(record, greedy):
    m = ANSWER.search(greedy)
    letter = m.group(1).upper() if m else None
    think = THINK.search(greedy)
    named = bool(think) and record["answer"].lower() in think.group(1).lower()
    return (letter == record["solution"].upper(), bool(m and think), named)


def main(argv):
    data = json.load(open(argv[1], encoding="utf-8"))
    results = []
    for spec in argv[2:]:
        name, path = spec.split("=", 1)
        lines = [json.loads(l) for l in open(path, encoding="utf-8") if l.strip()]
        if len(lines) != len(data):
            sys.exit(f"{path}: {len(lines)} lines for {len(data)} records")
        results.append((name, [judge(r, l.get("greedy", "")) for r, l in zip(data, lines)]))
    n = len(data)
    print(f"{n} questions")
    print("| policy | accuracy | format | perception (trace names the answer) |")
    print("| --- | ---: | ---: | ---: |")
    for name, judged in results:
        acc = sum(j[0] for j in judged) / n
        se = math.sqrt(acc * (1 - acc) / n)
        print(f"| {name} | {acc:.1%} ± {1.96 * se:.1%} | {sum(j[1] for j in judged) / n:.1%} | {sum(j[2] for j in judged) / n:.1%} |")
    base_name, base = results[0]
    rng = random.Random(0)
    for name, judged in results[1:]:
        d = [int(a[0]) - int(b[0]) for a, b in zip(judged, base)]
        mean = sum(d) / n
        sd = math.sqrt(sum((x - mean) ** 2 for x in d) / (n - 1))
        boots = sorted(sum(d[rng.randrange(n)] for _ in range(n)) / n for _ in range(10000))
        print(f"{name} − {base_name}: {mean:+.1%} (95% CI normal {mean - 1.96 * sd / math.sqrt(n):+.1%} … {mean + 1.96 * sd / math.sqrt(n):+.1%}; "
              f"bootstrap {boots[250]:+.1%} … {boots[9749]:+.1%}); discordant: {sum(1 for x in d if x > 0)} better, {sum(1 for x in d if x < 0)} worse")


if __name__ == "__main__":
    main(sys.argv)
