#!/usr/bin/env python3
"""Renders chat templates with Python's Jinja2 the way Hugging Face's
apply_chat_template does (ImmutableSandboxedEnvironment, trim_blocks,
lstrip_blocks, the loopcontrols extension, its tojson, raise_exception and
strftime_now globals; tools=None), for a reference independent of Tessera's
interpreter. Writes jinja2_cases.json:

  python3 render_with_jinja2.py > jinja2_cases.json

Inputs: models/*.jinja (templates as llama.cpp c392e509 ships them in
models/templates/, taken from the models' tokenizer configs) and the templates
of llamacpp_cases.json. As llama.cpp does, a template that does not show a
system message gets the system text folded into the next user message
("system\\nuser"). strftime_now reads a fixed time, NOW_UTC (12:00 UTC, so any
time zone within 11 hours gives the same date)."""
import datetime
import json
import os
import sys

import jinja2
import jinja2.ext
import jinja2.sandbox

NOW_UTC = datetime.datetime(2024, 7, 26, 12, 0, 0, tzinfo=datetime.timezone.utc)
HERE = os.path.dirname(os.path.abspath(__file__))

# bos_token, eos_token of each model (its tokenizer_config.json special tokens).
MODEL_TOKENS = {
    "HuggingFaceH4-zephyr-7b-beta": ("<s>", "</s>"),
    "CohereForAI-c4ai-command-r-plus-tool_use": ("<BOS_TOKEN>", "<|END_OF_TURN_TOKEN|>"),
    "CohereForAI-c4ai-command-r7b-12-2024-tool_use": ("<BOS_TOKEN>", "<|END_OF_TURN_TOKEN|>"),
    "NousResearch-Hermes-2-Pro-Llama-3-8B-tool_use": ("<|begin_of_text|>", "<|im_end|>"),
    "NousResearch-Hermes-3-Llama-3.1-8B-tool_use": ("<|begin_of_text|>", "<|im_end|>"),
    "Qwen-Qwen2.5-7B-Instruct": ("", "<|im_end|>"),
    "deepseek-ai-DeepSeek-R1-Distill-Llama-8B": ("<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>"),
    "deepseek-ai-DeepSeek-R1-Distill-Qwen-32B": ("<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>"),
    "fireworks-ai-llama-3-firefunction-v2": ("<|begin_of_text|>", "<|eot_id|>"),
    "google-gemma-2-2b-it": ("<bos>", "<eos>"),
    "meetkai-functionary-medium-v3.1": ("<|begin_of_text|>", "<|eot_id|>"),
    "meetkai-functionary-medium-v3.2": ("<|begin_of_text|>", "<|eot_id|>"),
    "meta-llama-Llama-2-7b-chat-hf": ("<s>", "</s>"),
    "meta-llama-Llama-3.1-8B-Instruct": ("<|begin_of_text|>", "<|eot_id|>"),
    "meta-llama-Llama-3.2-3B-Instruct": ("<|begin_of_text|>", "<|eot_id|>"),
    "meta-llama-Llama-3.3-70B-Instruct": ("<|begin_of_text|>", "<|eot_id|>"),
    "microsoft-Phi-3.5-mini-instruct": ("<s>", "<|endoftext|>"),
    "mistralai-Mistral-Nemo-Instruct-2407": ("<s>", "</s>"),
}


def environment():
    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    def strftime_now(fmt):
        return NOW_UTC.astimezone().strftime(fmt)

    env = jinja2.sandbox.ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                                       extensions=[jinja2.ext.loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


def render(env, source, messages, add_generation_prompt, bos, eos):
    return env.from_string(source).render(messages=messages, tools=None, add_generation_prompt=add_generation_prompt,
                                          bos_token=bos, eos_token=eos)


def shows_system(env, source, bos, eos):
    probe = [{"role": "system", "content": "<System Needle>"}, {"role": "user", "content": "<User Needle>"}]
    try:
        return "<System Needle>" in render(env, source, probe, False, bos, eos)
    except Exception:
        return False


def fold_system(messages):
    out, pending = [], ""
    for m in messages:
        if m["role"] == "system":
            pending += ("\n" if pending else "") + m["content"]
        elif m["role"] == "user" and pending:
            out.append({"role": "user", "content": pending + ("\n" + m["content"] if m["content"] else "")})
            pending = ""
        else:
            if pending:
                out.append({"role": "user", "content": pending})
                pending = ""
            out.append(m)
    if pending:
        out.append({"role": "user", "content": pending})
    return out


def main():
    env = environment()
    llama = json.load(open(os.path.join(HERE, "llamacpp_cases.json"), encoding="utf-8"))
    conversation = [{"role": r, "content": c} for r, c in llama["conversation"]]
    inputs = []
    for name in sorted(MODEL_TOKENS):
        with open(os.path.join(HERE, "models", name + ".jinja"), encoding="utf-8") as f:
            inputs.append(("models/" + name + ".jinja", None, f.read(), *MODEL_TOKENS[name]))
    for i, case in enumerate(llama["cases"]):
        inputs.append((f"llamacpp_cases.json#{i}", case["name"], case["template"], case["bos_token"], case["eos_token"]))
    cases = []
    for where, name, source, bos, eos in inputs:
        folded = not shows_system(env, source, bos, eos)
        for add in (True, False):
            messages = fold_system(conversation) if folded else conversation
            case = {"template": where, "name": name or where, "bos_token": bos, "eos_token": eos,
                    "add_generation_prompt": add, "system_folded": folded}
            try:
                case["expected"] = render(env, source, messages, add, bos, eos)
            except Exception as e:  # the template refuses the conversation
                case["error"] = f"{type(e).__name__}: {e}"
            cases.append(case)
    json.dump({"renderer": f"Jinja2 {jinja2.__version__} (Python {sys.version.split()[0]}), as Hugging Face's apply_chat_template",
               "now_utc": NOW_UTC.isoformat(), "conversation": llama["conversation"], "cases": cases},
              sys.stdout, ensure_ascii=False, indent=1)
    sys.stdout.write("\n")


main()
