"""The worlds of SyntheticPeople by name: "2d" (flat painted people, fast, the first benchmark), "3d"
(clothed Anny bodies in perspective with light and real-photo textures, ``world3d``; its clothes and hair stand
off the body, ``clothes3d``), "mixed" (even identities from the 2D world, odd ones from the 3D world) and
"3d-v1" (the 3D world before its clothes stood off the body, kept to measure again what was measured on it)."""

from __future__ import annotations

from .identity import Identity
from .render import SyntheticPeople

WORLDS = ("2d", "3d", "mixed", "3d-v1")
# What a model trained on each world learned from (model cards, the Space's notes).
WORLD_DESCRIPTIONS = {
    "2d": "SyntheticPeople's 2D world (flat painted people)",
    "3d": "SyntheticPeople's 3D world (3D bodies in perspective with light, in clothes and hair that stand off the "
    "body, textures cut from real photos, photo backgrounds, real-camera blur and noise)",
    "mixed": "SyntheticPeople's 2D and 3D worlds (half each)",
    "3d-v1": "SyntheticPeople's first 3D world (clothed 3D bodies, every garment painted on the skin, textures "
    "cut from real photos, photo backgrounds)",
}


class MixedPeople:
    """Identity ``i`` of the 2D world when ``i`` is even, of the 3D world when odd; poses are shared (both
    worlds draw pose ``i`` from the same stream)."""

    world = "mixed"

    def __init__(self, size: tuple[int, int] = (128, 64), seed: int = 0, split: str = "train"):
        from .world3d import SyntheticPeople3D

        self.flat = SyntheticPeople(size, seed, split)
        self.solid = SyntheticPeople3D(size, seed, split)
        self.size, self.seed, self.split = self.flat.size, self.flat.seed, self.flat.split

    def _world(self, identity):
        if isinstance(identity, Identity):
            return self.flat
        if isinstance(identity, int):
            return self.flat if identity % 2 == 0 else self.solid
        return self.solid

    def identity(self, identity_id: int):
        return self._world(identity_id).identity(identity_id)

    def pose(self, pose_id: int):
        return self.flat.pose(pose_id)

    def pair(self, index: int) -> tuple[dict, dict]:
        return self._world(index).pair(index)

    def render(self, identity, pose) -> dict:
        return self._world(identity).render(identity, pose)

    def background(self, identity, *args):
        return self._world(identity).background(identity, *args)


def make_people(world: str = "2d", size: tuple[int, int] = (128, 128), seed: int = 0, split: str = "train"):
    """The generator of ``world`` (``WORLDS``) with SyntheticPeople's interface."""
    if world == "2d":
        return SyntheticPeople(size, seed, split)
    if world in ("3d", "3d-v1"):
        from .world3d import WORLD_VERSION, SyntheticPeople3D

        return SyntheticPeople3D(size, seed, split, version=1 if world == "3d-v1" else WORLD_VERSION)
    if world == "mixed":
        return MixedPeople(size, seed, split)
    raise ValueError(f"world must be one of {WORLDS}, got {world!r}")
