"""Signing services as an administrator adds them (`local-runner add-signing-service`, Pulp's
`pulpcore-manager add-signing-service`) and pulp-cli lists them: a real GPG key signs a test
file, which must verify before the service is kept."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import PulpCli

SIGN = """#!/bin/sh
set -e
gpg --batch --yes --homedir "$GNUPGHOME" --pinentry-mode loopback --passphrase '' \\
  --armor --detach-sign --local-user "$PULP_SIGNING_KEY_FINGERPRINT" --output "$1.asc" "$1"
echo "{\\"file\\": \\"$1\\", \\"signature\\": \\"$1.asc\\"}"
"""


def gpg(home, *args):
    return subprocess.run(["gpg", "--batch", "--homedir", str(home), *args], check=True,
                          capture_output=True, text=True).stdout


def test_added_signing_services_are_listed_by_pulp_cli(runner_factory, tmp_path):
    server = runner_factory.start()
    home = tmp_path / "gnupg"
    home.mkdir(mode=0o700)
    gpg(home, "--pinentry-mode", "loopback", "--passphrase", "", "--quick-gen-key",
        "Depot CLI <cli@example.com>", "ed25519", "sign", "never")
    fpr = next(line.split(":")[9] for line in
               gpg(home, "--with-colons", "--fingerprint", "cli@example.com").splitlines()
               if line.startswith("fpr:"))
    script = tmp_path / "sign.sh"
    script.write_text(SIGN)
    script.chmod(0o755)

    # The same settings as the server: its database.
    env = dict(os.environ, DEPOT_DATA_DIR=str(runner_factory.data_dir),
               PULP_ADMIN_PASSWORD=runner_factory.password, **runner_factory.base_env)
    env.pop("DEPOT_DATABASE_URL", None)
    if runner_factory.database_url:
        env["DEPOT_DATABASE_URL"] = runner_factory.database_url
    add = [str(runner_factory.binary), "add-signing-service", "cli-signer", str(script), fpr,
           "--home", str(home)]
    done = subprocess.run(add, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert f"Successfully added signing service cli-signer for key {fpr}." in done.stdout
    again = subprocess.run(add, env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode != 0 and "unique" in again.stderr, again

    executable = Path(sys.executable).parent / "pulp"
    if not executable.exists():
        executable = Path(shutil.which("pulp"))
    pulp = PulpCli(executable, server, tmp_path / "cli-home")
    assert [s["name"] for s in pulp("signing-service", "list")] == ["cli-signer"]
    shown = pulp("signing-service", "show", "--name", "cli-signer")
    assert shown["pubkey_fingerprint"] == fpr
    assert "BEGIN PGP PUBLIC KEY BLOCK" in shown["public_key"]
