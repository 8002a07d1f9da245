#!/usr/bin/python3
"""Runs ONNX's backend test data generator (backend-test-tools generate-data) into OUT.

Debian 12's NumPy removed the aliases np.float, np.int, np.bool and np.object that the
generator of python3-onnx 1.12 still uses; they are restored here (as the builtins they
aliased) before onnx's generator is imported.

Usage: onnx_backend_gen.py OUT
"""
import sys
import warnings

import numpy as np

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    for alias, builtin in (("float", float), ("int", int), ("bool", bool), ("object", object)):
        if alias not in np.__dict__:
            setattr(np, alias, builtin)

from onnx.backend.test.cmd_tools import main  # noqa: E402

sys.argv = ["backend-test-tools", "generate-data", "-o", sys.argv[1]]
main()
