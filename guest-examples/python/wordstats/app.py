"""Word statistics: a moat tool written in Python (see guest-examples/python).

componentize-py generates the `wit_world` package from wit/world.wit; this
module implements its exports. Raising `Err(...)` returns the WIT `err` case,
which moat sends to the client as a tool error.
"""

import json
import re
from collections import Counter

import wit_world
from componentize_py_types import Err
from wit_world.imports import content, elicitation, logging, progress

WORD = re.compile(r"[\w']+")
SENTENCE_END = re.compile(r"[.!?]+(?:\s|$)")
MAX_TOP = 100

READING_SPEEDS = """# Reading speeds

| reader | words per minute |
| --- | --- |
| reading aloud | 150 |
| adults, silently | 200 to 250 |
| skimming | 400 and more |
"""


def words_of(text: str) -> list[str]:
    return [w.casefold() for w in WORD.findall(text)]


class WitWorld(wit_world.WitWorld):
    def analyse(self, text: str, top: int) -> wit_world.Stats:
        if top > MAX_TOP:
            raise Err(f"top must be at most {MAX_TOP}, got {top}")
        paragraphs = [p for p in re.split(r"\n\s*\n", text) if p.strip()]
        logging.log(
            logging.Level.DEBUG,
            "analysing",
            [logging.Field("paragraphs", str(len(paragraphs))), logging.Field("bytes", str(len(text.encode())))],
        )
        counts: Counter[str] = Counter()
        sentences = 0
        for done, paragraph in enumerate(paragraphs, start=1):
            counts.update(words_of(paragraph))
            ends = len(SENTENCE_END.findall(paragraph))
            sentences += ends if paragraph.rstrip()[-1:] in ".!?" else ends + 1
            progress.report(float(done), float(len(paragraphs)), None)
        # most_common() without a count sorts; with one it imports heapq lazily,
        # which componentize-py does not see and so does not bundle.
        top_words = [wit_world.WordCount(word, n) for word, n in counts.most_common()[:top]]
        return wit_world.Stats(
            words=sum(counts.values()),
            sentences=sentences,
            paragraphs=len(paragraphs),
            top_words=top_words,
        )

    def reading_minutes(self, text: str, words_per_minute: int) -> int:
        if words_per_minute == 0:
            raise Err("words-per-minute must be greater than zero")
        words = len(words_of(text))
        return max(1, -(-words // words_per_minute)) if words else 0

    def reading_speeds(self) -> content.ResourceContents:
        return content.ResourceContents(
            uri="wordstats://reading-speeds", mime_type="text/markdown", body=content.Body_Text(READING_SPEEDS)
        )

    def analyse_asking(self, text: str) -> wit_world.Stats:
        schema = {
            "type": "object",
            "properties": {"top": {"type": "integer", "minimum": 0, "maximum": MAX_TOP, "default": 3}},
            "required": ["top"],
        }
        answer = elicitation.ask("How many of the most frequent words should I list?", json.dumps(schema))
        if answer.action != elicitation.Action.ACCEPT or answer.content is None:
            raise Err("the user chose not to answer")
        return self.analyse(text, int(json.loads(answer.content)["top"]))
