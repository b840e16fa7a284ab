import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest
import torch

from spt.losses import LossWeights
from spt.pipeline import SPTPipeline
from spt.training import NonFiniteLossError, TrainConfig, Trainer, parse_args
from spt.training.data import load_pool

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = dict(
    preset="tiny",
    image_size=(32, 32),
    search_size=(32, 32),
    num_identities=4,
    poses_per_identity=3,
    min_detector_pckh=0.0,
    batch_size=2,
    log_with=None,
    num_validation_pairs=2,
)


def config(tmp, stage, **kw):
    return TrainConfig(stage=stage, output_dir=str(tmp / stage), **{**TINY, **kw})


@pytest.fixture(scope="module")
def detector(tmp_path_factory):
    """A pipeline folder whose pose detector was trained (the first stage); the others start from it."""
    tmp = tmp_path_factory.mktemp("stages")
    out = Trainer(config(tmp, "pose_detector", max_steps=2, checkpointing_steps=1, validation_steps=2)).train()
    return out


@pytest.mark.parametrize("stage", ["semantic", "appearance", "e2e"])
def test_each_stage_trains_and_writes_a_loadable_pipeline(tmp_path, detector, stage):
    out = Trainer(
        config(
            tmp_path,
            stage,
            init_from=detector,
            max_steps=2,
            checkpointing_steps=1,
            validation_steps=2,
            checkpoints_total_limit=1,
        )
    ).train()
    pipe = SPTPipeline.from_pretrained(out)
    assert pipe.image_size == (32, 32)
    checkpoints = sorted(n for n in os.listdir(out) if n.startswith("checkpoint-"))
    assert checkpoints == ["checkpoint-2"]  # the limit pruned checkpoint-1
    SPTPipeline.from_pretrained(os.path.join(out, "checkpoint-2", "pipeline"))
    assert os.path.isfile(os.path.join(out, "samples", f"{stage}-000002.png"))
    card = open(os.path.join(out, "README.md"), encoding="utf-8").read()
    assert "{{" not in card and f"`{stage}`" in card and "library_name: diffusers" in card


def test_baseline_trains_an_appearance_generator_without_parsing(tmp_path, detector):
    """The paper's Baseline: a fresh H_A without parsing inputs, D_A and mask-style on the pose masks."""
    cfg = config(
        tmp_path,
        "appearance",
        init_from=detector,
        max_steps=2,
        use_parsing=False,
        style_kind="mask",
        checkpointing_steps=10,
        validation_steps=2,
    )
    trainer = Trainer(cfg)
    assert not trainer.pipe.uses_parsing
    assert trainer.discriminators["D_A"].config.in_channels == 3 + 2  # image + background/person pose mask
    pool = load_pool(cfg, progress=False)
    logs = trainer.step(pool.batch(pool.trainable_rows(needs_target=True)[:2], "cpu"))
    assert logs["style"] > 0 and logs["adv_A"] > 0
    out = trainer.train(pool)
    pipe = SPTPipeline.from_pretrained(out)
    assert not pipe.uses_parsing
    # Continuing the Baseline must say so; the method's stages refuse it.
    with pytest.raises(ValueError, match="takes no parsing"):
        Trainer(config(tmp_path, "appearance", init_from=out, max_steps=1))
    with pytest.raises(ValueError, match="trains --stage appearance"):
        config(tmp_path, "e2e", init_from=out, use_parsing=False, style_kind="mask").validate()
    with pytest.raises(ValueError, match="style_kind mask"):
        config(tmp_path, "appearance", init_from=out, use_parsing=False).validate()


def test_pose_detector_stage_trains_the_detector(detector):
    before = SPTPipeline.from_preset("tiny", (32, 32)).pose_detector.state_dict()
    after = SPTPipeline.from_pretrained(detector).pose_detector.state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before)


def _overfit(tmp_path, detector, stage, key, steps):
    cfg = config(
        tmp_path,
        stage,
        init_from=detector if stage != "semantic" else None,
        max_steps=steps,
        batch_size=2,
        learning_rate=2e-3,
        adversarial=False,
        face_loss=False,
        checkpointing_steps=10_000,
        validation_steps=10_000,
        num_identities=2,
        poses_per_identity=3,
    )
    if stage == "appearance":
        cfg.weights.pose = cfg.weights.style = cfg.weights.content = 0.0
    trainer = Trainer(cfg)
    pool = load_pool(cfg, progress=False)
    rows = pool.trainable_rows(needs_target=True)[:2]
    history = [trainer.step(pool.batch(rows, "cpu"))[key] for _ in range(steps)]
    return history


@pytest.mark.slow
def test_tiny_overfit_lowers_semantic_ce_and_appearance_reconstruction(tmp_path, detector):
    ce = _overfit(tmp_path, detector, "semantic", "ce", 25)
    assert np.mean(ce[-3:]) < 0.6 * np.mean(ce[:3]), ce
    cycle = _overfit(tmp_path, detector, "appearance", "cycle", 25)
    assert np.mean(cycle[-3:]) < 0.7 * np.mean(cycle[:3]), cycle


def test_a_run_killed_while_saving_resumes_from_the_last_complete_checkpoint(tmp_path, detector, monkeypatch):
    kw = dict(init_from=detector, max_steps=3, checkpointing_steps=1, validation_steps=100, checkpoints_total_limit=1)
    trainer = Trainer(config(tmp_path, "semantic", **kw))
    save_state = trainer.accelerator.save_state

    def killed_at_step_2(path):
        if path.endswith("checkpoint-2.partial"):
            os.makedirs(path)
            open(os.path.join(path, "half-written.bin"), "wb").close()
            raise KeyboardInterrupt("killed while writing checkpoint-2")  # what SIGINT raises mid-save
        return save_state(path)

    monkeypatch.setattr(trainer.accelerator, "save_state", killed_at_step_2)
    with pytest.raises(KeyboardInterrupt):
        trainer.train()
    folder = tmp_path / "semantic"
    # The limit of 1 did not remove checkpoint-1 before checkpoint-2 was complete.
    assert sorted(os.listdir(folder / "checkpoint-1")) and (folder / "checkpoint-2.partial").is_dir()
    assert not (folder / "checkpoint-2").exists()
    resumed = Trainer(config(tmp_path, "semantic", **{**kw, "resume_from_checkpoint": "latest"}))
    resumed.resume()
    assert resumed.global_step == 1
    resumed.train()
    assert resumed.global_step == 3
    assert sorted(n for n in os.listdir(folder) if n.startswith("checkpoint-")) == ["checkpoint-3"]
    SPTPipeline.from_pretrained(folder)


def test_resume_restores_step_and_optimizer_state(tmp_path, detector):
    kw = dict(
        init_from=detector, max_steps=3, checkpointing_steps=2, validation_steps=100, checkpoints_total_limit=None
    )
    Trainer(config(tmp_path, "semantic", **kw)).train()
    uninterrupted = SPTPipeline.from_pretrained(tmp_path / "semantic").semantic_generator.state_dict()
    # A run "killed" after step 2 resumes from checkpoint-2: same step, same optimizer state ...
    resumed = Trainer(config(tmp_path, "semantic", **{**kw, "resume_from_checkpoint": "latest"}))
    resumed.resume()
    assert resumed.global_step == 2
    state = torch.load(tmp_path / "semantic" / "checkpoint-2" / "optimizer.bin", weights_only=False)
    restored = resumed.opt_g.state_dict()
    assert len(restored["state"]) == len(state["state"]) > 0
    for key in state["state"]:
        assert torch.equal(restored["state"][key]["exp_avg"].cpu(), state["state"][key]["exp_avg"])
    # ... and the remaining step lands on the weights of the uninterrupted run (batches depend on the step).
    resumed.train()
    assert resumed.global_step == 3
    finished = SPTPipeline.from_pretrained(tmp_path / "semantic").semantic_generator.state_dict()
    for key, value in uninterrupted.items():
        torch.testing.assert_close(finished[key], value)


def test_a_stage_that_trains_h_s_may_move_it_to_another_size(tmp_path, detector):
    assert SPTPipeline.from_pretrained(detector).semantic_size == (32, 32)
    out = Trainer(config(tmp_path, "semantic", init_from=detector, semantic_size=(16, 16), max_steps=1)).train()
    assert SPTPipeline.from_pretrained(out).semantic_size == (16, 16)
    # H_A's stage does not train H_S: a size that differs from the chained pipeline's is a mistake, said so.
    with pytest.raises(ValueError, match=r"H_S works at \(32, 32\), but semantic_size is \(16, 16\)"):
        Trainer(config(tmp_path, "appearance", init_from=detector, semantic_size=(16, 16), max_steps=1))


def test_non_finite_loss_is_reported_with_its_step(tmp_path, detector):
    trainer = Trainer(config(tmp_path, "semantic", init_from=detector, max_steps=1))
    pool = load_pool(trainer.config, progress=False)
    batch = pool.batch(pool.trainable_rows(needs_target=True)[:2], "cpu")
    with torch.no_grad():
        next(trainer.generators[0].parameters()).fill_(float("nan"))
    with pytest.raises(NonFiniteLossError, match="ce loss is nan at step 0"):
        trainer.step(batch)


@pytest.mark.slow
def test_the_3d_world_trains_and_keeps_its_own_pool(tmp_path, detector):
    cfg = config(
        tmp_path,
        "semantic",
        init_from=detector,
        max_steps=1,
        world="3d",
        validation_steps=1,
        cache_dir=str(tmp_path / "cache"),
    )
    out = Trainer(cfg).train()
    assert TrainConfig.from_file(os.path.join(out, "train_config.json")).world == "3d"
    pools = os.listdir(tmp_path / "cache")
    assert any(name.startswith("pool-v3-synthetic-3d-") for name in pools), pools
    flat = load_pool(config(tmp_path, "semantic", world="2d"), progress=False)
    solid = load_pool(cfg, progress=False)
    assert flat.images.shape == solid.images.shape and not np.array_equal(flat.images, solid.images)


def test_bad_config_is_refused_before_training(tmp_path):
    with pytest.raises(ValueError, match="world must be one of"):
        config(tmp_path, "semantic", world="4d").validate()
    with pytest.raises(ValueError, match="stage must be one of"):
        config(tmp_path, "everything").validate()
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        config(tmp_path, "semantic", batch_size=0).validate()
    with pytest.raises(ValueError, match="needs init_from"):
        config(tmp_path, "appearance").validate()
    with pytest.raises(ValueError, match="weights.thin_parts must be > 0"):
        config(tmp_path, "semantic", weights=LossWeights(thin_parts=0.0)).validate()
    with pytest.raises(ValueError, match="unknown fields \\['lr'\\]"):
        TrainConfig.from_dict({"lr": 1})
    path = tmp_path / "cfg.json"
    path.write_text(json.dumps({"stage": "semantic", "weights": {"pose": 5}, "max_steps": 7}))
    cfg = parse_args(["--config", str(path), "--max_steps", "9", "--weights.style", "0.5", "--log_with", "none"])
    assert cfg.max_steps == 9 and cfg.weights.pose == 5 and cfg.weights.style == 0.5 and cfg.log_with is None


@pytest.mark.slow
def test_two_process_training_finishes(tmp_path, detector, free_port):
    out = tmp_path / "ddp"
    args = [
        "--stage",
        "semantic",
        "--init_from",
        detector,
        "--output_dir",
        str(out),
        "--preset",
        "tiny",
        "--image_size",
        "32",
        "32",
        "--search_size",
        "32",
        "32",
        "--num_identities",
        "4",
        "--poses_per_identity",
        "3",
        "--batch_size",
        "2",
        "--max_steps",
        "2",
        "--checkpointing_steps",
        "2",
        "--validation_steps",
        "2",
        "--num_validation_pairs",
        "1",
        "--log_with",
        "none",
    ]
    env = {**os.environ, "ACCELERATE_USE_CPU": "true", "OMP_NUM_THREADS": "1", "PYTHONPATH": ROOT}
    port = free_port()
    # Its own session, so that a timeout kills the workers with the launcher instead of orphaning them.
    launcher = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--nproc_per_node",
            "2",
            "--master_port",
            str(port),
            os.path.join(ROOT, "train_accelerate.py"),
            *args,
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = launcher.communicate(timeout=600)
    except subprocess.TimeoutExpired:
        os.killpg(launcher.pid, signal.SIGKILL)
        stdout, stderr = launcher.communicate()
        pytest.fail(f"the 2-process run did not finish in 600 s:\n{stderr[-3000:]}")
    assert launcher.returncode == 0, stderr[-3000:]
    assert "on 2 processes" in stdout, stdout[-2000:]
    assert (out / "checkpoint-2").is_dir()
    SPTPipeline.from_pretrained(out)


def test_discriminators_travel_to_the_next_stage(tmp_path, detector):
    """A stage saves D_A / D_F beside its pipeline (not in it); the next stage continues them."""
    app = Trainer(config(tmp_path, "appearance", init_from=detector, max_steps=1, validation_steps=100)).train()
    saved = sorted(os.listdir(os.path.join(app, "discriminators")))
    assert saved == ["D_A", "D_F"]
    with open(os.path.join(app, "model_index.json"), encoding="utf-8") as handle:
        assert "discriminators" not in json.load(handle)
    e2e = Trainer(config(tmp_path, "e2e", init_from=app, max_steps=1))
    assert sorted(e2e.continued_discriminators) == ["D_A", "D_F"]
    from spt.models import PatchDiscriminator

    trained = PatchDiscriminator.from_pretrained(os.path.join(app, "discriminators", "D_A")).state_dict()
    for key, value in e2e.discriminators["D_A"].state_dict().items():
        torch.testing.assert_close(value, trained[key])
    assert "D_S" in e2e.discriminators and "D_S" not in e2e.continued_discriminators  # appearance had none


def test_appearance_losses_judge_the_cycle_output_too_and_d_a_sees_one_hot_layouts(tmp_path, detector):
    cfg = config(tmp_path, "e2e", init_from=detector, max_steps=1)
    trainer = Trainer(cfg)
    pool = load_pool(cfg, progress=False)
    batch = pool.batch(pool.trainable_rows(needs_target=True)[:2], "cpu")
    logs = trainer.step(batch)
    assert logs["pose"] > 0 and logs["adv_A"] > 0
    losses = trainer.objective(batch)
    assert set(losses.judged) == {"D_S", "D_A", "D_F"} and "adv_S" in losses.terms
    real, fakes = losses.judged["D_A"]
    assert real.shape[0] == 2 and not fakes.requires_grad
    assert fakes.shape[0] == 4  # Î_t and Î_s of both samples
    layouts = fakes[:, 3:]
    torch.testing.assert_close(layouts, layouts.round(), atol=1e-5, rtol=0)  # one-hot up to rounding
    torch.testing.assert_close(layouts.sum(1), torch.ones_like(layouts[:, 0]), atol=1e-5, rtol=0)
    # The straight-through one-hot still passes D_A's gradient to H_S.
    from spt.training.trainer import straight_through_onehot

    logits = torch.randn(1, 10, 4, 4, requires_grad=True)
    hard = straight_through_onehot(logits.softmax(1))
    (hard * torch.randn_like(hard)).sum().backward()
    torch.testing.assert_close(hard, hard.round(), atol=1e-5, rtol=0)
    assert logits.grad.abs().sum() > 0


def test_semantic_cycle_brings_the_predicted_parsing_back_to_the_source(tmp_path, detector):
    """weights.semantic_cycle: H_S(S~_t, P_t -> P_s) is scored against the true S_s; the term is absent at weight
    0, and its gradient reaches H_S."""
    plain = Trainer(config(tmp_path, "semantic", init_from=detector, max_steps=1))
    pool = load_pool(plain.config, progress=False)
    batch = pool.batch(pool.trainable_rows(needs_target=True)[:2], "cpu")
    assert "semantic_cycle" not in plain.objective(batch).terms
    trainer = Trainer(
        config(tmp_path, "semantic", init_from=detector, max_steps=1, weights=LossWeights(semantic_cycle=2.0))
    )
    h_s = trainer._module("semantic_generator")
    terms = trainer.objective(batch).terms
    assert terms["semantic_cycle"] > 0
    grads = torch.autograd.grad(terms["semantic_cycle"], [h_s.head.weight, h_s.source_encoder.stem[0].weight])
    assert all(g.abs().sum() > 0 for g in grads)
    # weights.thin_parts reaches both of H_S's CE terms (the same weights, the same network, the same batch).
    weights = LossWeights(semantic_cycle=2.0, thin_parts=4.0)
    thin = Trainer(config(tmp_path, "semantic", init_from=detector, max_steps=1, weights=weights))
    thin._module("semantic_generator").load_state_dict(h_s.state_dict())
    with torch.no_grad():
        heavy, light = thin.objective(batch).terms, trainer.objective(batch).terms
    assert heavy["ce"] > light["ce"] and heavy["semantic_cycle"] > light["semantic_cycle"]


def test_a_step_computes_the_discriminators_weight_gradients_once_from_their_own_loss(tmp_path, detector):
    """As pix2pix's set_requires_grad(netD, False): the generators' backward pass computes no gradient for
    the discriminators' weights (it would be thrown away); their loss's backward computes it once."""
    cfg = config(tmp_path, "e2e", init_from=detector, max_steps=1)
    trainer = Trainer(cfg)
    pool = load_pool(cfg, progress=False)
    batch = pool.batch(pool.trainable_rows(needs_target=True)[:2], "cpu")
    counts = {name: 0 for name in trainer.discriminators}
    for name, disc in trainer.discriminators.items():
        first = next(disc.parameters())
        first.register_hook(lambda grad, name=name: counts.__setitem__(name, counts[name] + 1))
    before = {name: next(d.parameters()).detach().clone() for name, d in trainer.discriminators.items()}
    logs = trainer.step(batch)
    assert counts == {"D_S": 1, "D_A": 1, "D_F": 1}
    assert logs["adv_S"] > 0 and logs["adv_A"] > 0 and logs["discriminator"] > 0
    for name, d in trainer.discriminators.items():  # still trained, and trainable again after the step
        assert not torch.equal(next(d.parameters()), before[name])
        assert all(p.requires_grad for p in d.parameters())


def test_a_cpu_run_that_leaves_cores_idle_says_how_to_use_them(tmp_path, detector, caplog):
    cores = len(os.sched_getaffinity(0))
    trainer = Trainer(config(tmp_path, "semantic", init_from=detector, max_steps=1))
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(cores)
        with caplog.at_level("WARNING", logger="spt.training.trainer"):
            trainer._warn_idle_cores()
        assert "num_cpu_threads_per_process" not in caplog.text
        if cores > 1:  # what accelerate launch leaves a one-process CPU job with, by default
            torch.set_num_threads(1)
            with caplog.at_level("WARNING", logger="spt.training.trainer"):
                trainer._warn_idle_cores()
            assert f"--num_cpu_threads_per_process {cores}" in caplog.text
    finally:
        torch.set_num_threads(threads)


def test_linear_schedule_holds_then_decays_to_zero(tmp_path, detector):
    trainer = Trainer(config(tmp_path, "semantic", init_from=detector, max_steps=4, validation_steps=100))
    pool = load_pool(trainer.config, progress=False)
    rows = pool.trainable_rows(needs_target=True)[:2]
    lrs = [trainer.step(pool.batch(rows, "cpu"))["lr"] for _ in range(4)]
    base = trainer.config.learning_rate
    # Logged after each step: constant for the first half of max_steps, then linearly down to zero.
    assert lrs == pytest.approx([base, base, base / 2, 0.0], abs=1e-12)
    constant = Trainer(config(tmp_path, "semantic", init_from=detector, max_steps=4, lr_scheduler="constant"))
    assert constant.step(pool.batch(rows, "cpu"))["lr"] == pytest.approx(base)


def test_paired_ceiling_sees_the_true_target(tmp_path, detector):
    """supervision='paired' (the ablation's ceiling, not SPT): targets are the same person in another pose,
    and H_A gets an L1 term to that true image."""
    cfg = config(
        tmp_path, "appearance", init_from=detector, max_steps=1, supervision="paired", cache_dir=str(tmp_path / "cache")
    )
    pool = load_pool(cfg, progress=False)
    assert pool.paired and (pool.pseudo >= 0).all() and (pool.pseudo != np.arange(len(pool))).all()
    poses = TINY["poses_per_identity"]
    assert (pool.pseudo // poses == np.arange(len(pool)) // poses).all()  # same identity
    batch = pool.batch(np.array([0, 1]), "cpu")
    torch.testing.assert_close(batch["target_image"][0], batch["source_image"][1])  # row 1 is row 0's target
    logs = Trainer(cfg).step(batch)
    assert logs["paired"] > 0
    # The unpaired pool from the same cache is the method's, with searched pseudo labels.
    unpaired = load_pool(config(tmp_path, "appearance", cache_dir=str(tmp_path / "cache")), progress=False)
    assert not unpaired.paired and "target_image" not in unpaired.batch(np.array([0]), "cpu")
    with pytest.raises(ValueError, match="only SyntheticPeople"):
        config(tmp_path, "appearance", supervision="paired", dataset="market", data_dir=str(tmp_path)).validate()


@pytest.mark.slow
def test_every_training_flag_has_help_a_default_and_the_launcher_does_not_warn():
    from spt.training.config import build_parser

    actions = [a for a in build_parser()._actions if a.dest not in ("help", "config")]
    assert len(actions) >= 46
    for action in actions:
        assert action.help and "(default: " in action.help, action.dest
    assert next(a for a in actions if a.dest == "stage").choices == ("pose_detector", "semantic", "appearance", "e2e")
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "accelerate.commands.launch",
            "--config_file",
            "accelerate_config.yaml",
            "train_accelerate.py",
            "--help",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0 and "--weights.style" in run.stdout
    assert "were not passed" not in run.stderr and "accelerate config" not in run.stderr


def test_model_cards_carry_the_evaluation_as_model_index(tmp_path):
    from huggingface_hub import ModelCard

    from spt.training.hub import write_model_card

    cfg = TrainConfig(stage="e2e", output_dir=str(tmp_path), preset="tiny", image_size=(32, 32), log_with=None)
    metrics = {"ssim": 0.5751, "mask_ssim": 0.79, "pckh": 0.21, "fid": "not computed: no Inception here"}
    write_model_card(cfg, str(tmp_path / "README.md"), steps=5, metrics=metrics, benchmark="SyntheticPeople test")
    card = ModelCard.load(tmp_path / "README.md")
    results = {r.metric_type: r.metric_value for r in card.data.eval_results}
    assert results == {"ssim": 0.5751, "mask_ssim": 0.79, "pckh": 0.21}  # FID was not computed: left out
    assert card.data.eval_results[0].dataset_name == "SyntheticPeople test"
    assert card.data.library_name == "diffusers" and "{{" not in card.content and "github.com/)" not in card.content
    write_model_card(cfg, str(tmp_path / "README.md"), steps=5)
    assert ModelCard.load(tmp_path / "README.md").data.eval_results is None


def test_global_step_counts_optimizer_steps_under_gradient_accumulation(tmp_path, detector):
    trainer = Trainer(
        config(
            tmp_path,
            "semantic",
            init_from=detector,
            max_steps=2,
            gradient_accumulation_steps=2,
            checkpointing_steps=100,
            validation_steps=100,
        )
    )
    calls = []
    step = trainer.step
    trainer.step = lambda batch: calls.append(1) or step(batch)
    trainer.train()
    assert trainer.global_step == 2 and len(calls) == 4  # two optimizer steps of two micro-batches each
    assert trainer.schedulers[0].last_epoch == 2


def test_heatmap_loss_weighs_the_joints_so_empty_heatmaps_are_no_refuge():
    from spt.losses import heatmap_loss, pose_loss
    from spt.pose import pose_heatmaps

    target = pose_heatmaps(torch.tensor([[[16.0, 12.0]] * 18]), (32, 32))
    empty = torch.zeros_like(target)
    assert heatmap_loss(target, target, 10) == 0
    assert heatmap_loss(empty, target, 0) == pytest.approx(float(pose_loss(empty, target)))
    # Predicting nothing costs more than 5x as much with the joints weighted by 10.
    assert heatmap_loss(empty, target, 10) > 5 * heatmap_loss(empty, target, 0)


def test_detector_scores_count_joints_per_name():
    from spt.evaluation.detector import detector_scores, held_out_people

    images, keypoints = held_out_people((64, 32), 4)
    truth = iter(keypoints)
    perfect = detector_scores(lambda image: next(truth), images, keypoints)
    assert perfect["pckh"] == 1 and perfect["per_joint"]["neck"] == 1 and perfect["images"] == 4
    blind = detector_scores(lambda image: (np.full((18, 2), -1.0), None), images, keypoints)
    assert blind["pckh"] == 0 and blind["joints"] == perfect["joints"] > 0


def test_a_detector_below_the_floor_is_stopped_and_refused(tmp_path, detector):
    from spt.training import DetectorTooWeak

    with pytest.raises(DetectorTooWeak, match=r"PCKh@0.5 0\.\d+ on 256 held-out images.*--min_detector_pckh 0"):
        Trainer(config(tmp_path, "pose_detector", max_steps=1, min_detector_pckh=0.9)).train()
    report = json.loads((tmp_path / "pose_detector" / "pose_detector_eval.json").read_text())
    assert 0 <= report["pckh"] < 0.9 and "heatmap" in report["final_losses"] and len(report["per_joint"]) == 18
    assert "Pose detector Φ" in (tmp_path / "pose_detector" / "README.md").read_text()
    with pytest.raises(DetectorTooWeak, match="pose loss of stage appearance"):
        Trainer(config(tmp_path, "appearance", init_from=detector, max_steps=1, min_detector_pckh=0.9))
    Trainer(
        config(
            tmp_path,
            "appearance",
            init_from=detector,
            max_steps=1,
            min_detector_pckh=0.9,
            weights=LossWeights(pose=0.0),
        )
    )  # no pose loss: no floor


def test_training_precision_uses_the_pipelines_words():
    from spt.pipeline import PRECISIONS
    from spt.training.config import TRAIN_PRECISIONS

    assert set(PRECISIONS) - {"auto"} <= set(TRAIN_PRECISIONS) and "no" not in TRAIN_PRECISIONS
    with pytest.raises(ValueError, match="mixed_precision must be one of"):
        TrainConfig(stage="semantic", output_dir="x", mixed_precision="no").validate()
