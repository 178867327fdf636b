# XLA reads its options once, at its first compile: given here, before any engine module
# (and so any program of ours) can compile. Imports nothing of TensorFlow.
from .xla_options import configure_xla

configure_xla()
