# Sourced by scripts/test and scripts/demo: make .venv (once) with the project installed.
# $1 says what to install: "test" (the package and CI's toolchain: pytest, ruff, mypy, bt...)
# or "demo" (the package alone). $PYTHON picks the interpreter (default: python3).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PY=${PYTHON:-python3}
extra=${1:?usage: source scripts/_venv.sh test|demo}
say() { printf '%s\n' "$*" >&2; }

# Python first: pip's "requires a different Python" comes only after a long setup.
if ! command -v "$PY" >/dev/null 2>&1; then
  say "error: $PY was not found. ETF Rebalancer needs Python 3.11 or newer:"
  say "  install one (https://www.python.org/downloads/), or name it: PYTHON=python3.12 bash $0"
  exit 1
fi
version=$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  say "error: ETF Rebalancer needs Python 3.11 or newer; $PY is Python $version."
  say "  Install a newer Python, or name one: PYTHON=python3.12 bash $0"
  exit 1
fi

# A .venv made by another Python (or whose Python is gone) is rebuilt, not reused.
if [ -e .venv ]; then
  made=$(.venv/bin/python -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null \
    || echo "a missing Python")
  if [ "$made" != "$version" ]; then
    say "Rebuilding .venv: it was made by Python $made, and $PY is Python $version."
    rm -rf .venv
  fi
fi
if [ ! -x .venv/bin/python ]; then
  say "Creating .venv with Python $version ($PY)..."
  "$PY" -m venv .venv
fi

# Reinstall when pyproject.toml changed since the last install (cheap no-op otherwise).
stamp=.venv/.installed-$(sha1sum pyproject.toml | cut -c1-12)-$extra
if [ ! -f "$stamp" ]; then
  case $extra in
    demo) what="the package and its dependencies (pandas, scipy, xlwings, yfinance, openpyxl...)"
          spec="." ;;
    *) what="the package with the [$extra] extra (for test: pytest, ruff, mypy, bt...)"
       spec=".[$extra]" ;;
  esac
  say "Installing $what into .venv; the first time takes a minute or two..."
  started=$SECONDS
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e "$spec"
  touch "$stamp"
  say "Installed in $((SECONDS - started)) s."
fi
export PATH="$PWD/.venv/bin:$PATH"
