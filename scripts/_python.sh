# Shared by scripts/run and scripts/test: make .venv with Python 3.11 and install a requirements file.
# Usage: source scripts/_python.sh; ensure_venv requirements.txt
ensure_venv() {
  local requirements=$1
  if [ ! -x .venv/bin/python ]; then
    local python=""
    for candidate in python3.11 python3 python; do
      if command -v "$candidate" >/dev/null 2>&1 &&
        "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
        python=$candidate
        break
      fi
    done
    if [ -z "$python" ]; then
      echo "Configurator needs Python 3.11 (python3.11 on PATH)." >&2
      exit 1
    fi
    "$python" -m venv .venv
  fi
  # Reinstall only when the requirements changed since the last install.
  local stamp=".venv/.installed-$(basename "$requirements")"
  if [ ! -f "$stamp" ] || [ -n "$(find requirements*.txt -newer "$stamp" 2>/dev/null)" ]; then
    .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$requirements"
    touch "$stamp"
  fi
}
