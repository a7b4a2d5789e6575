#!/bin/bash
# A wrapper as many images have: python runs as a child of bash (no exec).
python "$(dirname "$0")/app.py" "$@"
