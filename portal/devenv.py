"""Write a development `.env` (DEBUG on, fresh SECRET_KEY and vault key) if none exists.

`make run` calls this; an existing .env is completed, never overwritten.
"""

import base64
import os
import secrets
import sys
from pathlib import Path

ENV_FILE = Path(__file__).resolve().parent.parent / ".env"


def development_defaults() -> dict[str, str]:
    return {
        "DEBUG": "1",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "VAULT_KEYS": "dev1:" + base64.b64encode(os.urandom(32)).decode(),
        "ACCOUNT_EMAIL_VERIFICATION": "mandatory",
        # Local model servers and emulators on this machine; the only private addresses
        # a development portal may reach (core/egress.py).
        "EGRESS_ALLOW_PRIVATE": "127.0.0.0/8,::1",
    }


def main() -> int:
    existing = ENV_FILE.read_text() if ENV_FILE.exists() else ""
    present = {line.split("=", 1)[0].strip() for line in existing.splitlines() if "=" in line}
    missing = {
        name: value
        for name, value in development_defaults().items()
        if name not in present and name not in os.environ
    }
    if missing:
        with ENV_FILE.open("a") as env_file:
            if existing and not existing.endswith("\n"):
                env_file.write("\n")
            env_file.write("".join(f"{name}={value}\n" for name, value in missing.items()))
        print(f"Wrote {', '.join(missing)} to {ENV_FILE.name} (development only).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
