#!/bin/sh
# Write deploy/compose/api.env and ray.env from their examples with fresh random tokens.
# Leaves existing files alone, so running it again never changes a deployment's secrets.
set -eu
cd "$(dirname "$0")"
for name in api ray; do
    if [ -e "$name.env" ]; then
        echo "$name.env exists, left as it is"
        continue
    fi
    umask 077
    python3 - "$name.env.example" "$name.env" <<'PY'
import re, secrets, sys
text = open(sys.argv[1]).read()
text = re.sub(r"(?<==)REPLACE-ME[\w-]*", lambda _: secrets.token_urlsafe(32), text)
open(sys.argv[2], "w").write(text)
PY
    echo "wrote $name.env"
done
