import json
import os
import signal
import socket
import subprocess
import sys

import numpy as np
import pytest
import torch

from spt.pipeline import SPTPipeline
from spt.training import NonFiniteLossError, TrainConfig, Trainer, parse_args
from spt.training.data import load_pool

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = dict(preset="tiny", image_size=(32, 32), search_size=(32, 32), num_identities=4, poses_per_identity=3,
            batch_size=2, log_with=None, num_validation_pairs=2)


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
    out = Trainer(config(tmp_path, stage, init_from=detector, max_steps=2, checkpointing_steps=1,
                         validation_steps=2, checkpoints_total_limit=1)).train()
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
    cfg = config(tmp_path, "appearance", init_from=detector, max_steps=2, use_parsing=False, style_kind="mask",
                 checkpointing_steps=10, validation_steps=2)
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
    cfg = config(tmp_path, stage, init_from=detector if stage != "semantic" else None, max_steps=steps,
                 batch_size=2, learning_rate=2e-3, adversarial=False, face_loss=False, checkpointing_steps=10_000,
                 validation_steps=10_000, num_identities=2, poses_per_identity=3)
    if stage == "appearance":
        cfg.weights.pose = cfg.weights.style = cfg.weights.content = 0.0
    trainer = Trainer(cfg)
    pool = load_pool(cfg, progress=False)
    rows = pool.trainable_rows(needs_target=True)[:2]
    history = [trainer.step(pool.batch(rows, "cpu"))[key] for _ in range(steps)]
    return history


def test_tiny_overfit_lowers_semantic_ce_and_appearance_reconstruction(tmp_path, detector):
    ce = _overfit(tmp_path, detector, "semantic", "ce", 25)
    assert np.mean(ce[-3:]) < 0.6 * np.mean(ce[:3]), ce
    cycle = _overfit(tmp_path, detector, "appearance", "cycle", 25)
    assert np.mean(cycle[-3:]) < 0.7 * np.mean(cycle[:3]), cycle


def test_resume_restores_step_and_optimizer_state(tmp_path, detector):
    kw = dict(init_from=detector, max_steps=3, checkpointing_steps=2, validation_steps=100, checkpoints_total_limit=None)
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


def test_non_finite_loss_is_reported_with_its_step(tmp_path, detector):
    trainer = Trainer(config(tmp_path, "semantic", init_from=detector, max_steps=1))
    pool = load_pool(trainer.config, progress=False)
    batch = pool.batch(pool.trainable_rows(needs_target=True)[:2], "cpu")
    with torch.no_grad():
        next(trainer.generators[0].parameters()).fill_(float("nan"))
    with pytest.raises(NonFiniteLossError, match="ce loss is nan at step 0"):
        trainer.step(batch)


def test_bad_config_is_refused_before_training(tmp_path):
    with pytest.raises(ValueError, match="stage must be one of"):
        config(tmp_path, "everything").validate()
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        config(tmp_path, "semantic", batch_size=0).validate()
    with pytest.raises(ValueError, match="lr_warmup_steps is not supported"):
        config(tmp_path, "semantic", lr_warmup_steps=100).validate()
    with pytest.raises(ValueError, match="needs init_from"):
        config(tmp_path, "appearance").validate()
    with pytest.raises(ValueError, match="unknown fields \\['lr'\\]"):
        TrainConfig.from_dict({"lr": 1})
    path = tmp_path / "cfg.json"
    path.write_text(json.dumps({"stage": "semantic", "weights": {"pose": 5}, "max_steps": 7}))
    cfg = parse_args(["--config", str(path), "--max_steps", "9", "--weights.style", "0.5", "--log_with", "none"])
    assert cfg.max_steps == 9 and cfg.weights.pose == 5 and cfg.weights.style == 0.5 and cfg.log_with is None


def test_two_process_training_finishes(tmp_path, detector):
    out = tmp_path / "ddp"
    args = ["--stage", "semantic", "--init_from", detector, "--output_dir", str(out), "--preset", "tiny",
            "--image_size", "32", "32", "--search_size", "32", "32", "--num_identities", "4",
            "--poses_per_identity", "3", "--batch_size", "2", "--max_steps", "2", "--checkpointing_steps", "2",
            "--validation_steps", "2", "--num_validation_pairs", "1", "--log_with", "none"]
    env = {**os.environ, "ACCELERATE_USE_CPU": "true", "OMP_NUM_THREADS": "1", "PYTHONPATH": ROOT}
    with socket.socket() as s:  # a free port: a fixed one could meet a stale run's workers
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    # Its own session, so that a timeout kills the workers with the launcher instead of orphaning them.
    launcher = subprocess.Popen([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
                                 "--master_port", str(port), os.path.join(ROOT, "train_accelerate.py"), *args],
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                start_new_session=True)
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
