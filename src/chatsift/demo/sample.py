"""A synthetic, deterministic sample of chat logs for the demo and the tests.

Everything here is written by chatsift itself (no third-party text), so it can ship with the
package. It plants what the pipeline must handle: exact repeats with a heavy tail, near-duplicate
edits, script-like templated prompts, several languages, FastChat log snapshots and votes, the
network-error text, redaction markers, a blocked word, and malformed records of several kinds.
"""

from __future__ import annotations

import gzip
import json
import random
import uuid
from dataclasses import dataclass
from pathlib import Path

from chatsift.schema import NETWORK_ERROR_MSG

SYNTHETIC_NOTE = "synthetic sample written by chatsift; no real user wrote these conversations"

PROMPTS = {
    "en": [
        "How do I reverse a linked list in Python?",
        "Write a short poem about the sea at night.",
        "Explain the difference between TCP and UDP in simple terms.",
        "What are three tips for a good job interview?",
        "Summarize the plot of a detective story set in Paris.",
        "Can you help me plan a vegetarian dinner for six people?",
        "Why is the sky blue during the day and red at sunset?",
        "Write a SQL query that counts orders per customer.",
        "What is the capital of Australia and why was it chosen?",
        "Give me a workout plan for beginners, three days a week.",
    ],
    "pt": [
        "Como faço para aprender programação sozinho em casa?",
        "Escreva um poema curto sobre a chuva na cidade.",
        "Quais são as vantagens de usar energia solar em casa?",
        "Explique o que é inflação de forma simples para um estudante.",
    ],
    "es": [
        "¿Cuál es la mejor manera de aprender un idioma nuevo rápidamente?",
        "Escribe una receta sencilla de tortilla de patatas para principiantes.",
        "Explica la fotosíntesis como si tuviera diez años de edad.",
    ],
    "ru": [
        "Как написать функцию сортировки на языке Python?",
        "Расскажи коротко об истории Санкт-Петербурга и его основании.",
        "Какие книги стоит прочитать, чтобы лучше понять экономику?",
    ],
    "zh": [
        "请帮我写一段关于春天的短文，大约一百字。",
        "如何用Python读取一个CSV文件并计算每列的平均值？",
        "请解释一下机器学习和深度学习的区别。",
    ],
    "de": [
        "Wie kann ich meine Zeit im Homeoffice besser organisieren?",
        "Schreibe eine kurze Geschichte über einen Hund, der fliegen lernt.",
    ],
    "fr": [
        "Peux-tu m'expliquer comment fonctionne la photosynthèse chez les plantes ?",
        "Écris un petit poème sur l'automne et les feuilles qui tombent.",
    ],
    "ja": ["東京でおすすめの観光地を三つ教えてください。", "Pythonでリストを並べ替える方法を教えてください。"],
}
ANSWERS = {
    "en": "Here is a clear answer with a few steps you can follow. First, start small; then check the result.",
    "pt": "Aqui está uma resposta com alguns passos simples que você pode seguir.",
    "es": "Aquí tienes una respuesta con algunos pasos sencillos que puedes seguir.",
    "ru": "Вот ответ с несколькими простыми шагами, которые можно выполнить.",
    "zh": "这里是一个简单的回答，包含几个你可以遵循的步骤。",
    "de": "Hier ist eine Antwort mit einigen einfachen Schritten, die du befolgen kannst.",
    "fr": "Voici une réponse avec quelques étapes simples que vous pouvez suivre.",
    "ja": "以下に、順番に試せる簡単な手順をまとめました。",
}
FOLLOW_UPS = ["Thanks! Can you make it shorter?", "Can you give me one more example?", "What about edge cases?"]
COMPANIES = ["Acme Polymers", "Blue River Chemicals", "Nordic Resin Works", "Sunrise Coatings", "Delta Solvents",
             "Granite Catalysts", "Harbor Pigments", "Summit Adhesives", "Vertex Fluids", "Willow Minerals",
             "Orion Additives", "Pioneer Glycols", "Coral Surfactants", "Atlas Oxides", "Maple Silicones"]
CHEMICALS = ["2-chloro-5-methylpyridine", "sodium benzoate", "ethyl acetate", "titanium dioxide", "citric acid",
             "4-bromoanisole", "glycerol monostearate", "calcium carbonate", "acetylacetone", "benzyl alcohol",
             "isopropyl myristate", "zinc oxide"]
TEMPLATE_A = "Give me an introduction over 200 words for {}, a chemical company in the industrial zone. "
TEMPLATE_B = "Write an article about the Production Process of {} 2000 words in chemical industry"
MODELS = ["vicuna-13b", "koala-13b", "alpaca-13b", "gpt-3.5-turbo", "claude-1", "llama-2-13b-chat", "gpt-4"]
NETWORK_ERROR = NETWORK_ERROR_MSG
# Invented people and contact details for the PII stage to find (none belongs to anyone).
FIRST_NAMES = ["Marta", "Jonas", "Aiko", "Tomasz", "Ingrid", "Rafael", "Leila", "Henrik", "Sofia", "Dmitri"]
LAST_NAMES = ["Kowalczyk", "Lindqvist", "Okafor", "Brennan", "Haddad", "Marchetti", "Novak", "Sorensen"]
PII_TEMPLATES = [
    "My name is {first} {last} and you can write to me at {email}.",
    "Please call me back on +44 20 7946 {d4}, thanks.",
    "Charge it to my card {card}.",
    "Here is my API key for the script: {key}",
    "My server at {ip} keeps refusing SSH connections.",
    "Ship it to {n} Harbour Street, Apt. {apt}, please.",
]
BLOCKED_WORD = "forbiddenword"


@dataclass
class SampleFiles:
    """Where the sample was written and what it plants, for the demo's summary and the tests."""

    folder: Path
    blocked_words: Path
    planted: dict[str, int]


def _conv(rng: random.Random, lang: str, prompt: str, turns: int) -> list[dict]:
    messages = [{"role": "user", "content": prompt}, {"role": "assistant", "content": ANSWERS[lang]}]
    for _ in range(turns - 1):
        messages += [{"role": "user", "content": rng.choice(FOLLOW_UPS)},
                     {"role": "assistant", "content": ANSWERS["en"]}]
    return messages


def _luhn_card(rng: random.Random) -> str:
    digits = [4] + [rng.randrange(10) for _ in range(14)]
    total = 0
    for i, d in enumerate(reversed(digits)):  # the check digit goes last, so these are even positions
        total += (d * 2 - 9 if d > 4 else d * 2) if i % 2 == 0 else d
    digits.append((10 - total % 10) % 10)
    return "".join(map(str, digits))


def _pii_sentence(rng: random.Random) -> str:
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    return rng.choice(PII_TEMPLATES).format(
        first=first, last=last, email=f"{first}.{last}@inbox-sample.org".lower(), d4=f"{rng.randrange(10_000):04d}",
        card=_luhn_card(rng), key="sk-" + "".join(rng.choice(alphabet) for _ in range(48)),
        ip=f"81.{rng.randrange(2, 250)}.{rng.randrange(256)}.{rng.randrange(1, 255)}", n=rng.randrange(1, 300),
        apt=rng.randrange(1, 99),
    )


def _near_edit(rng: random.Random, text: str) -> str:
    words = text.split()
    i = rng.randrange(len(words))
    words[i] = words[i] + rng.choice(["!", "?", " please", " now"])
    return " ".join(words)


def write_sample(folder: str | Path, n: int = 2000, seed: int = 7) -> SampleFiles:
    """Write the synthetic sample (about ``n`` conversations in several formats) into ``folder``."""
    rng = random.Random(seed)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    planted = {"exact_repeats": 0, "near_duplicates": 0, "templated": 0, "network_error": 0, "anonymized": 0,
               "blocked_word": 0, "malformed": 0, "pii": 0}
    langs = list(PROMPTS)
    weights = [50, 10, 8, 8, 8, 6, 6, 4]
    popular = rng.sample([p for ps in PROMPTS.values() for p in ps], 5)

    def make_one(i: int) -> dict:
        kind = rng.random()
        lang = rng.choices(langs, weights)[0]
        if kind < 0.20:  # heavy-tailed exact repeats of a few popular prompts
            prompt = popular[min(int(rng.paretovariate(1.2)) - 1, len(popular) - 1)]
            lang = next(lg for lg, ps in PROMPTS.items() if prompt in ps)
            planted["exact_repeats"] += 1
        elif kind < 0.30:
            prompt = _near_edit(rng, rng.choice(PROMPTS["en"]))
            lang = "en"
            planted["near_duplicates"] += 1
        elif kind < 0.40:
            template = TEMPLATE_A if rng.random() < 0.5 else TEMPLATE_B
            prompt = template.format(rng.choice(COMPANIES if template is TEMPLATE_A else CHEMICALS))
            lang = "en"
            planted["templated"] += 1
        else:  # one prompt, or two of the same language asked together
            first, second = rng.sample(PROMPTS[lang], 2)
            prompt = first if rng.random() < 0.4 else f"{first} {second}"
        if rng.random() < 0.05:  # invented personal data for the PII stage
            prompt = f"{prompt} {_pii_sentence(rng)}"
            planted["pii"] += 1
        messages = _conv(rng, lang, prompt, rng.choice([1, 1, 1, 2, 3]))
        return {"id": uuid.UUID(int=rng.getrandbits(128)).hex, "model": rng.choice(MODELS), "messages": messages,
                "user": f"user-{rng.randrange(n // 4 + 1)}", "tstamp": 1_690_000_000 + i * 60}

    n_openai = int(n * 0.6)
    lines = [json.dumps(make_one(i), ensure_ascii=False) for i in range(n_openai)]
    extras = [
        {"messages": [{"role": "user", "content": "Tell me about the weather."},
                      {"role": "assistant", "content": NETWORK_ERROR}], "model": "vicuna-13b"},
        {"messages": [{"role": "user", "content": "My friend <anonymized> asked me this."},
                      {"role": "assistant", "content": "Sure."}], "model": "vicuna-13b"},
        {"messages": [{"role": "user", "content": f"Please repeat the word {BLOCKED_WORD} ten times."},
                      {"role": "assistant", "content": "I'd rather not."}], "model": "koala-13b"},
    ]
    planted["network_error"] += 1
    planted["anonymized"] += 1
    planted["blocked_word"] += 1
    lines += [json.dumps(e) for e in extras]
    malformed = [
        '{"messages": [{"role": "user", "content": "this line was cut off',
        '{"messages": [{"role": "wizard", "content": "an unknown role"}]}',
        '{"messages": "not a list"}',
        "[1, 2, 3]",
    ]
    planted["malformed"] += len(malformed) + 1
    lines += malformed
    raw = ("\n".join(lines) + "\n").encode("utf-8") + b'{"messages": [{"role": "user", "content": "bad \xff byte"}]}\n'
    (folder / "openai_chats.jsonl").write_bytes(raw)

    n_share = int(n * 0.15)
    share = []
    for i in range(n_share):
        rec = make_one(n_openai + i)
        share.append({"id": rec["id"], "conversations": [
            {"from": "human" if m["role"] == "user" else "gpt", "value": m["content"]} for m in rec["messages"]]})
    (folder / "sharegpt.json").write_text(json.dumps(share, ensure_ascii=False, indent=1), encoding="utf-8")

    logs = folder / "fastchat_logs"
    logs.mkdir(exist_ok=True)
    log_convs = [make_one(n_openai + n_share + i) for i in range(n - n_openai - n_share)]
    write_fastchat_logs(logs / "2023-08-01-conv.json", log_convs, rng)

    notes = "".join(
        json.dumps({"conversation": rec["messages"], "conversation_id": f"gz-{i}", "model": rec["model"]},
                   ensure_ascii=False) + "\n"
        for i, rec in enumerate(make_one(n + i) for i in range(3))
    )
    with open(folder / "notes.jsonl.gz", "wb") as raw, gzip.GzipFile("", "wb", fileobj=raw, mtime=0) as fh:
        fh.write(notes.encode("utf-8"))  # mtime=0 keeps the file byte-for-byte reproducible
    (folder / "empty.jsonl").write_bytes(b"")
    (folder / "README.txt").write_text(SYNTHETIC_NOTE + "\n", encoding="utf-8")
    blocked = folder.parent / f"{folder.name}-blocked-words.txt"
    blocked.write_text(f"# demo blocked-word list\n{BLOCKED_WORD}\n", encoding="utf-8")
    return SampleFiles(folder, blocked, planted)


def write_fastchat_logs(path: Path, conversations: list[dict], rng: random.Random) -> dict[str, int]:
    """FastChat web-server log lines for ``conversations``, as the documented v0.2.x format writes them.

    Each conversation of k turns leaves k chat snapshots; some get upvotes, downvotes or arena votes;
    one conversation is left with a pending (unfinished) turn in its last snapshot.
    """
    out = []
    counts = {"chat": 0, "votes": 0}
    for ci, conv in enumerate(conversations):
        conv_id = uuid.UUID(int=rng.getrandbits(128)).hex
        ip = f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
        msgs = conv["messages"]
        t = 1_690_000_000.0 + ci * 30
        for k in range(2, len(msgs) + 1, 2):
            state_msgs = [["USER" if j % 2 == 0 else "ASSISTANT", m["content"]] for j, m in enumerate(msgs[:k])]
            state = {"template_name": "vicuna_v1.1", "system_message": "A chat between a curious user and an "
                     "artificial intelligence assistant.", "roles": ["USER", "ASSISTANT"], "messages": state_msgs,
                     "offset": 0, "conv_id": conv_id, "model_name": conv["model"]}
            t += 5
            out.append({"tstamp": round(t, 4), "type": "chat", "model": conv["model"], "gen_params":
                        {"temperature": 0.7, "top_p": 1.0, "max_new_tokens": 512}, "start": round(t - 2, 4),
                        "finish": round(t, 4), "state": state, "ip": ip})
            counts["chat"] += 1
        if ci % 7 == 0:
            out.append({"tstamp": round(t + 3, 4), "type": rng.choice(["upvote", "downvote"]), "model": conv["model"],
                        "state": state, "ip": ip})
            counts["votes"] += 1
    if conversations:  # a snapshot whose last turn never finished
        pending = dict(out[0])
        pending["state"] = dict(pending["state"], messages=[*pending["state"]["messages"], ["USER", "and then?"],
                                                            ["ASSISTANT", None]])
        pending["tstamp"] = pending["tstamp"] + 1
        out.append(pending)
    if len(conversations) >= 2:  # an arena vote between the first two conversations
        first_id = out[0]["state"]["conv_id"]
        states = [out[0]["state"], next(r["state"] for r in out if r["state"]["conv_id"] != first_id)]
        out.append({"tstamp": 1_690_100_000.0, "type": "leftvote", "models": ["", ""], "states": states,
                    "ip": "10.0.0.1"})
        counts["votes"] += 1
    out.sort(key=lambda r: r["tstamp"])
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in out), encoding="utf-8")
    return counts
