"""Time and peak memory of `hierfact topics` from a CSV of 100,000 short documents to the printed hierarchy.

    python benchmarks/corpus_100k.py /tmp/docs100k.csv          # writes the CSV (tweets resampled, dates kept)
    /usr/bin/time -v hierfact topics /tmp/docs100k.csv --group-by account --time date --freq month --quiet

The CSV: the 63,326 health-news tweets (hf.datasets.health_tweets_documents) drawn 100,000 times with replacement
(seed 0), each keeping its account and date, its text cut to at most 12 words (short documents)."""
import sys

import numpy as np

import hierfact as hf

def write(path, n=100_000, seed=0):
    docs = hf.datasets.health_tweets_documents()
    rows = docs.iloc[np.random.default_rng(seed).integers(0, len(docs), n)].reset_index(drop=True)
    rows["text"] = rows.text.str.split().str[:12].str.join(" ")
    rows.to_csv(path, index=False)
    return rows

if __name__ == "__main__":
    rows = write(sys.argv[1] if len(sys.argv) > 1 else "docs100k.csv")
    print(f"{len(rows):,} documents, {rows.text.str.split().str.len().mean():.1f} words on average")
