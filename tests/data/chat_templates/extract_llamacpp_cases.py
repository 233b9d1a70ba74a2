#!/usr/bin/env python3
"""Extracts the chat-template test cases of llama.cpp's tests/test-chat-template.cpp
(the template texts, which come from the models' tokenizer configs, and the
strings llama.cpp expects) into llamacpp_cases.json.

  python3 extract_llamacpp_cases.py /work/peers/llama.cpp > llamacpp_cases.json

Reads the C++ source as text; nothing of llama.cpp is built or run."""
import json
import re
import subprocess
import sys

FIELDS = ["name", "template", "expected_output", "expected_output_jinja", "bos_token", "eos_token", "supported_with_jinja"]
ESCAPES = {"n": "\n", "t": "\t", "\\": "\\", '"': '"', "'": "'", "r": "\r"}


def tokens(src):
    i = 0
    while i < len(src):
        c = src[i]
        if src.startswith("/*", i):
            i = src.index("*/", i) + 2
        elif src.startswith("//", i):
            i = src.index("\n", i)
        elif c.isspace():
            i += 1
        elif c == '"' or src.startswith('u8"', i):
            i += 3 if c == "u" else 1
            out = []
            while src[i] != '"':
                if src[i] == "\\":
                    out.append(ESCAPES[src[i + 1]])
                    i += 2
                else:
                    out.append(src[i])
                    i += 1
            i += 1
            yield ("str", "".join(out))
        elif src.startswith("true", i) or src.startswith("false", i):
            word = "true" if src.startswith("true", i) else "false"
            i += len(word)
            yield ("bool", word == "true")
        elif c in "{},":
            i += 1
            yield (c, c)
        else:
            raise SystemExit(f"unexpected {src[i:i + 30]!r}")


def main():
    root = sys.argv[1]
    path = root + "/tests/test-chat-template.cpp"
    src = open(path, encoding="utf-8").read()
    block = src[src.index("std::vector<TestCase> test_cases {") :]
    block = block[block.index("{") + 1 : block.index("\n    };")]
    cases, fields, depth, pending = [], [], 0, None
    for kind, value in tokens(block):
        if kind == "{":
            depth, fields = depth + 1, []
        elif kind == "}":
            if pending is not None:
                fields.append(pending)
                pending = None
            case = dict(zip(FIELDS, fields))
            case.setdefault("bos_token", "")
            case.setdefault("eos_token", "")
            case.setdefault("supported_with_jinja", True)
            cases.append(case)
            depth -= 1
        elif kind == ",":
            if pending is not None:
                fields.append(pending)
                pending = None
        elif kind == "str":
            pending = value if pending is None else pending + value  # adjacent literals join
        else:
            pending = value
    commit = subprocess.run(["git", "-C", root, "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    json.dump({"source": f"llama.cpp {commit} tests/test-chat-template.cpp",
               "conversation": [["system", "You are a helpful assistant"], ["user", "Hello"], ["assistant", "Hi there"],
                                ["user", "Who are you"], ["assistant", "   I am an assistant   "],
                                ["user", "Another question"]],
               "add_generation_prompt": True,
               "cases": cases}, sys.stdout, ensure_ascii=False, indent=1)
    sys.stdout.write("\n")


main()
