#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Runs the Python kit's unit tests (automake's harness sets $srcdir).
exec python3 "${srcdir:-.}/tests/test_xbtsm.py" -v
