#!/usr/bin/env bash
# Installs tfdefend into ./.venv (CPU TensorFlow) and the offline Fashion-MNIST data.
# Usage: bash scripts/install.sh            (from the repository root)
# Env:   TFDEFEND_EXTRAS=cpu,test (default)   PYTHON=python3 (default)
#        TFDEFEND_DATA_DIR=DIR: a directory holding the four Fashion-MNIST idx files (then no apt-get).
# Exits non-zero if Fashion-MNIST is still missing at the end: the tests and `tfdefend demo` need it.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
EXTRAS="${TFDEFEND_EXTRAS:-cpu,test}"

[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[${EXTRAS}]"
echo "tfdefend installed in .venv: $(.venv/bin/python -c 'import tfdefend; print(tfdefend.__version__)')"

# Where tfdefend finds Fashion-MNIST ($TFDEFEND_DATA_DIR, Debian's package, the Keras cache): asks
# tfdefend/data/offline_sources.py itself (loaded by path: no TensorFlow import). Prints the directory
# or nothing; with "explain", prints the ways to get the data instead.
fashion_mnist() {
  .venv/bin/python - "$1" <<'EOF'
import importlib.util, os, sys
spec = importlib.util.spec_from_file_location("offline_sources", "tfdefend/data/offline_sources.py")
sources = importlib.util.module_from_spec(spec)
spec.loader.exec_module(sources)
files = sources.fashion_mnist_files()
if sys.argv[1] == "explain":
    try:
        sources.fashion_mnist(download=False)
    except FileNotFoundError as err:
        print(err)
elif files:
    print(os.path.dirname(files["test"][0]))
EOF
}

# Fashion-MNIST ships as a Debian package (about 30 MB); needs root or sudo.
if [ -z "$(fashion_mnist find)" ]; then
  if [ "$(id -u)" = 0 ]; then SUDO=""; elif command -v sudo >/dev/null; then SUDO="sudo"; else SUDO="none"; fi
  if [ "$SUDO" != none ] && command -v apt-get >/dev/null; then
    $SUDO apt-get update -qq || true
    $SUDO apt-get install -y -qq dataset-fashion-mnist \
      || echo "install.sh: could not install the Debian package dataset-fashion-mnist" >&2
  else
    echo "install.sh: no apt-get or no root/sudo: cannot install the Debian package dataset-fashion-mnist" >&2
  fi
fi

found="$(fashion_mnist find)"
if [ -z "$found" ]; then
  {
    echo "install.sh: ERROR: Fashion-MNIST is missing; the tests and \`tfdefend demo\` need it."
    echo "(tfdefend itself is installed in .venv.)"
    fashion_mnist explain
    echo "Then run: TFDEFEND_DATA_DIR=/path/to/dir bash scripts/install.sh  (and keep TFDEFEND_DATA_DIR set"
    echo "for the tests and tfdefend)."
  } >&2
  exit 1
fi
echo "Fashion-MNIST found in $found"
