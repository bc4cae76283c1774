"""The study's operations, beside the library: benchmarks of the step, gpu-check, the rehearsal's
local COCO mirror, GPU claiming and the Slurm job scripts. The Makefile runs them
(``python -m tools.<name>``); nothing in ``colorlib`` imports them."""
