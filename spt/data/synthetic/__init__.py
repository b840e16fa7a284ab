"""SyntheticPeople: procedural people with exact pose, parsing and the true image in any other pose.

The embedded default dataset: with no real person dataset reachable offline, the whole method is
trained, measured and demonstrated on it. It is built to be hard in the ways that matter for SPT:

* an **identity** is drawn from continuous parameters: body proportions, skin tone, hair style and
  colour, hat and sunglasses, upper clothes (short/long sleeves, tucked or not, a coat), lower clothes
  (long or short pants, a skirt), shoes, and clothing textures (solid, stripes, checks, dots, smooth
  noise). Textures live in each body part's own coordinates, so they follow the part when it moves:
  one identity in two poses wears visibly the same clothes;
* a **pose** is a 3D kinematic chain with joint limits (standing, walking, arms raised or bent,
  crossing the torso) seen from any yaw (front, side, back; face joints missing where not visible),
  at varied scale and position;
* rendering paints parts far-to-near (the far arm behind the torso, the near one in front),
  anti-aliased through signed distances, with a face (eyes, mouth) in front views and a plain or
  textured background per identity (one photo shoot per person, as in DeepFashion).

Each sample has the RGB image, COCO-18 keypoints, the parsing rendered in LIP-20 and merged to
SPT-10, and its identity and pose ids. ``render(identity_id, pose_id)`` is deterministic for a seed,
so the ground truth of any (person, pose) pair is available for evaluation, while training never sees
it. Train and test identities come from separate random streams: test people are never seen in
training.

Beside this flat world, ``world3d`` renders clothed 3D bodies (Anny) in perspective with light, real-photo
textures and backgrounds (``SyntheticPeople3D``, the same interface); ``worlds.make_people`` picks a world
by name ("2d", "3d", "mixed").

One module per job: ``identity`` (who the person is and wears), ``kinematics`` (poses and the walking
cycle), ``render`` (``SyntheticPeople``), ``dataset`` (``datasets`` building, pairs, grids, example files)
and ``cli`` (``python -m spt.data.synthetic``); everything is importable from ``spt.data.synthetic``.
"""

from .cli import main
from .dataset import dataset_features, make_dataset, make_pairs, sample_grid, write_examples
from .identity import HAIR_STYLES, LOWER_KINDS, SPLITS, TEXTURES, Identity, Texture, sample_identity
from .kinematics import ACTIVITIES, LIMITS, Pose, Skeleton3D, build_skeleton, sample_pose, walking_cycle
from .render import SyntheticPeople
from .world3d import Person3D, SyntheticPeople3D
from .worlds import WORLD_DESCRIPTIONS, WORLDS, MixedPeople, make_people

__all__ = [
    "ACTIVITIES",
    "HAIR_STYLES",
    "LIMITS",
    "LOWER_KINDS",
    "SPLITS",
    "TEXTURES",
    "Identity",
    "Pose",
    "Skeleton3D",
    "SyntheticPeople",
    "SyntheticPeople3D",
    "Person3D",
    "MixedPeople",
    "WORLDS",
    "WORLD_DESCRIPTIONS",
    "make_people",
    "Texture",
    "build_skeleton",
    "dataset_features",
    "main",
    "make_dataset",
    "make_pairs",
    "sample_grid",
    "sample_identity",
    "sample_pose",
    "walking_cycle",
    "write_examples",
]
