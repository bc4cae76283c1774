"""Plumbing every layer uses, each concept once: errors, files (atomic writes, hashes, what can be
read, the folder walk, how paths are shown), log lines and progress bars, the runtime (devices,
DDP, seeds, the run's process-wide switches), the run lock, provenance."""
