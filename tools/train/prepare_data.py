"""Flatten the World Factbook JSON profiles into plain-text documents.

One document per profile file (country, territory, ocean, "World"):

    Austria
    Introduction
    Background: Once the center of power ...
    Geography
    Area, total: 83,871 sq km

Documents are separated by one blank line and contain none themselves, so a reader can
split them back. Every 12th profile (sorted by path, offset 6) is held out, about 8% of
the documents, deterministically. Normalisation is light: the converter's " ++ "
paragraph marks become newlines and runs of whitespace within a line become one space.
"""
import glob
import json
import os
import re
import sys

HOLDOUT_EVERY, HOLDOUT_OFFSET = 12, 6


def clean(text):
    lines = (re.sub(r"\s+", " ", line).strip() for line in text.replace("++", "\n").split("\n"))
    return "\n".join(line for line in lines if line)


def leaves(node, path):
    """Yield (path, text) for every {"text": ...} leaf, in file order."""
    for key, value in node.items():
        if key == "text" and isinstance(value, str):
            yield path, value
        elif isinstance(value, dict):
            yield from leaves(value, path + [key])


def title(profile, fallback):
    names = profile.get("Government", {}).get("Country name", {})
    for form in ("conventional short form", "conventional long form"):
        name = clean(names.get(form, {}).get("text", ""))
        if name and name.lower() != "none":
            return name
    return fallback


def document(path):
    with open(path, encoding="utf-8") as f:
        profile = json.load(f)
    out = [title(profile, os.path.splitext(os.path.basename(path))[0])]
    for section, fields in profile.items():
        if not isinstance(fields, dict):
            continue
        body = []
        for keys, text in leaves(fields, []):
            text = clean(text)
            if text:
                body.append(f"{', '.join(keys)}: {text}" if keys else text)
        if body:
            out.append(section)
            out.extend(body)
    return "\n".join(out) if len(out) > 1 else None


def main(package_dir, out_dir):
    files = sorted(glob.glob(os.path.join(package_dir, "*", "*.json")))
    files = [f for f in files if os.path.basename(os.path.dirname(f)) != "meta"]
    train, held, used = [], [], []
    for f in files:
        doc = document(f)
        if doc is None:
            continue
        rel = os.path.relpath(f, package_dir)
        is_held = len(used) % HOLDOUT_EVERY == HOLDOUT_OFFSET
        (held if is_held else train).append(doc)
        used.append(("heldout " if is_held else "train   ") + rel)
    for name, docs in (("train.txt", train), ("heldout.txt", held)):
        with open(os.path.join(out_dir, name), "w", encoding="utf-8") as f:
            f.write("\n\n".join(docs) + "\n")
    with open(os.path.join(out_dir, "files.txt"), "w") as f:
        f.write("\n".join(used) + "\n")
    for name, docs in (("train", train), ("heldout", held)):
        size = sum(len(d.encode("utf-8")) for d in docs)
        print(f"{name}: {len(docs)} documents, {size} bytes")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
