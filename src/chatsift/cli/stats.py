"""``chatsift stats``: the paper's Tables 1, 2 and 4 for a release, with distributions."""

from __future__ import annotations

import json

import click

from chatsift.analysis.textable import table
from chatsift.moderation.trust import trust_lines


def render_stats(s: dict) -> str:
    t1 = [s["table1"], *s["paper_table1"]]
    cols = ["dataset", "conversations", "models", "users", "languages", "mean_turns", "prompt_tokens",
            "response_tokens"]
    parts = [f"Table 1 (tokens: {s['tokenizer']}; paper rows: Llama-2 tokenizer)",
             table(["dataset", "#convs", "#models", "#users", "#langs", "turns/conv", "tokens/prompt",
                    "tokens/response"], [[r.get(c) for c in cols] for r in t1])]
    mod = s["moderation"]
    if "table2" in mod:
        cats = list(mod["table2"])
        trust = trust_lines(mod.get("trust"))
        parts += ["", "Table 2: flagged conversations by category",
                  table(["", *cats], [["this release", *mod["table2"].values()],
                                      ["LMSYS-Chat-1M (paper, OpenAI API)",
                                       *(mod["paper_table2"][c] for c in cats)]]),
                  *(["", *trust] if trust else []),
                  "", "Table 4: jailbreak attempts (a user message flagged) and successes (an attempt with an "
                      "assistant message flagged), by model; `chatsift safety mine` has categories and CIs",
                  table(["model", "conversations", "attempts", "successes", "success %"],
                        [[r["model"], r["conversations"], r["jailbreak_attempts"], r["jailbreak_successes"],
                          None if r["success_rate"] is None else 100 * r["success_rate"]]
                         for r in mod["table4"][:25]])]
    else:
        parts += ["", "Tables 2 and 4: no openai_moderation tags in this release"]
    n = max(s["table1"]["conversations"], 1)
    parts += ["", "Conversations per model",
              table(["model", "conversations", "share %"],
                    [[m, c, 100 * c / n] for m, c in s["models"].items()][:30]),
              "", f"Top {len(s['languages_top'])} languages",
              table(["language", "conversations", "share %"],
                    [[m, c, 100 * c / n] for m, c in s["languages_top"].items()]),
              "", "Turns per conversation",
              table(["turns", "conversations"], [[t, c] for t, c in list(s["turns"].items())[:20]])]
    if s.get("daily"):
        days = list(s["daily"].items())
        parts += ["", f"Daily volume: {len(days)} days, {days[0][0]} to {days[-1][0]}, busiest "
                      f"{max(days, key=lambda d: d[1])[0]} ({max(c for _, c in days):,})"]
    d = s.get("duplicates")
    if d:
        parts += ["", "Duplicates and templates",
                  table(["measure", "value"], [
                      ["exact groups (distinct prompts)", d["exact_groups"]],
                      ["share with an exact duplicate", f"{100 * d['share_in_exact_duplicates']:.1f}%"],
                      ["share in near-duplicate clusters", f"{100 * d['share_in_near_duplicates']:.1f}%"],
                      ["template groups", d["templates"]],
                      ["share in template groups", f"{100 * d['share_in_templates']:.1f}%"],
                      ["largest exact groups", ", ".join(f"{x:,}" for x in d["largest_exact_groups"][:5])]])]
    tools = s.get("tools")
    if tools and tools["conversations_with_events"]:
        rows = [["conversations with tool calls", tools["conversations_with_tool_calls"]],
                ["conversations with any tool event", tools["conversations_with_events"]]]
        rows += [[f"events: {kind}", n] for kind, n in tools["events"].items()]
        rows += [[f"tool: {name}", n] for name, n in tools["top_tools"].items()]
        parts += ["", "Tool use (tools.events)", table(["measure", "value"], rows)]
    return "\n".join(parts)


@click.command("stats")
@click.argument("release", type=click.Path(exists=True, file_okay=False))
@click.option("--tokenizer", default="approx", show_default=True,
              help="approx (offline, in DuckDB), minilm (bundled WordPiece) or hf:NAME (hf:lmsys/vicuna-7b-v1.5 "
                   "reproduces the paper's Llama-2 counts).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--top-languages", default=25, show_default=True)
def stats_command(release: str, tokenizer: str, as_json: bool, top_languages: int) -> None:
    """Table 1, Table 2 and Table 4 of the paper for RELEASE, beside the paper's rows, and distributions."""
    from chatsift.analysis.stats import compute_stats

    s = compute_stats(release, tokenizer=tokenizer, top_languages=top_languages)
    click.echo(json.dumps(s, indent=2, ensure_ascii=False, default=str) if as_json else render_stats(s))
