#!/usr/bin/env bash
# Installs tfdefend into ./.venv (CPU TensorFlow) and the offline Fashion-MNIST data.
# Usage: bash scripts/install.sh            (from the repository root)
# Env:   TFDEFEND_EXTRAS=cpu,test (default)   PYTHON=python3 (default)
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
EXTRAS="${TFDEFEND_EXTRAS:-cpu,test}"

# Fashion-MNIST ships as a Debian package (about 30 MB); needs root or sudo.
if [ ! -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]; then
  if [ "$(id -u)" = 0 ]; then SUDO=""; elif command -v sudo >/dev/null; then SUDO="sudo"; else SUDO="none"; fi
  if [ "$SUDO" != none ] && command -v apt-get >/dev/null; then
    $SUDO apt-get update -qq || true
    $SUDO apt-get install -y -qq dataset-fashion-mnist \
      || echo "warning: could not install dataset-fashion-mnist; see README (TFDEFEND_DATA_DIR)" >&2
  else
    echo "warning: no apt-get/root: get Fashion-MNIST as the README says (TFDEFEND_DATA_DIR)" >&2
  fi
fi

[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[${EXTRAS}]"
echo "tfdefend installed in .venv: $(.venv/bin/python -c 'import tfdefend; print(tfdefend.__version__)')"
