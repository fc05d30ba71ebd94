"""Task modules: one per task, each registering itself by name.

Modules here are imported to list the tasks, so they keep TensorFlow and
Keras imports inside the methods that need them.
"""
