#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# The main job, run from a build directory (argument 1).
set -eu
cd "$1"
exec ./api/xbt-demo
