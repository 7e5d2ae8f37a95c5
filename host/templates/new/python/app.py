"""{{name}}: the tools of wit/world.wit, in Python.

componentize-py generates the `wit_world` package from the world: subclass
`WitWorld` and implement one method per tool. `raise Err(...)` returns the WIT
`err` case, which the client receives as a tool error. Only the standard
library modules the code imports are bundled into the component.
"""

import wit_world
from componentize_py_types import Err
from wit_world.imports import content, logging, progress

GREETINGS = [("Hello, ", "!"), ("Bonjour, ", " !"), ("Hallo, ", "!"), ("Hola, ", "!"), ("Ciao, ", "!")]


class WitWorld(wit_world.WitWorld):
    def greet(self, name: str, languages: int) -> list[str]:
        if not 1 <= languages <= 5:
            raise Err(f"languages must be between 1 and 5, not {languages}")
        logging.log(logging.Level.INFO, "greeting", [logging.Field("name", name)])
        greetings = [f"{before}{name}{after}" for before, after in GREETINGS[:languages]]
        for done in range(1, len(greetings) + 1):
            progress.report(float(done), float(len(greetings)), None)
        return greetings

    def greeting_card(self, name: str) -> list[content.Message]:
        text = f"Write a short, warm greeting card for {name}, in English and French."
        block = content.Block(kind=content.Kind_Text(text), annotations=None)
        return [content.Message(role=content.Role.USER, content=block)]
