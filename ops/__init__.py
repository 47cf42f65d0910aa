"""Operating Yiwang: the `yiwang` command (launcher, seed, replay, checks), above services and gateway."""
