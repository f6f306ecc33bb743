# Shared by scripts/run and scripts/test (sourced, not run). Creates .venv with Python 3.11
# when it is missing, installs the project into it (only when setup.cfg changed since the last
# install), and compiles the translation catalogs.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${SCHAKEL_VENV:-$ROOT/.venv}"
export PIP_DISABLE_PIP_VERSION_CHECK=1

say() { printf '\n==> %s\n' "$*"; }

find_python() {
    local candidate
    for candidate in "${PYTHON:-}" python3.11 python3; do
        [ -n "$candidate" ] || continue
        if command -v "$candidate" >/dev/null 2>&1 &&
           "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null; then
            command -v "$candidate"
            return 0
        fi
    done
    echo "Schakel needs Python 3.11 (python3.11 not found; set PYTHON=/path/to/python3.11)." >&2
    return 1
}

# ensure_venv EXTRAS  -- EXTRAS is "" (run) or "[test]" (test)
ensure_venv() {
    local extras="$1" stamp want python
    if [ ! -x "$VENV/bin/python" ]; then
        python="$(find_python)"
        say "Creating $VENV with $python"
        "$python" -m venv "$VENV"
    fi
    stamp="$VENV/.schakel-installed"
    if [ -n "$extras" ]; then stamp="$stamp-test"; fi
    want="$(cat "$ROOT/setup.cfg" "$ROOT/pyproject.toml" | "$VENV/bin/python" -c 'import hashlib,sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())')"
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ] || [ ! -x "$VENV/bin/schakel" ]; then
        say "Installing Schakel into $VENV (pip install -e .$extras)"
        "$VENV/bin/python" -m pip install --quiet --upgrade pip
        "$VENV/bin/python" -m pip install --quiet -e "$ROOT$extras"
        echo "$want" > "$stamp"
    fi
}

compile_catalogs() {
    say "Compiling translation catalogs"
    "$VENV/bin/pybabel" compile --statistics -d "$ROOT/network/translations" 2>&1 | sed 's/^/    /'
}

# ensure_database URL -- a PostgreSQL database that does not exist yet is created (development:
# the server's user needs CREATEDB); a server that does not answer, or refuses, is said plainly
ensure_database() {
    case "$1" in postgres*) ;; *) return 0 ;; esac
    "$VENV/bin/python" - "$1" <<'PY'
import sys
import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url
url = make_url(sys.argv[1])
params = dict(host=url.host, port=url.port or 5432, user=url.username, password=url.password, connect_timeout=5)
try:
    conn = psycopg.connect(dbname="postgres", autocommit=True, **params)
except psycopg.OperationalError as exc:
    sys.exit(f"PostgreSQL does not answer at {url.host}:{url.port or 5432} (DATABASE_URL): {exc}")
with conn:
    if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (url.database,)).fetchone() is None:
        try:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(url.database)))
            print(f"    created the database {url.database!r}")
        except psycopg.Error as exc:
            sys.exit(f"PostgreSQL at {url.host} has no database {url.database!r} and {url.username!r} may not "
                     f"create it; create it first: createdb -h {url.host} -U {url.username} {url.database} ({exc})")
PY
}
