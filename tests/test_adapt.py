"""Fitting the model to one photo (spt.adapt, SPTPipeline(adapt_steps=...), SPTPipeline.adapt)."""

import threading
import warnings

import numpy as np
import pytest
import torch

from spt.adapt import AdaptConfig, Source, adapt_config_from_json, cycle_poses, fit_to_source, narrowed_person
from spt.data.synthetic import SyntheticPeople
from spt.models.appearance import render_appearance
from spt.models.semantic import feathered_layout, predict_parsing_logits
from spt.parsing import LEFT_ARM, RIGHT_ARM, mirror_parsing, to_onehot
from spt.pipeline import SPTPipeline
from spt.processor import keep_grayscale, uint8_to_tensor

SIZE = (64, 32)
STEPS = 3


@pytest.fixture(scope="module")
def pipe():
    torch.manual_seed(0)
    pipe = SPTPipeline.from_preset("tiny", image_size=SIZE)
    pipe.set_progress_bar_config(disable=True)
    return pipe


@pytest.fixture(scope="module")
def people():
    people = SyntheticPeople(SIZE, seed=3, split="test")
    return [[people.render(people.identity(i), people.pose(2 * i + k)) for k in range(2)] for i in range(2)]


def run(pipe, source, target, **kwargs):
    return pipe(
        source["image"],
        target["keypoints"],
        source_pose=source["keypoints"],
        source_parsing=source["parsing"],
        precision="fp32",
        output_type="pt",
        **kwargs,
    )


def fit(pipe, source, target, steps, config):
    """``fit_to_source`` called by hand on one SyntheticPeople pair."""
    return fit_to_source(
        pipe.semantic_generator,
        pipe.appearance_generator,
        uint8_to_tensor(source["image"][None]),
        torch.from_numpy(source["keypoints"][None]),
        torch.from_numpy(source["parsing"][None].astype(np.int64)),
        torch.from_numpy(target["keypoints"][None]),
        steps,
        semantic_size=pipe.semantic_size,
        config=config,
    )


def state(module):
    return {k: v.clone() for k, v in module.state_dict().items()}


def test_no_fitting_is_the_networks_output_bit_for_bit(pipe, people):
    source, target = people[0]
    out = run(pipe, source, target, adapt_steps=0)
    # The same networks called by hand, as the pipeline called them before fitting existed.
    image, kp_s, kp_t, labels, _ = pipe._prepare(
        source["image"], target["keypoints"], source["keypoints"], source["parsing"], None, "spt10"
    )
    onehot = to_onehot(labels)
    with torch.inference_mode():
        logits = predict_parsing_logits(pipe.semantic_generator, onehot, kp_s, kp_t, pipe.semantic_size)
        generated = render_appearance(pipe.appearance_generator, image, kp_s, onehot, kp_t, feathered_layout(logits))
    expected = keep_grayscale(generated.float().clamp(-1, 1), image).clamp(-1, 1)
    assert torch.equal(out.images, expected)
    assert torch.equal(out.target_parsing, logits.argmax(1))
    assert torch.equal(run(pipe, source, target).images, out.images)  # 0 is the default


def test_a_fitted_call_changes_the_output_but_never_the_loaded_weights(pipe, people):
    source, target = people[0]
    before = {name: state(getattr(pipe, name)) for name in ("semantic_generator", "appearance_generator")}
    fitted = run(pipe, source, target, adapt_steps=STEPS)
    unfitted = run(pipe, source, target)
    assert not torch.equal(fitted.images, unfitted.images)
    for name, weights in before.items():
        after = getattr(pipe, name).state_dict()
        assert all(torch.equal(weights[k], after[k]) for k in weights), name
        assert not any(p.requires_grad and p.grad is not None for p in getattr(pipe, name).parameters())
    assert torch.equal(run(pipe, source, target, adapt_steps=STEPS).images, fitted.images)  # deterministic


def test_each_source_is_fitted_on_its_own_in_a_batch_and_in_concurrent_calls(pipe, people):
    alone = [run(pipe, s, t, adapt_steps=STEPS).images for s, t in people]
    batch = pipe(
        [s["image"] for s, _ in people],
        [t["keypoints"] for _, t in people],
        source_pose=[s["keypoints"] for s, _ in people],
        source_parsing=[s["parsing"] for s, _ in people],
        adapt_steps=STEPS,
        precision="fp32",
        output_type="pt",
    ).images
    for k in range(2):
        torch.testing.assert_close(batch[k : k + 1], alone[k], rtol=0, atol=1e-5)
    together = [None, None]

    def call(k):
        together[k] = run(pipe, *people[k], adapt_steps=STEPS).images

    threads = [threading.Thread(target=call, args=(k,)) for k in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for k in range(2):
        torch.testing.assert_close(together[k], alone[k], rtol=0, atol=1e-5)


def test_adapt_returns_a_fitted_copy_that_answers_as_a_fitted_call(pipe, people):
    source, target = people[0]
    other = people[1][1]
    fitted = pipe.adapt(
        source["image"],
        [target["keypoints"], other["keypoints"]],
        source_pose=source["keypoints"],
        source_parsing=source["parsing"],
        steps=STEPS,
    )
    assert fitted is not pipe and fitted.semantic_generator is not pipe.semantic_generator
    assert len(fitted.adapt_losses) == STEPS and not fitted.adapt_fell_back
    once = pipe(
        source["image"],
        [target["keypoints"], other["keypoints"]],
        source_pose=source["keypoints"],
        source_parsing=source["parsing"],
        adapt_steps=STEPS,
        precision="fp32",
        output_type="pt",
    ).images
    torch.testing.assert_close(run(fitted, source, target).images, once[:1], rtol=0, atol=1e-5)
    torch.testing.assert_close(run(fitted, source, other).images, once[1:], rtol=0, atol=1e-5)
    with pytest.raises(ValueError, match="one source photo"):
        pipe.adapt([source["image"], people[1][0]["image"]], target["keypoints"])


def test_the_fitting_loss_falls_on_a_tiny_case(pipe, people):
    result = fit(pipe, *people[0], 20, AdaptConfig(semantic_lr=1e-3, appearance_lr=1e-3, content=0.0, mirror=1.0))
    assert not result.fell_back and len(result.losses) == 20
    assert np.mean(result.losses[-3:]) < 0.7 * result.losses[0], result.losses


@pytest.mark.parametrize("gate, fitted", [(0.0, True), (1e9, False)])
def test_h_s_is_fitted_only_when_its_loss_is_above_the_gate(pipe, people, gate, fitted):
    result = fit(pipe, *people[0], STEPS, AdaptConfig(semantic_gate=gate, content=0.0))
    assert result.semantic_fitted is fitted and len(result.losses) == STEPS
    same = lambda a, b: all(torch.equal(x, y) for x, y in zip(a.parameters(), b.parameters()))  # noqa: E731
    assert same(result.semantic_generator, pipe.semantic_generator) is not fitted
    assert not same(result.appearance_generator, pipe.appearance_generator)  # H_A is fitted either way


def test_a_non_finite_loss_falls_back_to_the_unfitted_output_with_a_warning(pipe, people):
    source, target = people[0]
    unfitted = run(pipe, source, target)
    with pytest.warns(UserWarning, match="fitting to the photo stopped"):
        out = run(
            pipe, source, target, adapt_steps=STEPS, adapt_config=AdaptConfig(semantic_lr=1e30, semantic_gate=0.0)
        )
    assert torch.equal(out.images, unfitted.images)


@pytest.mark.parametrize("steps", [-1, 10**6, 2.5, "10", True, None, float("nan")])
def test_bad_adapt_steps_are_named(pipe, people, steps):
    source, target = people[0]
    with pytest.raises(ValueError, match="adapt_steps"):
        run(pipe, source, target, adapt_steps=steps)
    with pytest.raises(ValueError, match="steps"):
        pipe.adapt(source["image"], target["keypoints"], steps=steps)


@pytest.mark.parametrize(
    "fields, named",
    [
        ({"semantic_lr": -1.0}, "semantic_lr"),
        ({"appearance_lr": float("inf")}, "appearance_lr"),
        ({"poses": 0}, "poses"),
        ({"fit_semantic": "no"}, "fit_semantic"),
        ({"seed": -1}, "seed"),
        ({"betas": (0.5, 1.5)}, "betas"),
    ],
)
def test_bad_adapt_config_is_named(fields, named):
    with pytest.raises(ValueError, match=named):
        AdaptConfig(**fields)


def test_adapt_config_reads_json_and_names_unknown_fields():
    assert adapt_config_from_json('{"fit_semantic": false, "betas": [0.9, 0.99]}') == AdaptConfig(
        fit_semantic=False, betas=(0.9, 0.99)
    )
    for text, named in (("{bad", "not JSON"), ("[1]", "JSON object"), ('{"steps": 3}', "unknown fields")):
        with pytest.raises(ValueError, match=named):
            adapt_config_from_json(text)


def test_cycle_poses_put_the_asked_ones_first_then_mirror_images(people):
    source, target = (torch.from_numpy(p["keypoints"]) for p in people[0])
    poses = cycle_poses(source, torch.stack([target, target]), 4, SIZE[1])
    assert len(poses) == 3  # the target once, the source mirrored, the target mirrored
    assert torch.equal(poses[0], target)
    present = source[:, 0] >= 0
    # The mirror image of the source: the same set of x positions, flipped in the frame.
    mirrored_x = sorted((SIZE[1] - 1 - source[present, 0]).tolist())
    assert sorted(poses[1][poses[1][:, 0] >= 0, 0].tolist()) == pytest.approx(mirrored_x)
    assert len(cycle_poses(source, target[None], 1, SIZE[1])) == 1


def test_the_narrowed_person_gives_its_margin_to_the_scene(people):
    source = people[0][0]
    image = uint8_to_tensor(source["image"][None])
    labels = torch.from_numpy(source["parsing"][None].astype(np.int64))
    scene = torch.full_like(image, 0.25)
    narrowed_image, narrowed_labels = narrowed_person(image, labels, scene, 2)
    person, kept = labels[0] > 0, narrowed_labels[0] > 0
    assert kept.sum() < person.sum() and not (kept & ~person).any()
    margin = person & ~kept
    assert torch.all(narrowed_image[0][:, margin] == 0.25)
    assert torch.equal(narrowed_image[0][:, kept], image[0][:, kept])
    assert torch.equal(narrowed_labels[0][kept], labels[0][kept])


def test_fitting_needs_a_parsing_pipeline(people):
    baseline = SPTPipeline.from_preset("tiny", image_size=SIZE)
    baseline.register_modules(
        appearance_generator=type(baseline.appearance_generator).from_config(
            baseline.appearance_generator.config, use_parsing=False
        )
    )
    source, target = people[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError, match="parsing"):
            run(baseline, source, target, adapt_steps=2)


def test_the_mirrored_source_is_the_photo_seen_in_a_mirror(people):
    photo = people[0][0]
    labels = torch.from_numpy(photo["parsing"][None].astype(np.int64))
    source = Source.of(uint8_to_tensor(photo["image"][None]), torch.from_numpy(photo["keypoints"][None]), labels)
    mirror = source.mirrored()
    assert torch.equal(mirror.image, source.image.flip(-1))
    # The person's left arm seen in a mirror is drawn where a right arm would be, and is labelled so.
    flipped = labels.flip(-1)
    assert torch.equal(mirror.labels == RIGHT_ARM, flipped == LEFT_ARM)
    assert torch.equal(mirror.labels == LEFT_ARM, flipped == RIGHT_ARM)
    assert torch.equal(mirror_parsing(mirror_parsing(labels)), labels)
    # The right shoulder of the mirror image is where the photo's left shoulder is, flipped.
    width = SIZE[1]
    assert mirror.keypoints[0, 2, 0] == pytest.approx(width - 1 - source.keypoints[0, 5, 0].item())
    torch.testing.assert_close(mirror.mirrored().keypoints, source.keypoints)
