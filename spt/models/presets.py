"""Network sizes by name, shared by the pipeline (``SPTPipeline.from_preset``) and the training config."""

# what tests (tiny), the embedded CPU checkpoint (small) and the paper use; "paper" keeps H_S's inputs as published
# (without f_j(S_s), docs/design-notes.md).
MODEL_PRESETS: dict[str, dict[str, dict]] = {
    "tiny": {
        "semantic": dict(base_channels=8, num_downsamples=2, max_channels=16, num_res_blocks=1, warped_source=True),
        "appearance": dict(base_channels=8, num_downsamples=2, max_channels=16, num_res_blocks=1),
        "pose": dict(base_channels=8, num_downsamples=2, num_res_blocks=1),
    },
    "small": {
        "semantic": dict(base_channels=32, num_downsamples=3, max_channels=128, num_res_blocks=3, warped_source=True),
        "appearance": dict(base_channels=32, num_downsamples=4, max_channels=128, num_res_blocks=2),
        "pose": dict(base_channels=16, num_downsamples=2, num_res_blocks=4),
    },
    "paper": {
        "semantic": dict(base_channels=64, num_downsamples=3, max_channels=256, num_res_blocks=6),
        "appearance": dict(base_channels=64, num_downsamples=6, max_channels=512, num_res_blocks=2),
        "pose": dict(base_channels=32, num_downsamples=2, num_res_blocks=6),
    },
}
