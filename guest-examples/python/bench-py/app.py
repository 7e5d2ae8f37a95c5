"""The benchmark's trivial tool in Python (see wit/world.wit)."""

import wit_world


class WitWorld(wit_world.WitWorld):
    def add(self, a: int, b: int) -> int:
        return a + b
