"""Keras Playground: train small, real Keras models and watch them learn."""

__version__ = "0.1.0"
