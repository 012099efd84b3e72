"""PII redaction: validators, secrets, names, numbering, adversarial input, and the measured figures."""

from __future__ import annotations

import json
import random
import signal
import string

import pytest
from conftest import SHARED_DATA, assert_reconciles, read_quarantine, read_release, run_curate
from hypothesis import given, settings
from hypothesis import strategies as st

from chatsift.privacy.redactor import WITHHELD, Redactor
from chatsift.privacy.structured import iban_ok, ip_is_personal, luhn_ok


@pytest.fixture(scope="module")
def redactor() -> Redactor:
    return Redactor()


def kinds(redactor, text):
    return [(s.kind, s.value) for s in redactor.find(text)]


def test_validators():
    assert luhn_ok("4539578763621486") and not luhn_ok("4539578763621487")
    assert iban_ok("GB82WEST12345698765432") and not iban_ok("GB82WEST12345698765433")
    assert ip_is_personal("81.2.69.160")
    for ip in ("10.0.0.1", "192.168.1.20", "127.0.0.1", "203.0.113.5", "8.8.8.8", "0.0.0.0", "255.255.255.0"):
        assert not ip_is_personal(ip), ip


@pytest.mark.parametrize(("text", "expected"), [
    ("Reach me at anna.kowalska@poczta-domowa.pl today", [("email", "anna.kowalska@poczta-domowa.pl")]),
    ("card 4539 5787 6362 1486 expires soon", [("credit_card", "4539 5787 6362 1486")]),
    ("IBAN GB82 WEST 1234 5698 7654 32 please", [("iban", "GB82 WEST 1234 5698 7654 32")]),
    ("my ssn: 123-45-6789", [("ssn", "123-45-6789")]),
    ("the VPN exits at 81.2.69.160 now", [("ip_address", "81.2.69.160")]),
    ("call +1 (415) 555-0132 after six", [("phone", "+1 (415) 555-0132")]),
    ("Mobile: 0487 98 11 92", [("phone", "0487 98 11 92")]),
])
def test_structured_kinds(redactor, text, expected):
    assert kinds(redactor, text) == expected


@pytest.mark.parametrize("text", [
    "Use the test card 4242 4242 4242 4242 in Stripe's sandbox.",
    "Send it to user@example.com or admin@localhost.",
    "id = 123e4567-e89b-12d3-a456-426614174000",
    "sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "Upgrade from version 10.0.19041.1234 to 2.7.18, build 20230415.",
    "Listen on 127.0.0.1:8080 or 0.0.0.0 and http://localhost:3000",
    "The result is 1,196,552.05 after 120 months; that is 0.998638 per step.",
    "for i in range(1000000): total += i * 3.14159265",
    "git commit 4b825dc642cb6eb9a060e54bf8d69288fbee4904",
    "Dates: 2023-10-15, 15.10.2023 and 10/15/2023 at 12:30:45.",
])
def test_technical_text_is_not_shredded(redactor, text):
    assert kinds(redactor, text) == []


def _rand(n, alphabet=string.ascii_letters + string.digits, seed=0):
    rng = random.Random(seed + n)
    return "".join(rng.choice(alphabet) for _ in range(n))


@pytest.mark.parametrize("secret", [
    "sk-" + _rand(48),
    "sk-proj-" + _rand(64, string.ascii_letters + string.digits + "_-"),
    "sk-proj-" + _rand(24),  # a short project key
    "glpat-" + _rand(20, string.ascii_letters + string.digits + "_-"),  # GitLab personal access token
    "sk-ant-api03-" + _rand(95, string.ascii_letters + string.digits + "_-"),
    "AKIA" + _rand(16, string.ascii_uppercase + string.digits),
    "ghp_" + _rand(36),
    "xoxb-" + "1234567890-" + _rand(24),
    "AIza" + _rand(35),
    "123456789:AA" + _rand(33),
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
])
def test_key_formats(redactor, secret):
    assert kinds(redactor, f"here you go: {secret} (keep it safe)") == [("secret", secret)]


def test_private_keys_passwords_and_credentialed_urls(redactor):
    pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA7\nabc\n-----END RSA PRIVATE KEY-----"
    assert kinds(redactor, f"key:\n{pem}\nthanks") == [("secret", pem)]
    assert kinds(redactor, 'DB_PASSWORD = "Zq7!mR2#vL9x"') == [("secret", "Zq7!mR2#vL9x")]
    assert kinds(redactor, "password = os.environ['DB_PASSWORD']") == []
    assert kinds(redactor, 'password="your_password_here"') == []
    assert kinds(redactor, "postgres://admin:S3cr3tPa55@db.acme-internal.net:5432/prod")[0][0] == "url"
    assert kinds(redactor, "https://api.weather-co.io/v1?city=Oslo&api_key=" + _rand(32))[0][0] == "url"
    assert kinds(redactor, "https://example.com/?api_key=YOUR_API_KEY") == []
    assert kinds(redactor, "an invalid eyJhbGciOi.eyJzdWIiOiIx.abcdefghijk token") == []


@pytest.mark.parametrize("text, value", [
    ("password: MyTestPass99x", "MyTestPass99x"),  # "test" and "pass" inside a real password prove nothing
    ("DB_PASSWORD=Gr8$Summer2024", "Gr8$Summer2024"),
    ("admin password: admin123", "admin123"),
    ("SECRET_KEY = 'Secret-4-prod!'", "Secret-4-prod!"),
])
def test_weak_real_passwords_are_not_taken_for_placeholders(redactor, text, value):
    assert kinds(redactor, text) == [("secret", value)]


@pytest.mark.parametrize("url", ["postgres://app:S3cr3tPw!@localhost:5432/db", "redis://:Hk29sLq0@cache.internal:6379",
                                 "mysql://root:Tr0ub4dor&3@10.0.0.7/app"])
def test_credentials_on_local_and_internal_hosts_are_secrets(redactor, url):
    assert kinds(redactor, f"connect with {url} please") == [("url", url)]


@pytest.mark.parametrize("text", ['token: "${GITHUB_TOKEN}"', "password = %DB_PASS%", "api_key=<your key>",
                                  "password: changeme", "postgres://user:pass@localhost/db", "pwd = password"])
def test_stand_ins_stay(redactor, text):
    assert kinds(redactor, text) == []


def test_names_numbered_per_conversation(redactor):
    result = redactor.redact([
        "Hi, I'm Marta Kowalczyk and my colleague is Jonas Lindqvist.",
        "Marta here again: Jonas said the file is ready. Email marta.k@inbox-sample.org",
        "Thanks Marta! Write to marta.k@inbox-sample.org anytime.",
    ])
    assert result.texts[0] == "Hi, I'm NAME_1 and my colleague is NAME_2."
    assert result.texts[1] == "NAME_1 here again: NAME_2 said the file is ready. Email EMAIL_1"
    assert result.texts[2] == "Thanks NAME_1! Write to EMAIL_1 anytime."
    assert result.counts["name"] == 5 and result.counts["email"] == 2
    assert {(s["message"], s["placeholder"]) for s in result.spans} >= {(0, "NAME_1"), (2, "EMAIL_1")}


@pytest.mark.parametrize("text", [
    "Estimate pi with the Monte Carlo method, then run Monte Carlo simulations.",
    "The Calvin cycle takes place in the stroma; the Lewis structure for water has two lone pairs.",
    "According to Kepler's third law, the period grows with the orbit. Minkowski's bound is 1.49.",
    'Create a game about "The Mona Lisa" by Leonardo da Vinci.',
    "Your Arduino code looks good.",
    "This is a significant expense for the city of Vega.",
    "Politeness is very important in Japanese culture.",
    "The thought of taking public transit with all those strangers is scary.",
])
def test_things_named_like_people_are_kept(redactor, text):
    assert [value for kind, value in kinds(redactor, text) if kind == "name"] in ([], ["Leonardo da Vinci"])


@pytest.mark.parametrize(("text", "name"), [
    ("Jessica's decision was final.", "Jessica"),
    ("Sarah's cat is cute.", "Sarah"),
    ("Contact Jessica, CEO of Acme.", "Jessica"),
    ("I met Niklas Luhmann. The method he used is famous.", "Niklas Luhmann"),
    ("It was painted by Salvador Dalí in 1931.", "Salvador Dalí"),
])
def test_people_next_to_those_rules_are_still_found(redactor, text, name):
    assert ("name", name) in kinds(redactor, text)


@pytest.mark.parametrize(("text", "name"), [
    ("Меня зовут Анна Петрова, я из Казани.", "Анна Петрова"),
    ("Bonjour, je m'appelle Élodie Marchand.", "Élodie Marchand"),
    ("我叫王小明，今年二十岁。", "王小明"),
    ("Hola, me llamo Joaquín Herrera.", "Joaquín Herrera"),
    ("Sehr geehrte Frau Schneider, vielen Dank.", "Schneider"),
])
def test_names_beyond_english(redactor, text, name):
    assert ("name", name) in kinds(redactor, text)


@given(st.text(max_size=400))
@settings(max_examples=200, deadline=None)
def test_no_text_crashes_the_redactor(text):
    result = Redactor(time_budget_s=5).redact([text])
    assert isinstance(result.texts[0], str)


class _Alarm(Exception):
    pass


def _within(seconds, fn):
    """Run fn, failing (not hanging) if it does not return: adversarial input must stay linear."""
    def stop(*_):
        raise _Alarm
    old = signal.signal(signal.SIGALRM, stop)
    signal.alarm(seconds)
    try:
        return fn()
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


@pytest.mark.parametrize("text", [
    "a" * 100_000,
    "1" * 100_000,
    "1 " * 50_000,
    "(" * 50_000 + ")" * 50_000,
    "[" * 30_000 + "x@y" * 1000 + "]" * 30_000,
    ("Ab " * 40_000),
    "a@" * 50_000,
    "https://" + "a:" * 30_000 + "@x",
    "-----BEGIN PRIVATE KEY-----" + "A" * 200_000,
])
def test_adversarial_input_finishes(text):
    result = _within(60, lambda: Redactor(time_budget_s=30).redact([text]))
    assert result.texts[0] is not None


def test_a_5mb_message_is_scanned_or_withheld_never_passed_raw():
    text = ("Contact Marta Kowalczyk at marta@inbox-sample.org. " * 100_000)[:5_000_000]
    result = _within(120, lambda: Redactor(time_budget_s=60).redact([text]))
    assert "marta@inbox-sample.org" not in result.texts[0]
    short = Redactor(time_budget_s=0.05).redact([text, "hello"])
    assert short.timed_out and short.texts[0] == WITHHELD and short.texts[1] == "hello"


def test_timeouts_are_excluded_with_a_reason(tmp_path):
    path = tmp_path / "c.jsonl"
    path.write_text(json.dumps({"messages": [{"role": "user", "content": "Marta Kowalczyk " * 20000}]}) + "\n" +
                    json.dumps({"messages": [{"role": "user", "content": "hi"}]}) + "\n")
    manifest = run_curate([path], tmp_path / "r", **{"pii.time_budget_s": 0.002})
    assert_reconciles(manifest)
    assert manifest["counts"]["excluded"] == {"pii_timeout": 1}
    assert b"Kowalczyk" not in b"".join(p.read_bytes() for p in (tmp_path / "r").rglob("*") if p.is_file())


def test_curated_release_holds_no_planted_pii(tmp_path):
    from chatsift.demo.sample import write_sample

    sample = write_sample(tmp_path / "in", n=800)
    values = set()
    for line in (sample.folder / "openai_chats.jsonl").read_bytes().splitlines():
        try:
            text = json.loads(line)["messages"][0]["content"]
        except (ValueError, KeyError, TypeError):
            continue
        for token in text.replace(",", " ").split():
            if "@inbox-sample.org" in token or token.startswith("sk-") or (token.isdigit() and len(token) == 16):
                values.add(token.rstrip("."))
    assert len(values) > 5
    manifest = run_curate([sample.folder], tmp_path / "r", **{"release.schema": "full"})
    assert sum(manifest["statistics"]["pii_replacements"].values()) > 20
    blob = b"".join(p.read_bytes() for p in (tmp_path / "r").rglob("*") if p.is_file())
    for value in values:
        assert value.encode() not in blob, value
    table = read_release(tmp_path / "r")
    assert any(table.column("redacted").to_pylist())
    spans = [s for row in table.column("pii.spans").to_pylist() for s in row or []]
    assert spans and {"message", "start", "end", "kind", "placeholder"} == set(spans[0])


def test_quarantine_excerpts_are_redacted(tmp_path):
    (tmp_path / "c.jsonl").write_text(
        '{"messages": [{"role": "user", "content": "fine"}]}\n'
        '{"messages": [{"role": "user", "content": "I am Marta Kowalczyk, mail marta.k@inbox-sample.org, card '
        '4539578763621486 and then the line breaks\n')
    run_curate([tmp_path / "c.jsonl"], tmp_path / "r")
    (entry,) = read_quarantine(tmp_path / "r")
    for value in ("Kowalczyk", "4539578763621486", "marta.k@"):
        assert value not in entry["raw"]
    assert "NAME_1" in entry["raw"]


def test_pii_audit_finds_what_an_unredacted_release_holds(tmp_path):
    from click.testing import CliRunner

    from chatsift.cli.main import cli
    from chatsift.demo.sample import write_sample

    sample = write_sample(tmp_path / "in", n=600)
    run_curate([sample.folder], tmp_path / "raw", **{"pii.enabled": False})
    run_curate([sample.folder], tmp_path / "clean")
    raw = CliRunner().invoke(cli, ["pii-audit", str(tmp_path / "raw"), "--json"])
    clean = CliRunner().invoke(cli, ["pii-audit", str(tmp_path / "clean"), "--json", "--fail-above", "0"])
    assert raw.exit_code == 0 and clean.exit_code == 0, clean.output
    raw_counts, clean_counts = json.loads(raw.output)["counts"], json.loads(clean.output)["counts"]
    assert raw_counts["residual_email"] > 0 and raw_counts["residual_secret"] > 0
    assert not any(k.startswith("residual") for k in clean_counts)
    assert "@inbox-sample.org" not in raw.output  # excerpts are masked
    failing = CliRunner().invoke(cli, ["pii-audit", str(tmp_path / "raw"), "--fail-above", "0"])
    assert failing.exit_code == 1


def test_presidio_backend_fails_clearly_without_its_model(monkeypatch):
    from chatsift.errors import ConfigError
    from chatsift.privacy.settings import PiiConfig
    from chatsift.stages.pii import make_redactor

    try:
        import presidio_analyzer  # noqa: F401
        import spacy  # noqa: F401
    except ImportError:
        with pytest.raises(ConfigError, match="pip install presidio-analyzer"):
            make_redactor(PiiConfig(backend="presidio"))
        return
    with pytest.raises(ConfigError, match="never downloads models"):
        make_redactor(PiiConfig(backend="presidio", presidio_model="xx_no_such_model"))
    redactor = make_redactor(PiiConfig(backend="presidio"))
    assert "NAME_1" in redactor.redact(["Yesterday I met Barack Obama in Chicago."]).texts[0]


@pytest.mark.skipif(not SHARED_DATA.is_dir(), reason="../shared/data is not present")
def test_figures_on_presidio_research_synthetic_pii():
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parents[1] / "benchmarks"))
    from bench_pii import evaluate

    result = evaluate(Redactor(), SHARED_DATA / "presidio-research-synth-pii/synth_dataset_v2.json")["per_kind"]
    for kind in ("email", "phone", "credit_card", "iban", "ip_address", "ssn"):
        assert result[kind]["recall"] >= 0.95 and result[kind]["precision"] >= 0.95, (kind, result[kind])
    # the learned tagger: 0.793 / 0.845 (the rules, written around these templates, had 0.905 / 0.872)
    assert result["name"]["recall"] >= 0.77 and result["name"]["precision"] >= 0.82, result["name"]
    assert result["address"]["recall"] >= 0.70 and result["address"]["precision"] >= 0.70, result["address"]
