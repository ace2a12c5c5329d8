"""A generated, labelled, non-explicit corpus for tests and evaluation (deterministic by seed).

Why generated: real grooming logs cannot be shipped, and tests need known labels. Texts are
cue phrases and small talk only, never explicit. Participants get random neutral ids, no
real usernames. Kinds: `grooming` (an adult works through the stages over 20-60 messages),
`teen_chat`, `adult_chat`, and `hard_negative` (a parent asking "where are you", a teacher,
friends planning to meet, a sibling sharing photos of a pet).
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from childsafe.watch.core.pan2012 import parse_conversations, parse_predators

KINDS = ("grooming", "teen_chat", "adult_chat", "hard_negative")
START_TS = 1_767_225_600.0  # 2026-01-01T00:00:00Z


@dataclass(frozen=True)
class Pools:
    """The lines of one language; grooming lines are cue phrases, never explicit content."""

    greet: tuple[str, str]
    age_forms: tuple[str, ...]  # "{age}" and "{sex}" are filled in
    small_talk: list[str]
    stages: list[list[str]]  # one list per O'Connell stage, in order
    subtle: list[str]  # cautious groomers use phrasings the rules miss; they keep recall honest
    child_replies: list[str]
    teen: list[str]
    adult: list[str]
    hard: dict[str, list[str]]


EN = Pools(
    greet=("hi there", "hi"),
    age_forms=("{age}/{sex}", "i'm {age}", "im {age} years old"),
    small_talk=["lol", "haha same", "what are you up to", "just finished dinner", "that game is so hard",
                "did you watch the match", "i'm bored", "yeah", "ok", "cool", "what music do you like",
                "i like that song too", "school was long today", "brb", "back", "nice", "true",
                "my phone is almost dead", "what level are you on", "i got a new skin", "idk", "same here"],
    stages=[
        ["hey how old are you?", "asl?", "what grade are you in", "where do you live",
         "which school do you go to", "are you near the city?"],
        ["you're so pretty", "you seem really mature for your age", "you're not like other kids",
         "you understand me better than anyone", "I can buy you a game if you want",
         "want a gift card? I could send you some robux"],
        ["are you home alone right now?", "where are your parents?", "is anyone else home",
         "do your parents check your phone?", "who else uses your computer"],
        ["don't tell anyone we talk", "this is our little secret ok", "delete this chat after",
         "your parents wouldn't understand", "add me on snapchat", "let's move to whatsapp",
         "what's your number"],
        ["send me a pic of you", "turn on your camera", "have you ever kissed anyone",
         "what are you wearing", "we should meet up", "I can pick you up after school"],
    ],
    subtle=["you can tell me anything", "i get you, nobody else does", "you deserve better friends",
            "i'm always here for you", "how was school today?", "your parents are too strict"],
    child_replies=["idk", "lol", "thanks", "yeah", "in my room", "they're at work", "ok",
                   "why?", "maybe", "haha", "i guess", "no one is here", "ok i won't tell"],
    teen=["asl", "where do you live?", "you're so funny", "add me on discord",
          "what's your snap", "we should meet up at the mall", "did you do the homework",
          "that teacher is so strict", "my mum says hi", "what grade are you in"],
    adult=["let's meet up for coffee next week", "don't tell anyone about the surprise party",
           "how old is your car now?", "the report is due friday", "where do you live now?",
           "send me the photos from the trip", "my kids are at school", "traffic was terrible"],
    hard={
        "parent": ["where are you?", "are you home alone? I'll be late", "dinner is at seven",
                   "did you finish your homework", "text me when you get to school",
                   "I'll buy you a present for your birthday", "love you, see you tonight"],
        "teacher": ["send me a photo of your worksheet", "we can meet up in the library at lunch",
                    "the test is on monday", "don't forget your permission slip", "good job today",
                    "which chapter did you read?"],
        "friends_meet": ["we should meet up at the park", "what's your snap again", "bring your bike",
                         "my mum can drive us", "see you at 3", "don't be late lol"],
        "sibling_pet": ["look at the dog", "send me a pic of the cat", "she's so cute in the photo",
                        "mum says feed the fish", "here's another photo of rex", "lol he's sleeping"],
    },
)
FR = Pools(
    greet=("salut", "slt"),
    age_forms=("{age}/{sex}", "j'ai {age} ans"),
    small_talk=["mdr", "grave", "tu fais quoi", "j'ai fini de manger", "ce jeu est trop dur",
                "t'as vu le match", "je m'ennuie", "ouais", "ok", "cool", "tu écoutes quoi comme musique",
                "l'école c'était long", "jsp", "pareil", "je reviens", "trop bien"],
    stages=[
        ["salut, tu as quel âge ?", "t'es en quelle classe ?", "tu habites où ?",
         "tu vas dans quel collège ?"],
        ["t'es trop mignonne", "tu es mature pour ton âge", "t'es pas comme les autres de ton âge",
         "je peux t'acheter un jeu", "je peux t'offrir une carte cadeau"],
        ["t'es toute seule chez toi ?", "ils sont où tes parents ?", "il y a quelqu'un chez toi ?"],
        ["ne le dis à personne", "c'est notre secret", "efface cette conversation",
         "ajoute-moi sur snap", "on continue sur whatsapp"],
        ["envoie-moi une photo de toi", "allume ta caméra", "t'as déjà embrassé quelqu'un ?",
         "on pourrait se voir", "je peux venir te chercher après l'école"],
    ],
    subtle=["tu peux tout me dire", "personne ne te comprend comme moi", "tes parents sont trop sévères",
            "je suis toujours là pour toi", "c'était comment l'école ?", "tu mérites mieux"],
    child_replies=["jsp", "mdr", "merci", "ouais", "dans ma chambre", "ils sont au travail", "ok",
                   "pourquoi ?", "peut-être", "personne n'est là"],
    teen=["tu habites où ?", "t'es trop drôle", "ajoute-moi sur discord", "c'est quoi ton snap",
          "on pourrait se voir au centre commercial", "t'as fait les devoirs ?", "tu as quel âge ?"],
    adult=["on pourrait se voir pour un café", "ne le dis à personne, c'est une fête surprise",
           "le rapport est pour vendredi", "envoie-moi les photos du voyage", "les enfants sont à l'école"],
    hard={
        "parent": ["t'es où ?", "t'es toute seule à la maison ? je rentre tard", "le dîner est à sept heures",
                   "je vais t'acheter un cadeau pour ton anniversaire", "envoie-moi un message en arrivant"],
        "teacher": ["envoie-moi une photo de ta fiche", "on peut se voir au cdi à midi",
                    "le contrôle est lundi", "bon travail aujourd'hui"],
        "friends_meet": ["on pourrait se voir au parc", "c'est quoi ton snap déjà", "à 15h",
                         "sois pas en retard mdr"],
        "sibling_pet": ["regarde le chien", "envoie-moi une photo du chat", "il dort mdr",
                        "maman dit de nourrir le poisson"],
    },
)
POOLS = {"en": EN, "fr": FR}


def _id(rng: random.Random) -> str:
    return f"user-{rng.randrange(16**8):08x}"


def _age_intro(rng: random.Random, age: int, pools: Pools) -> tuple[int | None, str | None]:
    """How an age becomes known: declared by the provider, stated in text, or not at all."""
    roll = rng.random()
    if roll < 0.45:
        return age, None
    if roll < 0.8:
        return None, rng.choice(pools.age_forms).format(age=age, sex=rng.choice("fm"))
    return None, None


class _Builder:
    def __init__(self, rng: random.Random, pools: Pools) -> None:
        self.rng, self.pools, self.ts = rng, pools, START_TS + rng.randrange(10**7)
        self.messages: list[dict[str, Any]] = []
        self.declared: dict[str, int] = {}

    def say(self, author: str, text: str) -> None:
        self.ts += self.rng.randrange(5, 180)
        msg: dict[str, Any] = {"id": f"m{len(self.messages) + 1}", "author": author,
                               "ts": self.ts, "text": text}
        if author in self.declared:
            msg["age"] = self.declared[author]
        self.messages.append(msg)

    def person(self, author: str, age: int) -> str | None:
        declared, stated = _age_intro(self.rng, age, self.pools)
        if declared is not None:
            self.declared[author] = declared
        return stated


def _grooming(rng: random.Random, b: _Builder) -> str:
    adult, child = _id(rng), _id(rng)
    adult_says = b.person(adult, rng.randint(24, 58))
    child_says = b.person(child, rng.randint(11, 15))
    total = rng.randint(20, 60)
    cautious = rng.random() < 0.15
    per_stage = max(1, total // 10)
    p = b.pools
    b.say(adult, p.greet[0])
    b.say(child, p.greet[1])
    if child_says:
        b.say(child, child_says)
    if adult_says and rng.random() < 0.6:
        b.say(adult, adult_says)
    plan: list[str] = []
    for stage in p.stages:
        k = 1 if cautious else per_stage
        plan += rng.sample(stage, min(k, len(stage)))
    if cautious:
        plan = rng.sample(plan, 2) + rng.sample(p.subtle, 4)
    while len(b.messages) < total:
        if plan and rng.random() < 0.45:
            b.say(adult, plan.pop(0))
        else:
            speaker = child if rng.random() < 0.6 else adult
            pool = p.child_replies if speaker == child and rng.random() < 0.6 else p.small_talk
            b.say(speaker, rng.choice(pool))
    for line in plan[:2]:
        b.say(adult, line)
    return adult


def _pair_chat(rng: random.Random, b: _Builder, ages: tuple[int, int], lines: Sequence[str],
               cue_lines: int) -> None:
    a, c = _id(rng), _id(rng)
    intros = [b.person(a, ages[0]), b.person(c, ages[1])]
    speakers = [a, c]
    for who, text in zip(speakers, intros, strict=True):
        if text:
            b.say(who, text)
    chosen = rng.sample(list(lines), min(cue_lines, len(lines)))
    total = rng.randint(12, 40)
    while len(b.messages) < total:
        who = rng.choice(speakers)
        b.say(who, chosen.pop() if chosen and rng.random() < 0.3 else rng.choice(b.pools.small_talk))


def _conversation(kind: str, index: int, rng: random.Random, french_share: float) -> dict[str, Any]:
    language = "fr" if rng.random() < french_share else "en"
    p = POOLS[language]
    b = _Builder(rng, p)
    groomer: str | None = None
    sub = kind
    if kind == "grooming":
        groomer = _grooming(rng, b)
    elif kind == "teen_chat":
        _pair_chat(rng, b, (rng.randint(12, 16), rng.randint(12, 16)), p.teen, 4)
    elif kind == "adult_chat":
        _pair_chat(rng, b, (rng.randint(22, 65), rng.randint(22, 65)), p.adult, 4)
    else:
        sub = rng.choice(sorted(p.hard))
        older = {"parent": (35, 52), "teacher": (26, 60), "friends_meet": (12, 16), "sibling_pet": (12, 19)}
        lo, hi = older[sub]
        _pair_chat(rng, b, (rng.randint(lo, hi), rng.randint(10, 15)), p.hard[sub], 3)
    return {"id": f"{kind}-{index:05d}", "kind": kind, "subkind": sub, "language": language,
            "label": "grooming" if groomer else "benign", "groomer": groomer, "messages": b.messages}


def generate(n_per_kind: int, seed: int = 0, french_share: float = 0.25) -> list[dict[str, Any]]:
    """`n_per_kind` conversations of each kind; the same seed always gives the same corpus.

    About `french_share` of them are in French, so both cue files are evaluated end to end.
    """
    items: list[dict[str, Any]] = []
    for k, kind in enumerate(KINDS):
        rng = random.Random(seed * 1_000_003 + k)
        items += [_conversation(kind, i, rng, french_share) for i in range(n_per_kind)]
    return items


def write_jsonl(path: str | Path, items: Iterable[dict[str, Any]]) -> int:
    """Write one conversation per line; returns how many were written."""
    count = 0
    with Path(path).open("w", encoding="utf-8") as out:
        for item in items:
            out.write(json.dumps(item, ensure_ascii=False, sort_keys=True) + "\n")
            count += 1
    return count


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    with Path(path).open(encoding="utf-8") as src:
        return [json.loads(line) for line in src if line.strip()]


def load_pan2012(xml_path: str | Path, predators_path: str | Path | None = None) -> list[dict[str, Any]]:
    """PAN 2012 conversations (and optional predator list) from files, in our JSONL shape."""
    predators = parse_predators(Path(predators_path).read_bytes()) if predators_path else frozenset()
    return parse_conversations(Path(xml_path).read_bytes(), predators)
