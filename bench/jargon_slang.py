"""An invented team slang for the jargon benchmark, applied to questions only.

A team's slang is the hard case of jargon: words its people use in questions that its
documents never contain ("the tollbooth" for the API gateway, "sparkles" for feature
flags). Each corpus gets its own lexicon: terms, each with the plain wordings it
replaces (regular expressions, matched case-insensitively on word boundaries, longest
first). `rewrite` turns a plain question into its slang form; `absent_from` checks that
no slang wording occurs anywhere in a corpus, so a word match can never find the answer.

`questions` builds a corpus's question set (plain and slang forms, the terms used) and
`split` divides it by question into rounds of rated questions and held-out questions:
a held-out question is never asked in any form, and every term a held-out question uses
is used by at least two rated questions first (else nothing could be learnt for it).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from engine.learning.trainingdata import stable_fraction


@dataclass(frozen=True)
class Term:
    """One slang term: `slang` names it; `rules` are (plain regex, slang wording) pairs."""

    slang: str
    rules: tuple[tuple[str, str], ...]

    @property
    def wordings(self) -> set[str]:
        return {self.slang, *(wording for _, wording in self.rules)}


def term(slang: str, *rules: str | tuple[str, str]) -> Term:
    """A term whose plain patterns are replaced by `slang` unless a rule names its own form."""
    return Term(slang, tuple((r, slang) if isinstance(r, str) else r for r in rules))


DEBIAN_SLANG: tuple[Term, ...] = (
    term("the swirl", r"debian gnu/ ?linux", r"debian"),
    term("parcels", (r"library[- ]packages", "glue parcels"), (r"source packages?", "dough parcel"),
         (r"binary packages?", "whipped parcels"), (r"packages", "parcels"), (r"package", "parcel"),
         (r"packaged", "parcelled")),
    term("slot in", (r"de-install", "unslot"), (r"uninstall", "unslot"), (r"installed", "slotted in"),
         (r"installation", "slotting"), (r"installs", "gets slotted in"), (r"install", "slot in")),
    term("the brainstem", (r"kernels", "brainstems"), r"(the )?kernel"),
    term("flavours", (r"distributions", "flavours"), (r"(the )?distribution", "the flavour")),
    term("the bedrock", r"`?stable'?"),
    term("the proving ground", r"(the )?testing"),
    term("the wild west", r"`?unstable'?"),
    term("raw dough", r"(the )?source code"),
    term("freshen", (r"upgrades", "freshenings"), (r"updates", "freshenings"), r"upgrade", r"update",
         (r"current", "freshened")),
    term("gizmos", (r"program's", "gizmo's"), r"programs", (r"program", "gizmo"), r"software",
         r"applications"),
    term("critters", r"bugs", (r"bug", "critter")),
    term("penguinland", r"linux"),
    term("shiny discs", r"cd-roms", r"cds", (r"cd-rom", "shiny disc"), (r"cd", "shiny disc")),
    term("the wake-up dance", (r"booting", "doing the wake-up dance for"), (r"boot", "wake-up dance")),
    term("the rig", (r"(the )?package management system", "the crate shuffler"),
         (r"(a |the )?systems", "rigs"), r"(a |the |my )?system", (r"machines", "rigs"),
         (r"computer", "rig")),
    term("the stockroom", (r"archives", "stockrooms"), r"(the )?archive", r"(the )?repository"),
    term("swirlers", r"(debian )?developers", (r"(debian )?developer", "swirler"),
         (r"member", "swirler")),
    term("knob files", r"configuration files", (r"conffile", "knob file"), (r"control file", "knob file")),
    term("the metal", r"(the )?hardware"),
    term("the chatter", r"on-line resources", r"mailing lists"),
    term("the scrapbook", r"(a )?logs?"),
    term("toolbelt", r"tools"),
    term("lasso", (r"on hold", "lassoed"), (r"hold", "lasso")),
    term("evict", (r"removals", "evictions"), (r"removed", "evicted"), r"remove", (r"purged", "evicted"),
         r"purge"),
    term("whip up", (r"compiling", "whipping up"), (r"compile", "whip up"), (r"build", "whip up")),
    term("chip families", r"(hardware )?architectures"),
    term("the cheat sheet", r"(this )?faq"),
    term("the cloud shelf", r"a remote internet site"),
    term("the bundle", r"(installation )?images"),
)

DEMO_SLANG: tuple[Term, ...] = (
    term("the tollbooth", r"(the )?tollgate", r"(the )?api gateway"),
    term("sparkles", (r"feature flags", "sparkles"), (r"feature flag", "sparkle"), (r"flags", "sparkles"),
         (r"flag", "sparkle")),
    term("the abacus", r"monsoon", r"(the )?pricing engine", r"(the )?quote engine"),
    term("the matchmaker", r"sirocco", r"(the )?dispatch engine"),
    term("the storefront", r"zephyr", r"(the )?shipper portal"),
    term("the attic", r"almanac", r"(the )?data warehouse"),
    term("the till", r"mistral", r"(the )?billing service", (r"billing", "till")),
    term("the firehose", r"chinook", r"(the )?event bus", r"kafka"),
    term("the launchpad", r"keel", r"(the )?deployment platform"),
    term("the megaphone", r"foghorn", r"(our )?(public )?status page"),
    term("the bouncer", r"gangway", r"sso"),
    term("the paper mill", r"scrivener"),
    term("the eyeballs", r"sextant"),
    term("the crystal ball", r"williwaw", r"etb"),
    term("the dinosaur", r"driftwood", r"(the )?monolith"),
    term("the big screen", r"(the )?crow'?s nest"),
    term("yeet", (r"deploys", "yeets"), (r"deploying", "yeeting"), (r"deployed", "yeeted"), r"deploy"),
    term("kaboom", (r"incidents", "kabooms"), (r"an incident", "a kaboom"), (r"incident", "kaboom")),
    term("beeper duty", (r"on-call", "on beeper duty"), (r"on call", "on beeper duty"),
         (r"rotation", "beeper roster"), (r"paged", "buzzed"), (r"a page", "a buzz")),
    term("chit", (r"expense", "chit"), (r"expenses", "chits")),
    term("keycards", (r"access", "keycards")),
    term("the icebox", (r"deploy freeze", "yeet icebox"), (r"freeze", "icebox")),
    term("a rewind", (r"a rollback", "a rewind"), (r"rollback", "rewind"), (r"roll back", "rewind")),
    term("cheat sheet", (r"runbooks", "cheat sheets"), (r"runbook", "cheat sheet")),
    term("truckies", (r"carriers", "truckies"), (r"carrier", "truckie")),
    term("cargo bosses", (r"shippers", "cargo bosses"), (r"shipper", "cargo boss")),
    term("the main stage", (r"production", "the main stage"), (r"prod", "main stage")),
    term("the wrench crew", r"(the )?riggers"),
    term("the night owls", r"(the )?lamplighters"),
    term("the money crew", r"(the )?pursers"),
    term("the price crew", r"(the )?chandlers"),
    term("the route nerds", r"(the )?pilots( team)?"),
    term("the gatekeepers", r"(the )?harbormasters"),
    term("the fixers", r"(the )?coast guard"),
    term("the autopsy", (r"aars", "autopsies"), r"(an )?aar"),
    term("the hot pile", r"(the )?rlq"),
    term("running on fumes", (r"low tide", "running on fumes")),
    term("the side door", r"(the )?partner api"),
    term("the scratchpad", r"redis"),
    term("truckie paydays", r"carrier payouts", (r"payouts", "paydays")),
    term("fresh fish", r"new joiners", (r"new hires?", "fresh fish")),
    term("squads", (r"teams", "squads"), (r"team", "squad")),
    term("klaxons", (r"alerts", "klaxons"), (r"alerting", "klaxons"), (r"alert", "klaxon")),
    term("wallboard", (r"dashboards", "wallboards"), (r"dashboard", "wallboard")),
    term("the filing cabinet", r"(the )?database", r"(the )?db"),
    term("reshuffles", (r"migrations", "reshuffles"), (r"migration", "reshuffle")),
    term("patchlet", (r"prs", "patchlets"), (r"(a )?pr", "patchlet")),
    term("price tags", (r"quotes", "price tags"), (r"quote", "price tag")),
    term("blips", (r"events", "blips"), (r"event", "blip")),
    term("the herd", r"(the )?cluster"),
    term("the big cheese", (r"who leads", "who is the big cheese of"), (r"leads", "big cheeses")),
    term("punters", (r"customers", "punters"), (r"customer", "punter")),
    term("damage slips", (r"invoices", "damage slips"), (r"invoice", "damage slip")),
)

OPENINGS = (
    (r"^how do i (.+)$", "what's the way to {0}"),
    (r"^how can i (.+)$", "is there a way I can {0}"),
    (r"^what is (.+)$", "can you explain {0}"),
    (r"^what are (.+)$", "tell me about {0}"),
    (r"^what's (.+)$", "can you explain {0}"),
    (r"^whats (.+)$", "can you explain {0}"),
    (r"^can i (.+)$", "is it possible to {0}"),
    (r"^where is (.+)$", "where do I find {0}"),
    (r"^where can i (.+)$", "where would I {0}"),
    (r"^why (.+)$", "what's the reason {0}"),
    (r"^who (.+)$", "which person {0}"),
    (r"^does (.+)$", "I'd like to know if {0}"),
    (r"^do (.+)$", "I'd like to know if {0}"),
    (r"^is (.+)$", "quick check: is {0}"),
    (r"^what does (.+)$", "I keep hearing this, what does {0}"),
    (r"^which (.+)$", "what {0}"),
    (r"^how (.+)$", "in what way {0}"),
    (r"^when (.+)$", "at what point {0}"),
)


ARTICLES = re.compile(r"\b(the|a|an|our|my|other|this) the\b", re.IGNORECASE)
"""A slang wording that brings its own article after one the question had: "the the swirl"."""


def compiled(terms: Sequence[Term]) -> list[tuple[re.Pattern[str], str, str]]:
    """(pattern, replacement, term) for every rule, longest pattern first."""
    rules = [(pattern, wording, t.slang) for t in terms for pattern, wording in t.rules]
    rules.sort(key=lambda rule: -len(rule[0]))
    return [(re.compile(rf"(?<![\w/-]){p}(?![\w-])", re.IGNORECASE), w, s) for p, w, s in rules]


def rewrite(question: str, terms: Sequence[Term]) -> tuple[str, tuple[str, ...]]:
    """The question in slang and the terms used (none: the question stays as it is).

    A replaced span is never rewritten again: each rule only sees the text that earlier
    (longer) rules left plain."""
    pieces: list[tuple[str, bool]] = [(question, False)]
    used: list[str] = []
    for pattern, wording, slang in compiled(terms):
        out: list[tuple[str, bool]] = []
        for text, done in pieces:
            if done:
                out.append((text, done))
                continue
            last = 0
            for match in pattern.finditer(text):
                out += [(text[last:match.start()], False), (wording, True)]
                last = match.end()
                if slang not in used:
                    used.append(slang)
            out.append((text[last:], False))
        pieces = out
    text = ARTICLES.sub(r"\1", "".join(piece for piece, _ in pieces))
    return " ".join(text.split()), tuple(used)


def rephrase(question: str) -> str:
    """A re-ask with another opening ('' when none applies): a new question on the same need."""
    text = " ".join(question.split()).rstrip("?!. ")
    first = re.split(r"(?<=[?!.])\s+", text)[0].rstrip("?!. ")
    for pattern, template in OPENINGS:
        match = re.match(pattern, first, re.IGNORECASE)
        if match:
            return template.format(match.group(1)) + "?"
    return ""


def reasks(question: str) -> list[str]:
    """Three other ways a teammate asks the same thing in Slack: another opening (or a
    greeting), "quick question: …", "anyone know …"."""
    text = " ".join(question.split()).rstrip("?!. ")
    lowered = text[:1].lower() + text[1:]
    return [rephrase(question) or f"hey, {lowered}?", f"quick question: {lowered}?",
            f"anyone know {lowered}?"]


def absent_from(terms: Sequence[Term], texts: Iterable[str]) -> list[str]:
    """The slang wordings that occur in any of `texts` (empty: the slang is clean)."""
    wordings = sorted({w.lower() for t in terms for w in t.wordings})
    patterns = {w: re.compile(rf"(?<![\w-]){re.escape(w)}(?![\w-])") for w in wordings}
    found: set[str] = set()
    for text in texts:
        lowered = " ".join(text.lower().split())
        found.update(w for w, p in patterns.items() if w not in found and p.search(lowered))
    return sorted(found)


@dataclass(frozen=True)
class JargonQuestion:
    plain: str
    slang: str
    relevant: tuple[str, ...]
    terms: tuple[str, ...]
    reasks: tuple[str, ...] = ()
    """The slang forms of other wordings of the same question (`reasks`), asked in rounds too."""


def questions(pairs: Iterable[tuple[str, Sequence[str]]], terms: Sequence[Term]) -> list[JargonQuestion]:
    """The questions that use at least one slang term, each in plain and slang form."""
    found = []
    for plain, relevant in pairs:
        plain = " ".join(plain.split())
        slang, used = rewrite(plain, terms)
        if not used:
            continue
        again = tuple(dict.fromkeys(rewrite(text, terms)[0] for text in reasks(plain)))
        found.append(JargonQuestion(plain, slang, tuple(relevant), used, again))
    return found


@dataclass(frozen=True)
class Split:
    rounds: tuple[tuple[JargonQuestion, ...], ...]
    held_out: tuple[JargonQuestion, ...]


def split(found: Sequence[JargonQuestion], *, held_out_share: float, rounds: int, seed: str,
          min_rated: int = 2) -> Split:
    """Rated rounds and held-out questions, divided by question in a seeded order."""
    order = sorted(found, key=lambda q: stable_fraction(seed, q.plain))
    target = round(held_out_share * len(order))
    rated: list[JargonQuestion] = []
    held: list[JargonQuestion] = []
    counts: Counter[str] = Counter()
    waiting: list[JargonQuestion] = []
    for question in order:
        if any(counts[t] < min_rated for t in question.terms):
            rated.append(question)
            counts.update(question.terms)
        else:
            waiting.append(question)
    for question in waiting:  # every term now has its rated questions
        (held if len(held) < target else rated).append(question)
    rated.sort(key=lambda q: stable_fraction(seed, "round", q.plain))
    shares = tuple(tuple(rated[r::rounds]) for r in range(rounds))
    return Split(shares, tuple(held))


def demo_pairs(path: Path) -> list[tuple[str, list[str]]]:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [(row["query"], list(row["relevant"])) for row in rows]
